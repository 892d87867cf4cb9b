"""Schedule control: a concurrent case's `schedule` replayed through yield points.

Deterministic replays (same verdict and the same sequence of yield points twice, in process
and over the protocol), clear verdicts for a schedule the implementation cannot take or the
runner cannot map, and a clean timeout for a thread that hangs under the scheduler.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from reference.conformance_adapter import ReferenceImplementation, make
from tests.conformance.conftest import REF_SERVER, ROOT, fake
from zbudspec.conformance import scheduler
from zbudspec.conformance.cases import Case, ScheduleEntry, Step, load_case
from zbudspec.conformance.runner import CaseResult, Session, run_case
from zbudspec.conformance.transport import Limits, SubprocessImplementation

GENERATED = ROOT / "conformance" / "generated"
SMALL = {"PAGE_SHIFT": 2, "NCHUNKS_ORDER": 2, "NPAGES": 2, "NOFFSETS": 2, "NTAGS": 2,
         "MAX_REFS": 7, "POOL_LIMIT": 2, "SWAPCACHE_PIN": True}


def generated(name: str) -> Case:
    return load_case(GENERATED / f"{name}.json")


class Recording(ReferenceImplementation):
    """The reference, recording every message `spawn` and `proceed` return."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[tuple[str, int, Any]] = []

    def spawn(self, thread: int, op: str, args: Mapping[str, Any],
              env: Mapping[str, list[str]] | None = None,
              timeout: float | None = 5.0) -> dict[str, Any]:
        msg = super().spawn(thread, op, args, env, timeout)
        self.trace.append(("spawn", thread, msg))
        return msg

    def proceed(self, thread: int, timeout: float | None = 5.0) -> dict[str, Any]:
        msg = super().proceed(thread, timeout)
        self.trace.append(("proceed", thread, msg))
        return msg


def replay(case: Case) -> tuple[CaseResult, list[tuple[str, int, Any]]]:
    impl = Recording()
    session = Session(lambda: impl)
    try:
        return run_case(session, case), impl.trace
    finally:
        session.close()


@pytest.mark.parametrize("name", ["small-race-no-mapcount-schedule-on-v3",
                                  "small-race-load-in-writeback-window"])
def test_a_scheduled_case_replays_deterministically(name: str) -> None:
    case = generated(name)
    first, trace1 = replay(case)
    second, trace2 = replay(case)
    assert first.verdict == second.verdict == "pass", first.message
    assert trace1 == trace2
    spawned = [t for kind, t, _ in trace1 if kind == "spawn"]
    assert spawned == [s.thread for s in case.steps]  # every operation ran, threads switched
    assert len(trace1) > len(case.steps) * 3  # through yield points, not whole operations


def test_the_writeback_race_stops_where_the_spec_says() -> None:
    """Thread 0 waits after writeback's map while thread 1 invalidates: the map count defers
    the free, so writeback's unmap frees and writes nothing (swap_dev stays empty)."""
    _, trace = replay(generated("small-race-no-mapcount-schedule-on-v3"))
    switch = next(i for i, (kind, t, _) in enumerate(trace) if kind == "spawn" and t == 1)
    assert trace[switch - 1][2] == {"event": "yield", "thread": 0, "point": "lock_release",
                                    "what": "pool_lock"}
    points = [(m["point"], m["what"]) for _, _, m in trace[:switch] if m.get("event")]
    assert points[-4:] == [("evict_before", 0), ("call", "zbud_map"),
                           ("lock_acquire", "pool_lock"), ("lock_release", "pool_lock")]


def test_scheduled_cases_pass_over_the_protocol_twice() -> None:
    cases = [generated("small-race-two-reclaimers-one-page"),
             generated("small-race-load-in-writeback-window")]
    for _ in range(2):
        session = Session(lambda: SubprocessImplementation(REF_SERVER, cwd=str(ROOT)))
        try:
            verdicts = [run_case(session, c).verdict for c in cases]
        finally:
            session.close()
        assert verdicts == ["pass", "pass"]


