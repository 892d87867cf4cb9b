"""The spec's labelled steps mapped onto an implementation's yield points (D50-D53).

A concurrent case's `schedule` is the spec's steps, `(thread, proc.label)`, in the order they
ran. An implementation reports yield points instead (PROTOCOL.md, `schedule`): `lock_acquire`
(before taking the pool lock), `lock_release` (after dropping it), `alloc_page` (after the
page allocator answered), `evict_before` / `evict_after` (around reclaim's evict callback) and
`call` (before zswap calls into zbud, `what` = the zbud function). A thread stopped at the
right yield point is *between* two spec steps: this module says which point that is.

The boundary before a step depends on the step and on how the thread got there (the step
before it of the same thread): entering a procedure (`call`), coming back from one
(`return`), or the next label of the same procedure (`seq`). Three kinds of answers:

* `event`: the first yield point of that kind (and `what`) the thread reaches after the
  previous boundary; `optional` when the operation may return before it (an early return
  with no effect left);
* `same`: the step before had no effect of its own, the boundary is the previous one;
* `next`: this step has no effect until the next step's boundary (or its operation's end),
  so it begins there.

Every other step is unmapped, and a case using it is reported as an error, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from zbudspec.conformance.cases import ScheduleEntry


class MappingError(Exception):
    """A schedule step the runner cannot place among the implementation's yield points."""


@dataclass(frozen=True, slots=True)
class Anchor:
    kind: str  # "event" | "same" | "next"
    point: str = ""
    what: str | None = None  # None: any
    optional: bool = False

    def matches(self, point: str, what: object) -> bool:
        return self.kind == "event" and point == self.point and \
            (self.what is None or what == self.what)

    def describe(self) -> str:
        if self.kind != "event":
            return self.kind
        return self.point + ("" if self.what is None else f" {self.what}")


def _ev(point: str, what: str | None = None, optional: bool = False) -> Anchor:
    return Anchor("event", point, what, optional)


SAME = Anchor("same")
NEXT = Anchor("next")
LOCK = "pool_lock"

# The label each procedure starts at (a step there after another procedure is a call).
ENTRY: dict[str, str] = {
    "zswap_frontswap_store": "S1",
    "zswap_frontswap_load": "L1",
    "zswap_frontswap_invalidate_page": "I1",
    "zswap_frontswap_invalidate_area": "V1",
    "zbud_migrate_page": "M1",
    "zbud_alloc": "A1",
    "zbud_reclaim_page": "R1",
    "zbud_evict": "W1",
    "zbud_get_pool_size": "P1",
}
EVICT_ENTRIES = ("W1", "E1")  # zswap's writeback, zbud alone's failing callback

# Entering a procedure: the callee's entry step begins at ...
CALL: dict[str, Anchor] = {
    "zbud_alloc": _ev("call", "zbud_alloc"),
    "zbud_reclaim_page": _ev("call", "zbud_reclaim_page"),
    "zbud_evict": _ev("evict_before"),
}

# Coming back from `callee` into the caller's step at `label`.
RETURN: dict[tuple[str, str, str], Anchor] = {
    ("zbud_evict", "zbud_reclaim_page", "R2"): _ev("evict_after"),
    ("zbud_evict", "zbud_reclaim_page", "R3"): _ev("evict_after"),
    # reclaim returned: S2 checks its result and picks the compressor, no shared effect
    ("zbud_reclaim_page", "zswap_frontswap_store", "S2"): NEXT,
    # zbud_alloc returned: S3 maps the buddy, or returns the error at once
    ("zbud_alloc", "zswap_frontswap_store", "S3"): _ev("call", "zbud_map", optional=True),
}

# The next label of the same procedure.
SEQ: dict[tuple[str, str], Anchor] = {
    ("zbud_alloc", "A2"): _ev("alloc_page"),
    ("zbud_migrate_page", "M2"): _ev("alloc_page"),
    ("zswap_frontswap_store", "S4"): _ev("lock_release", LOCK),  # zbud_map done
    ("zswap_frontswap_load", "L2"): _ev("lock_release", LOCK),  # zbud_map done
    ("zbud_evict", "W2"): _ev("lock_release", LOCK),  # zbud_map done
    ("zbud_evict", "W3"): _ev("lock_release", LOCK),  # zbud_unmap done
    ("zbud_evict", "W4"): _ev("call", "zbud_free"),
    # R2 only tests the first evict's result: it begins where LAST's evict (or R3) does
    ("zbud_reclaim_page", "R2"): NEXT,
    # after an R2 that evicted nothing, R3 begins where R2 did
    ("zbud_reclaim_page", "R3"): SAME,
}


def is_entry(e: ScheduleEntry) -> bool:
    return ENTRY.get(e.proc) == e.label or (e.proc == "zbud_evict" and e.label in
                                              EVICT_ENTRIES)


def anchor(prev: ScheduleEntry, cur: ScheduleEntry) -> Anchor:
    """The boundary before `cur`, the step after `prev` on the same thread (same operation)."""
    if cur.proc != prev.proc and is_entry(cur):
        a = CALL.get(cur.proc)
    elif cur.proc != prev.proc:
        a = RETURN.get((prev.proc, cur.proc, cur.label))
    else:
        a = SEQ.get((cur.proc, cur.label))
    if a is None:
        raise MappingError(f"no yield point is mapped to step {cur.proc}.{cur.label} after "
                           f"{prev.proc}.{prev.label} (docs/decisions.md D51)")
    return a


@dataclass(frozen=True, slots=True)
class ThreadPlan:
    """One thread's schedule steps: where each begins, and which start an operation."""

    thread: int
    entries: tuple[int, ...]  # indices into the case's schedule
    starts: tuple[bool, ...]  # the step starts the thread's next operation
    anchors: tuple[Anchor | None, ...]  # None for a start


def plan(schedule: tuple[ScheduleEntry, ...], ops: dict[int, list[str]]) -> dict[int,
                                                                                    ThreadPlan]:
    """Per thread: its steps, the operations they start (checked against `ops`, the case's
    operations per thread in order) and the boundary before each."""
    out: dict[int, ThreadPlan] = {}
    for t in sorted({e.thread for e in schedule} | set(ops)):
        idx = [i for i, e in enumerate(schedule) if e.thread == t]
        todo = list(ops.get(t, []))
        starts: list[bool] = []
        anchors: list[Anchor | None] = []
        for k, i in enumerate(idx):
            e = schedule[i]
            start = k == 0 or (bool(todo) and e.proc == todo[0] and ENTRY.get(e.proc) ==
                               e.label)
            if start:
                if not todo or todo[0] != e.proc:
                    want = todo[0] if todo else "no more operations"
                    raise MappingError(f"schedule entry {i + 1}: thread {t} starts {e.proc}, "
                                       f"but its next operation in the steps is {want}")
                todo.pop(0)
                anchors.append(None)
            else:
                anchors.append(anchor(schedule[idx[k - 1]], e))
            starts.append(start)
        if todo:
            raise MappingError(f"thread {t}: operation(s) {', '.join(todo)} never start in "
                               "the schedule")
        out[t] = ThreadPlan(t, tuple(idx), tuple(starts), tuple(anchors))
    return out
