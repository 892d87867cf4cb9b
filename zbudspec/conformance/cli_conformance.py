"""`zbudspec conformance`: run a suite, random differential sequences or concurrent rounds
against an implementation. Writes to the streams it is given (the CLI's); never prints."""

from __future__ import annotations

import argparse
import importlib
import json
import random
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from zbudspec.conformance import report
from zbudspec.conformance.cases import CaseError, load_suite
from zbudspec.conformance.concurrent import run_concurrent
from zbudspec.conformance.differential import (
    RANDOM_PARAMS,
    checker,
    expected_case,
    random_calls,
    shrink,
)
from zbudspec.conformance.protocol import Implementation
from zbudspec.conformance.runner import Session, SuiteResult, run_case, run_suite
from zbudspec.conformance.spec_model import SpecModel
from zbudspec.conformance.transport import Limits, SubprocessImplementation

DEFAULT_SUITE = Path("conformance/generated")
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class Usage(Exception):
    pass


def conformance_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--impl", required=True, metavar="IMPL",
                   help="python:MODULE:FACTORY (in process) or a command line speaking "
                   "conformance/PROTOCOL.md (run without a shell)")
    p.add_argument("--suite", metavar="DIR", help=f"case directory (default: "
                   f"{DEFAULT_SUITE}, unless --random or --concurrent is given)")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                   help="subprocess: time limit of each request (default 5)")
    p.add_argument("--random", type=int, default=0, metavar="N",
                   help="N random sequences checked against the interpreter")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--length", type=int, default=30, metavar="L",
                   help="operations per random sequence (default 30)")
    p.add_argument("--concurrent", type=int, default=0, metavar="T",
                   help="T threads at once (in-process implementations); histories checked "
                   "for linearizability, invariants at quiescent points")
    p.add_argument("--rounds", type=int, default=20, metavar="R",
                   help="--concurrent: rounds of 3 operations per thread (default 20)")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")


def factory_of(spec: str, timeout: float) -> tuple[Callable[[], Implementation], bool]:
    """The implementation factory for `--impl`, and whether it runs in process."""
    if spec.startswith("python:"):
        parts = spec.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise Usage(f"--impl {spec!r}: expected python:MODULE:FACTORY")
        try:
            module = importlib.import_module(parts[1])
        except ImportError as exc:
            raise Usage(f"--impl: cannot import {parts[1]!r}: {exc}") from None
        fac = getattr(module, parts[2], None)
        if not callable(fac):
            raise Usage(f"--impl: {parts[1]} has no callable {parts[2]!r}")
        return fac, True
    try:
        argv = shlex.split(spec)
    except ValueError as exc:
        raise Usage(f"--impl {spec!r}: {exc}") from None
    if not argv:
        raise Usage("--impl: empty command line")
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise Usage(f"--impl: no such command {argv[0]!r}")
    if argv[0] in ("python", "python3") and shutil.which(argv[0]) is None:
        argv[0] = sys.executable
    limits = Limits(timeout=timeout)
    return (lambda: SubprocessImplementation(argv, limits)), False


def cmd_conformance(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        return _run(args, out, err)
    except Usage as exc:
        err.write(f"zbudspec conformance: {exc}\n")
        return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.timeout <= 0 or args.random < 0 or args.concurrent < 0 or args.length < 1 \
            or args.rounds < 1:
        raise Usage("--timeout, --length and --rounds must be positive, --random and "
                    "--concurrent not negative")
    factory, in_process = factory_of(args.impl, args.timeout)
    if args.concurrent and not in_process:
        raise Usage("--concurrent needs an in-process implementation (python:MODULE:FACTORY)")
    suite_dir = args.suite
    if suite_dir is None and not args.random and not args.concurrent:
        suite_dir = str(DEFAULT_SUITE)
    suite = None
    if suite_dir is not None:
        try:
            suite = load_suite(suite_dir)
        except CaseError as exc:
            raise Usage(str(exc)) from None
    ok = True
    result = SuiteResult("?")
    if suite is not None:
        def progress(c: object) -> None:
            from zbudspec.conformance.runner import CaseResult
            assert isinstance(c, CaseResult)
            if not args.json and (c.verdict != "pass" or args.verbose):
                out.write(report.case_text(c) + "\n")
        result = run_suite(factory, suite, progress)
        ok = result.ok
        if not args.json:
            out.write(report.summary(result) + "\n")
    if args.random:
        ok = _random(factory, args, out) and ok
    if args.concurrent:
        ok = _concurrent(factory, args, out) and ok
    if args.json:
        out.write(report.json_text(result))
    if args.junit:
        try:
            Path(args.junit).write_text(report.junit_xml(result), encoding="utf-8")
        except OSError as exc:
            raise Usage(f"--junit {args.junit}: {exc.strerror}") from None
    return EXIT_OK if ok else EXIT_FAIL


def _random(factory: Callable[[], Implementation], args: argparse.Namespace,
            out: TextIO) -> bool:
    session = Session(factory)
    try:
        session.get()
        levels = [lv for lv in ("zswap", "zbud") if lv in session.features]
        if not levels:
            out.write("random: the implementation offers neither level zswap nor zbud\n")
            return False
        models = {lv: SpecModel(lv, "zbud.zspec" if lv == "zbud" else "zswap.zspec",
                                RANDOM_PARAMS) for lv in levels}
        ops = 0
        for i in range(args.random):
            level = levels[i % len(levels)]
            rng = random.Random(f"{args.seed}:{i}")
            calls = random_calls(rng, level, RANDOM_PARAMS, args.length)
            case = expected_case(f"random-{args.seed}-{i}", level, RANDOM_PARAMS, calls,
                                 model=models[level])
            r = run_case(session, case)
            ops += r.steps
            if r.verdict == "skip":
                out.write(f"random: sequence {i} skipped: {r.message}\n")
                continue
            if r.verdict != "pass":
                out.write(f"random: sequence {i} (seed {args.seed}, level {level}) "
                          f"{r.verdict}s:\n{r.message}\n")
                small = shrink(calls, checker(session, level, RANDOM_PARAMS, models[level]))
                final = run_case(session, expected_case("shrunk", level, RANDOM_PARAMS,
                                                        small, model=models[level]))
                out.write(f"shrunk to {len(small)} operation(s) (level {level}, params "
                          f"{json.dumps(RANDOM_PARAMS, sort_keys=True)}):\n")
                out.writelines(f"  {n}. {c.render()}\n" for n, c in enumerate(small, 1))
                out.write(final.message + "\n")
                return False
        out.write(f"random: {args.random} sequences, {ops} operations: all agree with the "
                  f"spec (seed {args.seed})\n")
        return True
    finally:
        session.close()


def _concurrent(factory: Callable[[], Implementation], args: argparse.Namespace,
                out: TextIO) -> bool:
    r = run_concurrent(factory, args.concurrent, args.seed, rounds=args.rounds)
    if r.status == "pass":
        out.write(f"concurrent: {args.concurrent} threads, {r.rounds} rounds, {r.ops} "
                  "operations: every history linearizable, invariants hold at every "
                  "quiescent point\n")
        return True
    out.write(f"concurrent: {r.status.upper()}: {r.message}\n")
    out.writelines(f"  {h.render()}\n" for h in r.history)
    return False
