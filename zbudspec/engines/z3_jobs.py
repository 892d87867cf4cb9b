"""`prove --engine z3 --jobs N`: the bounded check's properties split across N processes.

The properties at each depth are the step faults and deadlocks ("fault") and each invariant.
Job i checks every N-th of them, from the same unrolling, in its own process and solver. A
job assumes the properties it does not check (a path that breaks one holds a shorter
violation, the other job's to find), so every path it returns replays in the interpreter.
When a job finds a violation at depth d, it says so to the others, which stop before looking
deeper than d: the shortest violation over all jobs is the shortest overall, because every job has
checked its properties at every smaller depth. Ties at one depth go to the lower job number.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from zbudspec.engines import z3_num as num
from zbudspec.engines.explicit import SearchResult, Verdict
from zbudspec.engines.z3_bmc import BMC, DepthStats
from zbudspec.semantics import ir

_best: Any = None  # per worker: the smallest depth of a violation found by any job
_progress: Any = None  # per worker: where each job's DepthStats go (job, stats)


def _init(best: Any, progress: Any) -> None:
    global _best, _progress
    _best = best
    _progress = progress


def _job(program: ir.Program, depth: int, timeout_ms: int, only: list[str],
         coverage: bool, coverage_budget_s: float, rlimit: int,
         strengthen_s: float | None, index: int) -> SearchResult:
    bmc = BMC(program, timeout_ms, rlimit)
    bmc.only = frozenset(only)
    bmc.on_depth = lambda st: _progress.put((index, st))
    bmc.strengthen_budget_s = strengthen_s  # each job finds the same; in parallel
    bmc.stop = lambda d: bool(d > _best.value)
    res = bmc.run(depth)
    res.coverage_known = False
    if res.verdict is Verdict.VIOLATED:
        with _best.get_lock():
            _best.value = min(_best.value, len(res.trace))
    elif coverage and res.verdict in (Verdict.NO_VIOLATION, Verdict.PROVED):
        with num.use(bmc.num):
            res.coverage, res.coverage_note = bmc.witnesses(depth, coverage_budget_s)
        res.coverage_known = True
    return res


def split(program: ir.Program, jobs: int) -> list[list[str]]:
    """The properties of each job: "fault" first, then the invariants, dealt round-robin."""
    props = ["fault"] + [i.name for i in program.invariants]
    return [g for g in (props[i::jobs] for i in range(jobs)) if g]


def prove_bmc_jobs(program: ir.Program, depth: int, jobs: int, timeout_ms: int = 60_000,
                   coverage: bool = True, coverage_budget_s: float = 120.0,
                   rlimit: int = 0, strengthen_s: float | None = 120.0,
                   on_depth: Callable[[int, DepthStats], None] | None = None
                   ) -> SearchResult:
    """Run the jobs; `on_depth(job, stats)` hears of each depth a job completes."""
    t0 = time.perf_counter()
    groups = split(program, jobs)
    ctx = multiprocessing.get_context("spawn")
    best = ctx.Value("i", depth + 1)
    progress = ctx.Queue()

    def drain() -> None:
        while True:
            try:
                job, st = progress.get_nowait()
            except queue.Empty:
                return
            if on_depth is not None:
                on_depth(job, st)

    with ProcessPoolExecutor(len(groups), mp_context=ctx, initializer=_init,
                             initargs=(best, progress)) as pool:
        futures = [pool.submit(_job, program, depth, timeout_ms, g, coverage and i == 0,
                               coverage_budget_s, rlimit, strengthen_s, i)
                   for i, g in enumerate(groups)]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            drain()
        results = [f.result() for f in futures]
    drain()
    return combine(results, groups, depth, time.perf_counter() - t0)


def combine(results: list[SearchResult], groups: list[list[str]], depth: int,
            seconds: float) -> SearchResult:
    found = [(len(r.trace), i) for i, r in enumerate(results) if r.verdict is Verdict.VIOLATED]
    gave_up = [(r.depth_reached, i, r.reason) for i, r in enumerate(results)
               if r.verdict is Verdict.UNKNOWN and not r.reason.startswith("stopped")]
    if found:
        d, i = min(found)
        res = results[i]
        early = [(k, j, why) for k, j, why in gave_up if k < d - 1]
        if early:
            k, j, why = min(early)
            res.reason = (f"not shown to be the shortest: job {j} ({', '.join(groups[j])}) "
                          f"gave up at depth {k + 1}: {why}")
    elif gave_up:
        k, i, _ = min(gave_up)
        res = results[i]
    else:
        res = results[0]
        res.depth_reached = min(r.depth_reached for r in results)
        if any(r.verdict is not Verdict.PROVED for r in results):
            res.verdict = Verdict.NO_VIOLATION  # PROVED only when every job's part is
    res.seconds = seconds
    return res


__all__ = ["combine", "prove_bmc_jobs", "split"]
