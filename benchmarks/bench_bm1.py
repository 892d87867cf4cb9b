"""Benchmark the engines on BM-1 (benchmarks/bm1.zspec): explicit, z3 bounded, z3 induction.

    python benchmarks/bench_bm1.py [--json] [--quick] [--cap SECONDS] [--only NAME ...]
                                   [--engine ENGINE ...] [--with-lemmas] [--max-states N]

Runs BM-1's standard configurations C1..C4 and the scaling rows around C2 (depth D 8..24,
threads T 2..4, MAXC 4/16/62), plus the same depth and thread rows around C4, whose smaller
data range the explicit engine can go deeper in, with each engine: `explicit` (breadth-first
search), `z3` (bounded model checking, `z3_bmc.prove_bmc`), `z3-lemmas` (the same, with the
model's lemmas kept, which its Houdini strengthening finds inductive) and `z3-induction`
(k-induction for k = 1..4, `z3_induction.prove_induction`). The explicit and z3 runs check
BM-1's own invariants and step assertions (the spec's lemmas dropped, as SPIN checks only
those; `--with-lemmas` keeps them); z3-induction needs the lemmas. Each run is a fresh
process (so peak memory is per run) with a wall-clock cap; a run that hits it is killed and
reported as `timeout` with the last depth (or k) it completed, never with an invented
figure.

Both breadth-first search and incremental bounded model checking to bound D do exactly the
first D levels of a run to any larger bound, so one run to depth 24 gives the rows
D = 8, 10, ..., 24 of its series: each row is read from the run's progress at the end of
level D (states, seconds, peak memory so far). A row whose level was not reached before the
cap says `timeout`. Induction has no depth series: PROVED is for every depth.

Columns: configuration, engine, verdict (`VIOLATED@k`: shortest counterexample of k steps;
`NO VIOLATION`: none within the bound; `PROVED`: no new state before the bound (explicit),
or k-inductive (z3-induction); `timeout`; `UNKNOWN`: the state limit (explicit), z3 gave up,
or not k-inductive for any k up to 4), depth reached (last level completed; z3-induction:
the k tried last), states (explicit only), seconds (wall time of the engine call; for a
violation the JSON also gives the engine's own figure), states/s, peak RSS (MiB).
Not a test: single runs, figures go into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "benchmarks" / "bm1.zspec"
ENGINES = ("explicit", "z3", "z3-lemmas", "z3-induction")
SERIES_DEPTHS = (8, 10, 12, 14, 16, 20, 24)
INDUCTION_K = 4  # z3-induction tries k = 1..4


@dataclass(frozen=True)
class Run:
    name: str  # the row name of the run's own bound
    config: str  # c1..c4
    defines: tuple[tuple[str, str], ...] = ()
    threads: int | None = None  # None: the config's
    depth: int | None = None  # the bound of the run's own row (None: the config's)
    run_to: int | None = None  # search this deep (None: `depth`); must be >= `depth`
    # (row name, depth) read from this run's progress, besides the run's own row
    series: tuple[tuple[str, int], ...] = field(default=())
    engine: str = "explicit"


def _d_series(prefix: str, own: int) -> tuple[tuple[str, int], ...]:
    return tuple((f"{prefix} D={d}", d) for d in SERIES_DEPTHS if d != own)


CONFIGS = [
    Run("C1", "c1"),
    Run("C1 MAXC=4", "c1", (("MAXC", "4"),)),
    Run("C2", "c2", run_to=24, series=_d_series("C2", 12)),
    Run("C3", "c3"),
    Run("C4 (C2 MAXC=4)", "c4", run_to=24, series=_d_series("C4", 12)),
    Run("C2 MAXC=16", "c2", (("MAXC", "16"),)),
    Run("C2 T=3", "c2", threads=3),
    Run("C2 T=4", "c2", threads=4),
    Run("C4 T=3", "c4", threads=3),
    Run("C4 T=4", "c4", threads=4),
]


def _for(engine: str, r: Run) -> Run:
    if engine == "z3-induction":  # proves every depth at once: no depth series
        return replace(r, engine=engine, depth=INDUCTION_K, run_to=None, series=())
    return replace(r, engine=engine)


FULL = [_for(e, r) for e in ENGINES for r in CONFIGS]
QUICK = [
    Run("C1 MAXC=4", "c1", (("MAXC", "4"),)),
    Run("C4 D=6", "c4", depth=6),
    Run("C2", "c2"),
    Run("C1", "c1", engine="z3"),
    Run("C2 D=8", "c2", depth=8, engine="z3"),
    Run("C4", "c4", depth=INDUCTION_K, engine="z3-induction"),
]
FULL_CAP = 60.0
QUICK_CAPS = {("C1 MAXC=4", "explicit"): 10.0, ("C4 D=6", "explicit"): 30.0,
              ("C2", "explicit"): 15.0, ("C1", "z3"): 30.0, ("C2 D=8", "z3"): 30.0,
              ("C4", "z3-induction"): 40.0}


# ---- the child: one search, progress as JSON lines on stdout


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(spec: dict[str, object]) -> None:
    from zbudspec.pipeline import frontend
    from zbudspec.semantics.lower import Options

    defines = tuple(tuple(d) for d in spec["defines"])  # type: ignore[attr-defined]
    opts = Options(defines, spec["config"], spec["threads"])  # type: ignore[arg-type]
    result = frontend(SPEC, opts)
    assert result.program is not None, [d.message for d in result.diagnostics]
    program = result.program
    row_depth = spec["depth"] or program.depth
    depth = spec["run_to"] or row_depth
    assert isinstance(depth, int) and isinstance(row_depth, int) and depth >= row_depth
    engine = spec["engine"]
    lemmas = engine in ("z3-induction", "z3-lemmas") or bool(spec["lemmas"])
    if not lemmas:  # BM-1's invariants only: the lemmas are there for induction
        program = replace(program, invariants=tuple(i for i in program.invariants
                                                    if not i.lemma))
    timeout_ms = int(_float(spec["cap"]) * 1000)  # the cap, not z3, ends a long query

    def emit(obj: dict[str, object]) -> None:
        print(json.dumps(obj), flush=True)

    emit({"start": True, "threads": program.client.threads, "row_depth": row_depth,
          "params": {n: program.params[n] for n in program.param_names},
          "invariants": [i.name for i in program.invariants]})

    def progress(d: int, states: int, secs: float) -> None:
        emit({"level": d, "states": states, "seconds": round(secs, 3), "rss_mib": _rss_mib()})

    def z3_progress(d: int, secs: float) -> None:
        emit({"level": d, "states": None, "seconds": round(secs, 3), "rss_mib": _rss_mib()})

    def ind_progress(kind: str, k: int, secs: float) -> None:
        # base: no violation within depth k; step: k-inductive; cti: not k-inductive
        emit({"induction": kind, "k": k, "seconds": round(secs, 3), "rss_mib": _rss_mib()})

    extra: dict[str, object] = {}
    t0 = time.perf_counter()
    if engine == "explicit":
        from zbudspec.engines.explicit import search

        res = search(program, depth, max_states=int(spec["max_states"]),  # type: ignore[call-overload]
                     progress=progress)
    elif engine in ("z3", "z3-lemmas"):
        from zbudspec.engines.z3_bmc import prove_bmc

        res = prove_bmc(program, depth, timeout_ms, z3_progress)
    else:
        from zbudspec.engines.z3_induction import prove_induction

        ind = prove_induction(program, depth, timeout_ms, ind_progress)
        res = ind.result
        extra["k"] = ind.k
        if ind.cti is not None:
            extra["cti"] = {"k": ind.cti.k, "violation": ind.cti.violation.message,
                            "trace": [f"t{s.transition.thread}:{s.transition.proc}."
                                      f"{s.transition.label}" for s in ind.cti.trace]}
    wall = time.perf_counter() - t0
    emit({"final": True, "verdict": res.verdict.value, "depth_reached": res.depth_reached,
          "found_at": len(res.trace) if res.violation else None,
          "violation": res.violation.message if res.violation else None,
          "trace": [f"t{s.transition.thread}:{s.transition.proc}.{s.transition.label}"
                    for s in res.trace],
          "states": res.states if engine == "explicit" else None,
          "transitions": res.transitions if engine == "explicit" else None,
          # the explicit engine's own `seconds` stops when a violation is found, but the
          # search then finishes the level (to report a shorter deadlock first): the row
          # reports both
          "seconds": round(wall, 3), "engine_seconds": round(res.seconds, 3),
          "reason": res.reason, "rss_mib": _rss_mib(), **extra})


# ---- the parent


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run(r: Run, cap: float, max_states: int, lemmas: bool = False) -> list[dict[str, object]]:
    spec = {"config": r.config, "defines": [list(d) for d in r.defines], "threads": r.threads,
            "depth": r.depth, "run_to": r.run_to, "max_states": max_states,
            "engine": r.engine, "cap": cap, "lemmas": lemmas}
    load = round(os.getloadavg()[0], 2)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timed_out, hwm = False, None
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        timed_out = True
        hwm = _vm_hwm_mib(proc.pid)
        proc.kill()
        out, err = proc.communicate()
    wall = round(time.monotonic() - t0, 2)
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    start = next((x for x in lines if "start" in x), None)
    levels = {x["level"]: x for x in lines if "level" in x}
    final = next((x for x in lines if "final" in x), None)
    if start is None or (final is None and not timed_out):
        raise RuntimeError(f"{r.name}: the child failed:\n{err}")
    bound = int(start["row_depth"])
    base = {"engine": r.engine, "threads": start["threads"], "params": start["params"],
            "invariants": start["invariants"],
            "level_seconds": {d: lv["seconds"] for d, lv in sorted(levels.items())},
            "cap_s": cap, "load_avg_at_start": load}
    if r.engine == "z3-induction":
        steps = [x for x in lines if "induction" in x]
        return [{"configuration": r.name, **base, "depth": bound,
                 **_induction_row(steps, final, timed_out, cap, hwm, wall)}]
    rows = []
    for name, depth in sorted(((r.name, bound), *r.series), key=lambda x: x[1]):
        row: dict[str, object] = {"configuration": name, **base, "depth": depth}
        row.update(_row(depth, levels, final, timed_out, cap, hwm, wall))
        rows.append(row)
    return rows


def _row(depth: int, levels: dict[int, dict[str, object]], final: dict[str, object] | None,
         timed_out: bool, cap: float, hwm: float | None, wall: float) -> dict[str, object]:
    """The row of bound `depth`, read from a run's per-level progress and its result."""
    if final is not None:
        verdict, found = final["verdict"], final["found_at"]
        if verdict == "VIOLATED" and isinstance(found, int) and found <= depth:
            return _fields(f"VIOLATED@{found}", final["depth_reached"], final,
                           engine_seconds=final["engine_seconds"],
                           transitions=final["transitions"], violation=final["violation"],
                           trace=final["trace"])
        if verdict == "PROVED" and _int(final["depth_reached"]) <= depth:
            return _fields("PROVED", final["depth_reached"], final, reason=final["reason"])
        if verdict == "NO VIOLATION" and depth == final["depth_reached"]:
            return _fields("NO VIOLATION", depth, final)
    if depth in levels:  # level `depth` was completed with no violation
        return _fields("NO VIOLATION", depth, levels[depth])
    last = max(levels) if levels else 0
    if final is not None:  # the state limit
        return _fields(str(final["verdict"]), final["depth_reached"], final,
                       reason=final["reason"])
    assert timed_out
    lv = levels.get(last, {"states": None, "seconds": None, "rss_mib": None})
    per_s = (round(_int(lv["states"]) / _float(lv["seconds"]))
             if lv["states"] is not None and lv["seconds"] else None)
    return {"verdict": "timeout", "depth_reached": last, "states": lv["states"],
            "seconds": None, "wall_s": wall, "seconds_at_reached": lv["seconds"],
            "states_per_s": per_s,
            "peak_rss_mib": hwm or lv["rss_mib"],
            "reason": f"cap of {cap:g} s hit during level {last + 1}; states and states/s "
                      f"are those at the end of level {last}"}


