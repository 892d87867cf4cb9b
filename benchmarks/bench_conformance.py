"""Benchmarks of the conformance runner against the reference (a script, not a test).

    python benchmarks/bench_conformance.py [--json] [--quick]

Rows (operations/s count every operation of every case; best of 3 repetitions):

* ``suite-inproc``: random sequences (level zswap and zbud alternating, 30 operations each,
  the `--random` parameters) whose expected results and full abstract states the interpreter
  computed beforehand, run in process: every step's result compared, `inspect` after every
  step, both states put in canonical form and compared. Target >= 20,000 ops/s.
* ``suite-subprocess``: the same cases over the protocol (`python -m
  reference.protocol_server`, one request per operation plus one `inspect`).
  Target >= 5,000 ops/s.
* ``random-inproc``: `--random` as the CLI runs it: the interpreter computes each
  expectation live (it dominates), then the reference runs the sequence.
* ``generated-inproc``: the whole generated suite (`conformance/generated`) in process,
  seconds. Target < 60 s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reference.conformance_adapter import ReferenceImplementation  # noqa: E402
from zbudspec.conformance.cases import Case, load_suite  # noqa: E402
from zbudspec.conformance.differential import (  # noqa: E402
    RANDOM_PARAMS,
    expected_case,
    random_calls,
)
from zbudspec.conformance.runner import run_suite  # noqa: E402
from zbudspec.conformance.spec_model import SpecModel  # noqa: E402
from zbudspec.conformance.transport import SubprocessImplementation  # noqa: E402


def cases(n: int) -> list[Case]:
    models = {lv: SpecModel(lv, f"{lv}.zspec", RANDOM_PARAMS) for lv in ("zswap", "zbud")}
    out = []
    for i in range(n):
        level = ("zswap", "zbud")[i % 2]
        calls = random_calls(random.Random(i), level, RANDOM_PARAMS, 30)
        out.append(expected_case(f"bench-{i}", level, RANDOM_PARAMS, calls, model=models[level]))
    return out


def best(reps: int, fn):  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 40 if args.quick else 200
    rows = []
    t0 = time.perf_counter()
    suite = cases(n)
    oracle_s = time.perf_counter() - t0
    ops = sum(len(c.steps) for c in suite)
    rows.append({"row": "oracle (interpreter computing expectations)", "ops": ops,
                 "seconds": oracle_s, "ops_per_s": ops / oracle_s})

    s, r = best(3, lambda: run_suite(ReferenceImplementation, suite))
    assert r.ok, [c.message for c in r.results if c.verdict != "pass"][:1]
    rows.append({"row": "suite-inproc", "ops": ops, "seconds": s, "ops_per_s": ops / s,
                 "target": ">= 20000 ops/s"})

    server = [sys.executable, "-m", "reference.protocol_server"]
    s, r = best(3, lambda: run_suite(lambda: SubprocessImplementation(server), suite))
    assert r.ok, [c.message for c in r.results if c.verdict != "pass"][:1]
    rows.append({"row": "suite-subprocess", "ops": ops, "seconds": s, "ops_per_s": ops / s,
                 "target": ">= 5000 ops/s"})

    rows.append({"row": "random-inproc (oracle live)", "ops": ops,
                 "seconds": oracle_s + rows[1]["seconds"],
                 "ops_per_s": ops / (oracle_s + rows[1]["seconds"])})

    gen = ROOT / "conformance" / "generated"
    if gen.is_dir():
        t0 = time.perf_counter()
        gsuite = load_suite(gen)
        r = run_suite(ReferenceImplementation, gsuite)
        s = time.perf_counter() - t0
        rows.append({"row": "generated-inproc", "cases": len(gsuite.cases), "ops": r.ops,
                     "passed": r.count("pass"), "skipped": r.count("skip"),
                     "failed": r.count("fail") + r.count("error"), "seconds": s,
                     "target": "< 60 s"})
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        for row in rows:
            rate = f"{row['ops_per_s']:>10,.0f} ops/s" if "ops_per_s" in row else ""
            extra = {k: v for k, v in row.items()
                     if k not in ("row", "ops_per_s", "seconds", "ops")}
            sys.stdout.write(f"{row['row']:<45} {row['ops']:>6} ops {row['seconds']:8.3f} s "
                             f"{rate} {extra if extra else ''}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
