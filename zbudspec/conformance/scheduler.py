"""Replaying a concurrent case's schedule on an implementation (feature `schedule`).

The runner walks the case's `schedule` in order. For each spec step of thread t it lets t
run from the boundary before that step to the boundary before t's next step
(`schedule_map`): it spawns t's next operation when the step starts one, then lets t
`proceed` through yield points until it stops at the one that marks the next boundary (or
runs its operation to its end when its next step starts another operation or it has none).
Only one thread runs at a time, so the interleaving is the spec's, and a replay gives the
same result every time. At the end every operation still running finishes, in thread order;
then each operation's result and the final state are compared with the case.

Outcomes: a divergence (`_Fail`: a result, the state, an expected BUG that did not happen,
or a thread that cannot take its next step: its operation returned first), `MappingError`
(the schedule has a step the runner cannot place), or a transport failure / `TimeoutError`
(a thread that reaches no yield point in time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zbudspec.conformance import abstract
from zbudspec.conformance.cases import Case, Step
from zbudspec.conformance.protocol import Json, TransportFailure, error_of
from zbudspec.conformance.schedule_map import Anchor, MappingError, ThreadPlan, plan

IN_PROCESS_TIMEOUT = 5.0  # seconds a thread may run between two yield points (in process)

Translate = Callable[[Mapping[str, Json], Mapping[str, Json] | None, Mapping[str, Json]],
                     dict[str, Json]]


class ScheduleDivergence(Exception):
    """The implementation cannot follow the schedule, or its results differ."""

    def __init__(self, step: int, message: str, expected: Json = None, actual: Json = None,
                 state_diff: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.step = step  # 1-based case step (operation)
        self.message = message
        self.expected = expected
        self.actual = actual
        self.state_diff = state_diff


class ExpectedBug(Exception):
    """The implementation answered `bug` where the case expects it: the case passes."""


@dataclass
class _Thread:
    plan: ThreadPlan
    steps: list[int]  # case step indices (0-based) of its operations, in order
    pos: int = 0  # the thread is at the boundary before its entry `pos`
    op: int = -1  # index into `steps` of the running (or last) operation
    held: Mapping[str, Json] | None = None  # the message it is stopped at
    used: bool = False  # `held` was matched as a boundary already
    running: bool = False


@dataclass
class Replay:
    """One scheduled run of `case` on `impl` (an implementation with `spawn`/`proceed`)."""

    impl: Any
    case: Case
    translate: Translate
    timeout: float | None = IN_PROCESS_TIMEOUT
    results: dict[int, Json] = field(default_factory=dict)  # case step index -> result
    ops_run: int = 0

    def run(self) -> None:
        case = self.case
        assert case.schedule is not None
        ops: dict[int, list[str]] = {}
        steps_of: dict[int, list[int]] = {}
        for i, s in enumerate(case.steps):
            ops.setdefault(s.thread, []).append(s.op)
            steps_of.setdefault(s.thread, []).append(i)
        plans = plan(case.schedule, ops)
        threads = {t: _Thread(p, steps_of.get(t, [])) for t, p in plans.items()}
        for i, e in enumerate(case.schedule):
            th = threads[e.thread]
            k = th.plan.entries.index(i)
            if th.pos > k:
                continue  # a step without effect of its own: taken with the next one
            if th.plan.starts[k]:
                self._spawn(th)
            self._advance(th, k + 1, i)
        for t in sorted(threads):
            self._finish(threads[t])
        self._check()

    # ---- moving threads
    def _step(self, th: _Thread) -> Step:
        return self.case.steps[th.steps[th.op]]

    def _spawn(self, th: _Thread) -> None:
        if th.running:
            raise AssertionError("a thread spawns while its operation runs")
        th.op += 1
        step = self._step(th)
        args: dict[str, Json] = dict(step.args)
        if "page" in args:
            args = self.translate(args, step.before, self.impl.inspect())
        th.running = True
        self.ops_run += 1
        self._take(th, self._call(th, lambda: self.impl.spawn(
            th.plan.thread, step.op, args, step.env, timeout=self.timeout)))

    def _proceed(self, th: _Thread) -> None:
        self._take(th, self._call(th, lambda: self.impl.proceed(th.plan.thread,
                                                                 timeout=self.timeout)))

    def _call(self, th: _Thread, fn: Callable[[], Mapping[str, Json]]) -> Mapping[str, Json]:
        step = self._step(th)
        try:
            return fn()
        except (TransportFailure, TimeoutError):
            raise
        except Exception as raw:  # an error reply; in process any exception with a `code`
            exc = error_of(raw)
            if exc.code == "bug" and step.expect_bug:
                raise ExpectedBug(exc.message) from None
            if exc.code == "bug":
                raise ScheduleDivergence(th.steps[th.op] + 1, "the implementation detected a "
                                         "BUG", step.result, f"BUG: {exc.message}") from None
            raise exc from None

    def _take(self, th: _Thread, msg: Mapping[str, Json]) -> None:
        th.held, th.used = msg, False
        if msg.get("done"):
            th.running = False
            step = self._step(th)
            if step.expect_bug:
                raise ScheduleDivergence(th.steps[th.op] + 1, "expected the implementation to "
                                         "detect a BUG", f"BUG: {step.expect_bug}",
                                         msg.get("result"))
            self.results[th.steps[th.op]] = msg.get("result")

    def _advance(self, th: _Thread, target: int, entry: int) -> None:
        """Bring `th` to the boundary before its entry `target` (the end of its operation
        when that entry starts another operation or there is none)."""
        n = len(th.plan.entries)
        while target < n and not th.plan.starts[target] and \
                th.plan.anchors[target] == Anchor("next"):
            target += 1
        th.pos = target
        if target >= n or th.plan.starts[target]:
            self._finish(th)
            return
        a = th.plan.anchors[target]
        assert a is not None
        if a.kind == "same":
            return
        while True:
            held = th.held
            if held is not None and not th.used and not held.get("done") and \
                    a.matches(str(held.get("point")), held.get("what")):
                th.used = True
                return
            if held is None or held.get("done"):
                if a.optional:
                    return
                e = self.case.schedule[th.plan.entries[target]]  # type: ignore[index]
                raise ScheduleDivergence(
                    th.steps[th.op] + 1,
                    f"schedule entry {th.plan.entries[target] + 1}: thread {th.plan.thread} "
                    f"cannot take step {e.proc}.{e.label}: its operation returned before "
                    f"reaching the yield point `{a.describe()}` that begins it (entry "
                    f"{entry + 1} was its last step)", f"{e.proc}.{e.label}",
                    f"returned {_show(held)}")
            self._proceed(th)

    def _finish(self, th: _Thread) -> None:
        while th.running:
            self._proceed(th)

    # ---- checking
    def _check(self) -> None:
        final: Mapping[str, Json] | None = None
        pinned = [i for i, s in enumerate(self.case.steps) if s.state is not None]
        if pinned:
            final = self.impl.inspect()
        for i, s in enumerate(self.case.steps):
            if s.unfinished:
                continue
            got = self.results.get(i)
            if not _same(s, got, self.case.steps[pinned[-1]].state if pinned else None,
                         final):
                raise ScheduleDivergence(i + 1, "result differs", s.result, got)
        for i in pinned:
            state = self.case.steps[i].state
            assert state is not None and final is not None
            diff = abstract.compare(state, final)
            if diff:
                raise ScheduleDivergence(i + 1, "the final state differs",
                                         self.case.steps[i].result, self.results.get(i),
                                         tuple(diff))


def _same(step: Step, actual: Json, spec_after: Mapping[str, Json] | None,
          impl_after: Mapping[str, Json] | None) -> bool:
    exp = step.result
    if isinstance(exp, dict) and isinstance(actual, dict) and "page" in exp:
        if exp.get("slot") != actual.get("slot") or spec_after is None or impl_after is None:
            return False
        ren_e = abstract.canonical_names(abstract.normal(spec_after))
        ren_a = abstract.canonical_names(abstract.normal(impl_after))
        return bool(ren_e.get(exp["page"], -1) == ren_a.get(actual["page"], -2))
    return bool(exp == actual)


def _show(msg: Mapping[str, Json] | None) -> str:
    if msg is None:
        return "nothing"
    return repr(msg.get("result"))


__all__ = ["ExpectedBug", "MappingError", "Replay", "ScheduleDivergence"]