def _induction_row(steps: list[dict[str, object]], final: dict[str, object] | None,
                   timed_out: bool, cap: float, hwm: float | None,
                   wall: float) -> dict[str, object]:
    """The row of a k-induction run: PROVED (k-inductive), VIOLATED@k (the base case, a real
    counterexample), UNKNOWN (not k-inductive up to the bound: the last counterexample to
    induction is in the JSON), or timeout with the last k whose step case was decided."""
    if final is not None:
        verdict = str(final["verdict"])
        if verdict == "VIOLATED":
            verdict = f"VIOLATED@{final['found_at']}"
        out = {"verdict": verdict, "depth_reached": final["k"], "states": None,
               "seconds": final["seconds"], "states_per_s": None,
               "peak_rss_mib": final["rss_mib"], "reason": final["reason"],
               "per_k": steps}
        for key in ("cti", "violation", "trace"):
            if final.get(key):
                out[key] = final[key]
        return out
    assert timed_out
    decided = [x for x in steps if x["induction"] in ("step", "cti")]
    last = max((_int(x["k"]) for x in decided), default=0)
    return {"verdict": "timeout", "depth_reached": last, "states": None, "seconds": None,
            "wall_s": wall, "states_per_s": None,
            "peak_rss_mib": hwm or (steps[-1]["rss_mib"] if steps else None),
            "per_k": steps,
            "reason": f"cap of {cap:g} s hit; the step case was decided up to k={last}"}