def _wrong_schedule() -> Case:
    """The second store fits in the first store's page, but the schedule claims it takes a
    new page (A2) before thread 1 invalidates: a step the implementation cannot take."""
    store = "zswap_frontswap_store"
    steps = (Step(0, store, {"offset": 0, "dlen": 1, "tag": 0}, {}, "OK"),
             Step(0, store, {"offset": 1, "dlen": 1, "tag": 1}, {}, "OK"),
             Step(1, "zswap_frontswap_invalidate_page", {"offset": 0}, {}, "OK"))
    names = ["0 S1", "0 A1", "0 A2", "0 S3", "0 S4", "0 S1", "0 A1", "1 I1", "0 A2", "0 S3",
             "0 S4"]
    procs = {"S": store, "A": "zbud_alloc", "I": "zswap_frontswap_invalidate_page"}
    sched = tuple(ScheduleEntry(int(n[0]), procs[n[2]], n[2:]) for n in names)
    return Case("wrong-schedule", "", (), "zswap", "zswap.zspec", SMALL, steps, 2, sched)


def test_a_step_the_implementation_cannot_take_is_a_clear_failure() -> None:
    result, _ = replay(_wrong_schedule())
    assert result.verdict == "fail"
    assert "schedule entry 9: thread 0 cannot take step zbud_alloc.A2" in result.message
    assert "returned before reaching the yield point `alloc_page`" in result.message
    assert result.divergence is not None and result.divergence.step == 2


def test_an_unmapped_step_is_an_error_naming_it() -> None:
    case = _wrong_schedule()
    sched = list(case.schedule or ())
    sched[2] = ScheduleEntry(0, "zbud_alloc", "A9")
    result, _ = replay(replace(case, schedule=tuple(sched)))
    assert result.verdict == "error"
    assert "no yield point is mapped to step zbud_alloc.A9" in result.message


def test_a_schedule_that_disagrees_with_the_steps_is_an_error() -> None:
    case = _wrong_schedule()
    sched = list(case.schedule or ())
    sched[7] = ScheduleEntry(1, "zswap_frontswap_load", "L1")
    result, _ = replay(replace(case, schedule=tuple(sched)))
    assert result.verdict == "error"
    assert "thread 1 starts zswap_frontswap_load" in result.message


class Hanging(ReferenceImplementation):
    """Invalidate hangs (after its first yield point) until the test releases it."""

    release = threading.Event()

    def _op(self, op: str, args: Mapping[str, Any]) -> Any:
        if op == "zswap_frontswap_invalidate_page":
            self.release.wait(30)
        return super()._op(op, args)


def test_a_hanging_thread_times_out_cleanly_in_process(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(scheduler, "IN_PROCESS_TIMEOUT", 0.3)
    case = generated("small-race-no-mapcount-schedule-on-v3")
    made: list[Hanging] = []

    def factory() -> Hanging:
        made.append(Hanging())
        return made[-1]

    session = Session(factory)
    try:
        t0 = time.monotonic()
        result = run_case(session, case)
        assert time.monotonic() - t0 < 3
        assert result.verdict == "error"
        assert "timeout" in result.message and "thread 1" in result.message
        # the runner dropped the stuck implementation: the next case gets a fresh one
        again = run_case(session, generated("small-race-migrate-while-mapped"))
        assert again.verdict == "pass" and len(made) == 2
    finally:
        Hanging.release.set()
        session.close()


def test_a_hanging_thread_times_out_cleanly_over_the_protocol() -> None:
    limits = Limits(timeout=0.5)
    session = Session(lambda: SubprocessImplementation(fake("hang-in-schedule"), limits))
    try:
        t0 = time.monotonic()
        result = run_case(session, generated("small-race-migrate-while-mapped"))
        assert time.monotonic() - t0 < 5
    finally:
        session.close()
    assert result.verdict == "error"
    assert "timeout" in result.message and "proceed` of thread `0" in result.message


def test_without_the_feature_a_scheduled_case_is_skipped() -> None:
    class NoSchedule(ReferenceImplementation):
        features = ("zswap", "zbud", "inspect")

    session = Session(NoSchedule)
    try:
        result = run_case(session, generated("small-race-migrate-while-mapped"))
    finally:
        session.close()
    assert result.verdict == "skip" and "schedule" in result.message


def test_sequential_pools_are_never_instrumented() -> None:
    impl = make()
    impl.create("zswap", {"page_shift": 12, "nchunks_order": 6, "page_budget": 4,
                          "offsets": 4, "pool_limit": None})
    assert impl.op(0, "zswap_frontswap_store", {"offset": 1, "dlen": 100, "tag": 1}) == "OK"
    pool = impl._pool
    assert pool is not None and type(pool._lock).__name__ != "YieldLock"
    impl.close()
