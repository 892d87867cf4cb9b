"""The command line: `zbudspec check | simulate | prove | replay`.

`main(argv) -> int` never raises: usage and spec errors exit 2, a violation exits 1, an
unknown verdict 3, and an internal error 70 with its own banner.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from zbudspec import __version__
from zbudspec.conformance.cli_conformance import cmd_conformance, conformance_arguments
from zbudspec.conformance.gen_cli import cmd_gen, gen_arguments
from zbudspec.diagnostics import render
from zbudspec.engines.explicit import SearchResult, Verdict, search
from zbudspec.engines.simulate import simulate
from zbudspec.engines.z3_bmc import DepthStats, prove_bmc
from zbudspec.engines.z3_induction import InductionCTI, prove_induction
from zbudspec.engines.z3_jobs import prove_bmc_jobs
from zbudspec.engines.z3_values import Unsupported
from zbudspec.html import html_page
from zbudspec.minimise import minimise
from zbudspec.pipeline import bundled_spec, frontend
from zbudspec.render import state_text, swimlanes, violation_text
from zbudspec.replay import ReplayError, replay_file
from zbudspec.semantics import ir
from zbudspec.semantics.lower import CheckResult, Options
from zbudspec.trace_json import state_json, trace_json, violation_json

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 70
RESULT_VERSION = 1
DEFAULT_DEPTH = 10
# a z3 query's resource limit (z3's own units, machine-independent, below 2**32; about 8M a
# second on a 2-core machine, D59): the deterministic twin of --timeout
DEFAULT_RLIMIT = 4_000_000_000


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _define(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"`{text}`: expected NAME=VALUE")
    name, value = text.split("=", 1)
    if not name.strip():
        raise argparse.ArgumentTypeError(f"`{text}`: expected NAME=VALUE")
    return name.strip(), value


def _at_least(lo: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"`{text}` is not a whole number") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"`{text}` must be at least {lo}")
        return v

    return parse


_positive = _at_least(1)
_nonneg = _at_least(0)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-D", dest="defines", action="append", type=_define, default=[],
                   metavar="NAME=VALUE", help="set a `param` of the spec (repeatable)")
    p.add_argument("--config", help="use the spec's `config NAME { ... }` bounds "
                   "(default: the config named `default`, if any)")
    p.add_argument("--threads", type=_positive, help="number of threads (default: from the "
                   "config, the client declaration, or 2)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="zbudspec", description="Specify, prove and conformance-test zbud "
                 "under zswap.")
    ap.add_argument("--version", action="version", version=f"zbudspec {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="check spec files: names, types, locks, steps")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("-D", dest="defines", action="append", type=_define, default=[],
                   metavar="NAME=VALUE")
    c.add_argument("--warnings-as-errors", action="store_true")

    s = sub.add_parser("simulate", help="run random interleavings, checking invariants")
    s.add_argument("spec", nargs="?", help="spec file (default: the bundled v3 spec)")
    _common(s)
    s.add_argument("--steps", type=_positive, default=1000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--runs", type=_positive, default=1, help="independent runs (seeds "
                   "SEED, SEED+1, ...)")

    p = sub.add_parser("prove", help="check the invariants over all interleavings")
    p.add_argument("spec", nargs="?", help="spec file (default: the bundled v3 spec)")
    _common(p)
    p.add_argument("--depth", type=_nonneg, help=f"bound on transitions (default: from the "
                   f"config, or {DEFAULT_DEPTH})")
    p.add_argument("--engine", choices=["explicit", "z3"], default="explicit",
                   help="explicit: breadth-first over states (default); z3: bounded model "
                   "checking, every counterexample replayed by the interpreter")
    p.add_argument("--timeout", type=_positive, default=300, metavar="SECONDS",
                   help="z3: time limit of each solver query (then the verdict is UNKNOWN; "
                   "default 300)")
    p.add_argument("--rlimit", type=_nonneg, default=DEFAULT_RLIMIT, metavar="N",
                   help="z3: resource limit of each solver query, 0 for none (then the "
                   f"verdict is UNKNOWN, saying which limit; default {DEFAULT_RLIMIT:,}, "
                   "about 8 minutes of solver work on a 2-core machine)")
    p.add_argument("--invariant", action="append", default=[], metavar="NAME",
                   help="check only these invariants (step assertions are always checked)")
    p.add_argument("--max-states", type=_positive, default=5_000_000)
    p.add_argument("--json", action="store_true", help="print one JSON result object")
    p.add_argument("--trace-out", metavar="FILE", help="write the counterexample as JSON")
    p.add_argument("--html", metavar="FILE", help="write the counterexample as an HTML "
                   "swimlane page")
    p.add_argument("--induction", action="store_true", help="z3: k-induction for k up to "
                   "--depth: PROVED for all depths, or a counterexample to induction")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N",
                   help="z3 bounded: split the properties over N processes")
    p.add_argument("--strengthen", type=_nonneg, default=120, metavar="SECONDS",
                   help="z3 bounded: first spend up to SECONDS finding the invariants and "
                   "lemmas that are inductive (Houdini); they are assumed at every depth, and "
                   "when every property is, the verdict is PROVED (0: off; default 120)")
    p.add_argument("--no-minimise", dest="minimise", action="store_false",
                   help="show the shortest counterexample as found, without removing steps")

    r = sub.add_parser("replay", help="re-run a JSON trace in the interpreter")
    r.add_argument("trace", metavar="TRACE")
    r.add_argument("--spec", help="spec file (default: the one named in the trace)")
    r.add_argument("--html", metavar="FILE", help="also write the trace as an HTML page")

    gen_arguments(sub.add_parser("gen", help="write the conformance suite generated from a "
                                 "spec"), _define)
    conformance_arguments(sub.add_parser("conformance", help="run conformance cases, random "
                                         "sequences or concurrent rounds against an "
                                         "implementation"))
    return ap


# ---- helpers


def _spec_path(arg: str | None) -> Path:
    return Path(arg) if arg else bundled_spec()


def _options(args: argparse.Namespace, program_configs: bool = True) -> Options:
    return Options(tuple(args.defines), getattr(args, "config", None),
                   getattr(args, "threads", None))


def _print_diags(result: CheckResult, out: TextIO) -> None:
    for d in result.diagnostics:
        print(render(d, result.sources), file=out)


def _frontend(path: Path, args: argparse.Namespace, err: TextIO) -> ir.Program | None:
    opts = _options(args)
    if opts.config is None:
        probe = frontend(path, Options(opts.overrides, None, opts.threads))
        if probe.program is None:
            _print_diags(probe, err)
            return None
        if _has_config(path, "default"):
            opts = Options(opts.overrides, "default", opts.threads)
        else:
            return probe.program
    result = frontend(path, opts)
    if result.program is None:
        _print_diags(result, err)
        return None
    return result.program


def _has_config(path: Path, name: str) -> bool:
    from zbudspec.semantics.loader import load
    from zbudspec.syntax import ast as A

    return any(isinstance(d, A.ConfigDecl) and d.name == name for d in load(path).decls)


def _value_text(v: object) -> str:
    return "true" if v is True else "false" if v is False else str(v)


def _params_text(program: ir.Program) -> str:
    return ", ".join(f"{n}={_value_text(program.params[n])}"
                     for n in program.param_names) or "no parameters"


# ---- commands


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = EXIT_OK
    for f in args.files:
        result = frontend(f, Options(tuple(args.defines)))
        _print_diags(result, err)
        errors = sum(d.is_error for d in result.diagnostics)
        warnings = len(result.diagnostics) - errors
        if errors or (args.warnings_as_errors and warnings):
            status = EXIT_USAGE
        else:
            n_ops = sum(p.is_op for p in result.program.procs.values()) if result.program else 0
            print(f"{f}: ok ({n_ops} operations, {warnings} warning(s))", file=out)
    return status


def cmd_simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = _spec_path(args.spec)
    program = _frontend(path, args, err)
    if program is None:
        return EXIT_USAGE
    for run in range(args.runs):
        seed = args.seed + run
        res = simulate(program, args.steps, seed)
        if res.violation is not None:
            first = res.steps - len(res.trace) + 1
            print(f"VIOLATED after {res.steps} steps (seed {seed}, {program.client.threads} "
                  f"threads, {_params_text(program)})", file=out)
            print(violation_text(res.violation, program.sources), file=out)
            print(swimlanes(program, res.initial, res.trace, first), file=out)
            return EXIT_VIOLATED
        note = f" ({res.stopped})" if res.stopped else ""
        print(f"run {run + 1}: {res.steps} steps, seed {seed}: no violation{note}", file=out)
    return EXIT_OK


def _result_json(program: ir.Program, spec: str, res: SearchResult,
                 engine: str) -> dict[str, Any]:
    ops, steps = res.coverage.missing(program)
    coverage = {"ops": sorted(res.coverage.ops),
                "steps": sorted(f"{p}.{label}" for p, label in res.coverage.steps),
                "unreached_ops": ops, "unreached_steps": steps,
                "how": res.coverage_note or "explored states"} if res.coverage_known else None
    return {
        "zbudspec_result": RESULT_VERSION, "engine": engine, "spec": spec,
        "verdict": res.verdict.value, "threads": program.client.threads,
        "depth": res.depth, "depth_reached": res.depth_reached,
        "params": {n: program.params[n] for n in program.param_names},
        "invariants": [i.name for i in program.invariants],
        "states": res.states, "transitions": res.transitions,
        "seconds": round(res.seconds, 3), "reason": res.reason,
        "coverage": coverage,
        "violation": violation_json(res.violation),
        "trace": trace_json(program, spec, res.trace, res.violation, program.params)
        if res.violation else None,
    }


def cmd_prove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = _spec_path(args.spec)
    program = _frontend(path, args, err)
    if program is None:
        return EXIT_USAGE
    if args.invariant:
        known = {i.name for i in program.invariants}
        for name in args.invariant:
            if name not in known:
                raise UsageError(f"--invariant {name}: no such invariant in {path} "
                                 f"(invariants: {', '.join(sorted(known))})")
        program = _replace_invariants(program, [i for i in program.invariants
                                                if i.name in args.invariant])
    depth = args.depth if args.depth is not None else (program.depth or DEFAULT_DEPTH)
    live = out.isatty() and not args.json

    def progress(d: int, states: int, secs: float) -> None:
        if live:
            print(f"\r  depth {d}: {states} states, {secs:.1f}s", end="", file=err, flush=True)

    if args.jobs > 1 and (args.engine != "z3" or args.induction):
        raise UsageError("zbudspec prove: --jobs needs --engine z3 (bounded, not --induction)")
    if args.induction and args.engine != "z3":
        raise UsageError("zbudspec prove: --induction needs --engine z3")
    if args.rlimit >= 2**32:
        raise UsageError(f"zbudspec prove: --rlimit {args.rlimit}: z3 takes at most "
                         f"{2**32 - 1} (0 for none)")
    cti: InductionCTI | None = None
    ind_k = 0
    if args.engine == "z3":
        try:
            if args.induction:
                ind = prove_induction(program, depth, args.timeout * 1000,
                                      lambda what, k, secs: progress(k, 0, secs),
                                      rlimit=args.rlimit)
                res, cti, ind_k = ind.result, ind.cti, ind.k
            else:
                def on_depth(st: DepthStats) -> None:
                    if live:
                        print(f"\r  depth {st.depth}/{depth}: {st.depth_seconds:.1f}s this "
                              f"depth, {st.seconds:.1f}s in all, {st.queries} queries, "
                              f"{st.conflicts} conflicts, {st.memory_mib:.0f} MiB   ",
                              end="", file=err, flush=True)

                budget = float(args.strengthen) if args.strengthen else None
                job_depth: dict[int, DepthStats] = {}

                def on_job_depth(job: int, st: DepthStats) -> None:
                    job_depth[job] = st
                    if live:
                        parts = ", ".join(f"job {j}: depth {s.depth}/{depth}"
                                          for j, s in sorted(job_depth.items()))
                        print(f"\r  {parts}; {st.depth_seconds:.1f}s for job {job}'s last "
                              f"depth, {st.conflicts} conflicts   ", end="", file=err,
                              flush=True)

                if args.jobs > 1:
                    res = prove_bmc_jobs(program, depth, args.jobs, args.timeout * 1000,
                                         rlimit=args.rlimit, strengthen_s=budget,
                                         on_depth=on_job_depth)
                else:
                    res = prove_bmc(program, depth, args.timeout * 1000, on_depth=on_depth,
                                    rlimit=args.rlimit, strengthen_s=budget)
        except Unsupported as exc:
            raise UsageError(f"--engine z3 cannot encode this spec: {exc}") from None
    else:
        res = search(program, depth, args.max_states, progress)
    if live:
        print("\r" + " " * 100 + "\r", end="", file=err)
    shortest = len(res.trace)
    if res.violation is not None and args.minimise and res.trace:
        m = minimise(program, res.initial, res.trace, res.violation)
        res.trace, res.violation = m.trace, m.violation
    if args.html and res.violation is not None:
        notes = [f"engine: {args.engine}", f"shortest counterexample: {shortest} steps"
                 + (f", minimised to {len(res.trace)}" if len(res.trace) != shortest else "")]
        Path(args.html).write_text(html_page(program, res.initial, res.trace, res.violation,
                                             spec=str(path), notes=notes))
    if args.trace_out and res.violation is not None:
        Path(args.trace_out).write_text(json.dumps(
            trace_json(program, str(path), res.trace, res.violation, program.params),
            indent=1) + "\n")
    if args.json:
        doc = _result_json(program, str(path), res, args.engine)
        doc["shortest_length"] = shortest if res.violation is not None else None
        doc["induction"] = None if not args.induction else {
            "k": ind_k, "max_k": depth,
            "cti": None if cti is None else {
                "k": cti.k, "violation": violation_json(cti.violation),
                "start": state_json(program, cti.start),
                "trace": trace_json(program, str(path), cti.trace, cti.violation,
                                    program.params)}}
        print(json.dumps(doc, indent=1), file=out)
    else:
        print(_report(program, str(path), res, args.engine, shortest), file=out)
        if cti is not None:
            print(_cti_report(program, cti), file=out)
    return {Verdict.VIOLATED: EXIT_VIOLATED, Verdict.UNKNOWN: EXIT_UNKNOWN}.get(
        res.verdict, EXIT_OK)


def _replace_invariants(program: ir.Program, invs: list[ir.Invariant]) -> ir.Program:
    from dataclasses import replace

    return replace(program, invariants=tuple(invs))


def _cti_report(program: ir.Program, cti: InductionCTI) -> str:
    lines = ["", f"counterexample to induction (k={cti.k}; a state that satisfies every "
             "invariant, not necessarily reachable, from which the steps below break one):",
             state_text(program, cti.start), "", swimlanes(program, cti.start, cti.trace),
             violation_text(cti.violation, program.sources),
             "hint: add a `lemma NAME: EXPR;` that is false in the state above but true in "
             "every reachable state (it is checked like an invariant)"]
    return "\n".join(lines)


def _report(program: ir.Program, spec: str, res: SearchResult, engine: str,
            shortest: int = 0) -> str:
    bounds = (f"{program.client.threads} threads, {_params_text(program)}")
    lines = [f"spec: {spec}", f"engine: {engine}", f"bounds: {bounds}",
             f"invariants: {', '.join(i.name for i in program.invariants) or '(none)'}"]
    if res.verdict is Verdict.VIOLATED:
        assert res.violation is not None
        explored = f"{res.states} states explored in " if res.states else ""
        how = "shortest" if shortest == len(res.trace) else \
            f"shortest is {shortest} steps, minimised to {len(res.trace)}"
        lines.append(f"VIOLATED at depth {len(res.trace)} ({how}; {explored}"
                     f"{res.seconds:.2f}s; replayed by the interpreter)")
        lines.append(violation_text(res.violation, program.sources))
        lines.append("")
        lines.append(swimlanes(program, res.initial, res.trace))
        if res.trace and res.trace[-1].state is not None:
            lines.append("")
            lines.append("state after the last step:")
            lines.append(state_text(program, res.trace[-1].state))
        return "\n".join(lines)
    if res.verdict is Verdict.PROVED:
        counts = f"{res.states} states, {res.transitions} transitions, " if res.states else ""
        lines.append(f"PROVED for all depths: {res.reason}; {counts}{res.seconds:.2f}s")
    elif res.verdict is Verdict.NO_VIOLATION:
        counts = f"{res.states} states, {res.transitions} transitions, " if res.states else ""
        lines.append(f"NO VIOLATION within depth {res.depth} ({counts}{res.seconds:.2f}s)")
        if res.reason:
            lines.append(res.reason)
    else:
        lines.append(f"UNKNOWN: {res.reason}; no violation up to depth {res.depth_reached} "
                     f"({res.seconds:.2f}s)")
    if not res.coverage_known:
        lines.append("coverage: not measured by the z3 engine (run --engine explicit for it)")
        return "\n".join(lines)
    ops, steps = res.coverage.missing(program)
    lines.append(f"coverage: {len(res.coverage.ops)} operation(s), "
                 f"{len(res.coverage.steps)} step(s) reached"
                 + (f" ({res.coverage_note})" if res.coverage_note else ""))
    if ops:
        lines.append("warning: operations never reached: " + ", ".join(ops))
    if steps:
        lines.append("warning: steps never reached: " + ", ".join(steps))
    return "\n".join(lines)


def cmd_replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        rep = replay_file(Path(args.trace), Path(args.spec) if args.spec else None)
    except ReplayError as exc:
        print(f"zbudspec replay: {exc}", file=err)
        return EXIT_USAGE
    if rep.diagnostics is not None:
        _print_diags(rep.diagnostics, err)
        return EXIT_USAGE
    assert rep.program is not None and rep.initial is not None
    print(f"replayed {len(rep.trace)} step(s) of {args.trace}", file=out)
    print(swimlanes(rep.program, rep.initial, rep.trace), file=out)
    if args.html:
        Path(args.html).write_text(html_page(rep.program, rep.initial, rep.trace,
                                             rep.violation, spec=args.trace,
                                             notes=["replayed by the interpreter"]))
    if rep.violation is not None:
        print(violation_text(rep.violation, rep.program.sources), file=out)
        return EXIT_VIOLATED
    print("no violation at the end of the trace", file=out)
    return EXIT_OK


COMMANDS = {"check": cmd_check, "simulate": cmd_simulate, "prove": cmd_prove,
            "replay": cmd_replay, "gen": cmd_gen, "conformance": cmd_conformance}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, out, err)
    except UsageError as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
    except BrokenPipeError:  # `zbudspec prove | head`: the reader left
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception:
        print("zbudspec: internal error (this is a bug in zbudspec, not in your spec)",
              file=err)
        traceback.print_exc(file=err)
        return EXIT_INTERNAL


def entry() -> NoReturn:
    sys.exit(main())