def _int(v: object) -> int:
    assert isinstance(v, int)
    return v


def _float(v: object) -> float:
    assert isinstance(v, int | float)
    return float(v)


def _fields(verdict: str, reached: object, counts: dict[str, object],
            **extra: object) -> dict[str, object]:
    states, secs = counts["states"], counts["seconds"]
    per_s = round(_int(states) / _float(secs)) if secs and states is not None else None
    return {"verdict": verdict, "depth_reached": reached, "states": states,
            "seconds": secs, "states_per_s": per_s, "peak_rss_mib": counts["rss_mib"],
            **extra}


def table(rows: list[dict[str, object]]) -> str:
    head = (f"{'configuration':15} {'engine':12} {'T':>1} {'P':>1} {'O':>1} {'MAXC':>4} "
            f"{'variant':7} {'D':>2} {'verdict':>12} {'reached':>7} {'states':>9} "
            f"{'seconds':>7} {'states/s':>8} {'MiB':>6}")
    out = [head, "-" * len(head)]
    for r in rows:
        pm = r["params"]
        assert isinstance(pm, dict)
        secs = r["seconds"] if r["seconds"] is not None else f">{r['cap_s']:g}"
        out.append(f"{r['configuration']:15} {r['engine']:12} {r['threads']:>1} {pm['P']:>1} "
                   f"{pm['O']:>1} {pm['MAXC']:>4} {pm['VARIANT']:7} {r['depth']:>2} "
                   f"{r['verdict']:>12} {r['depth_reached']:>7} {_n(r['states']):>9} "
                   f"{secs:>7} {_n(r['states_per_s']):>8} {_n(r['peak_rss_mib']):>6}")
    return "\n".join(out)


