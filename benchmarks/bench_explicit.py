"""Benchmark the explicit-state engine on the bundled spec and its variants.

    python benchmarks/bench_explicit.py [--json] [--quick]

Each row runs in a fresh process (so peak RSS is per run) and prints: spec, threads, depth,
verdict, states, transitions, seconds, states/s, peak memory. Not a test: figures go into
closing notes and the changelog.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ROWS = [
    ("spec/zswap.zspec", 2, 8, ()),
    ("spec/zswap.zspec", 2, 10, ()),
    ("spec/zswap.zspec", 2, 12, ()),
    ("spec/variants/no-mapcount.zspec", 2, 10, ()),
    ("spec/variants/accept-duplicates.zspec", 1, 14, ("POOL_LIMIT=1",)),
    ("spec/zswap.zspec", 3, 7, ()),
]
QUICK = ROWS[:1] + ROWS[3:4]


def run_one(spec: str, threads: int, depth: int, defines: tuple[str, ...]) -> dict[str, object]:
    from zbudspec.engines.explicit import search
    from zbudspec.pipeline import frontend
    from zbudspec.semantics.lower import Options

    opts = Options(tuple(tuple(d.split("=", 1)) for d in defines), "default", threads)  # type: ignore[misc]
    program = frontend(ROOT / spec, opts).program
    assert program is not None
    res = search(program, depth)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"spec": spec, "threads": threads, "depth": depth, "defines": list(defines),
            "verdict": res.verdict.value, "found_at": len(res.trace) if res.violation else None,
            "states": res.states, "transitions": res.transitions,
            "seconds": round(res.seconds, 2),
            "states_per_s": round(res.states / res.seconds) if res.seconds else None,
            "peak_rss_mib": round(rss_kib / 1024, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        spec, threads, depth, *defines = json.loads(args.one)
        print(json.dumps(run_one(spec, threads, depth, tuple(defines))))
        return 0
    results = []
    for spec, threads, depth, defines in (QUICK if args.quick else ROWS):
        one = json.dumps([spec, threads, depth, *defines])
        out = subprocess.run([sys.executable, __file__, "--one", one], capture_output=True,
                             text=True, check=True)
        results.append(json.loads(out.stdout))
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    head = f"{'spec':40} {'T':>2} {'depth':>5} {'verdict':>13} {'states':>9} {'trans':>9} " \
           f"{'s':>7} {'states/s':>9} {'MiB':>7}"
    print(head)
    for r in results:
        verdict = str(r["verdict"]) + (f"@{r['found_at']}" if r["found_at"] else "")
        print(f"{r['spec']:40} {r['threads']:>2} {r['depth']:>5} {verdict:>13} "
              f"{r['states']:>9} {r['transitions']:>9} {r['seconds']:>7} "
              f"{r['states_per_s']:>9} {r['peak_rss_mib']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