def _n(v: object) -> str:
    return "-" if v is None else str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the rows as JSON only")
    ap.add_argument("--quick", action="store_true", help="a smoke run (under a minute)")
    ap.add_argument("--cap", type=float, help=f"per-run wall-clock cap in seconds "
                    f"(default {FULL_CAP:g}; --quick: a few seconds per run)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these runs "
                    "(their names as in the first column, e.g. C1 'C2 T=3')")
    ap.add_argument("--engine", nargs="+", choices=ENGINES, metavar="ENGINE",
                    help=f"run only these engines ({', '.join(ENGINES)}; default: all)")
    ap.add_argument("--with-lemmas", action="store_true", help="explicit and z3 check the "
                    "spec's lemmas too (default: BM-1's invariants only; z3-induction always "
                    "uses the lemmas)")
    ap.add_argument("--max-states", type=int, default=4_000_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    runs = QUICK if args.quick else FULL
    if args.only:
        pool = [*FULL, *(r for r in QUICK if r.name not in {f.name for f in FULL})]
        names = {r.name for r in pool}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            ap.error(f"no run named {', '.join(unknown)} (runs: {', '.join(sorted(names))})")
        runs = [r for n in args.only for r in pool if r.name == n]
    if args.engine:
        runs = [r for r in runs if r.engine in args.engine]
    rows: list[dict[str, object]] = []
    for r in runs:
        cap = args.cap or (QUICK_CAPS.get((r.name, r.engine), 15.0) if args.quick
                           else FULL_CAP)
        if not args.json:
            print(f"running {r.name} [{r.engine}] (cap {cap:g} s)...", file=sys.stderr,
                  flush=True)
        rows.extend(run(r, cap, args.max_states, args.with_lemmas))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(table(rows))
    print()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
