"""k-induction: the invariants hold at every depth, not just up to a bound.

For k = 1, 2, ... up to a bound:
- **base**: no violation within depth k (bounded model checking from the initial state, the
  same engine as `z3_bmc.prove_bmc`, run one depth further each round);
- **step**: from *any* well-formed state (`BMC.frames_wf`), along any k transitions through
  states that satisfy every invariant (lemmas included) without a fault, the k-th transition
  neither faults nor leads to a state that breaks an invariant, and (when a step can block at
  all) the state it reaches is not a deadlock.
Both together prove every invariant at every depth: PROVED. A step that fails at every k up
to the bound gives UNKNOWN with its *counterexample to induction*: a state satisfying the
invariants from which one step breaks one. It need not be reachable, so it is no bug report;
it says which fact the invariants lack, for the user to add as a `lemma` (which is then
checked like any invariant). Every counterexample to induction is replayed by the
interpreter from its start state before it is shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from zbudspec.engines import z3_num as num
from zbudspec.engines.explicit import Coverage, SearchResult, TraceStep, Verdict
from zbudspec.engines.state import State, Violation
from zbudspec.engines.z3_bmc import BMC, EngineDisagreement
from zbudspec.semantics import ir


@dataclass
class InductionCTI:
    """A counterexample to induction: `k` steps through states satisfying the invariants,
    from `start` (any well-formed state), after which `violation` happens."""

    k: int
    start: State
    trace: list[TraceStep]
    violation: Violation


@dataclass
class InductionResult:
    result: SearchResult
    k: int  # the k at which the step case held (PROVED), or the last k tried
    cti: InductionCTI | None = None


def prove_induction(program: ir.Program, max_k: int, timeout_ms: int = 60_000,
                    progress: Callable[[str, int, float], None] | None = None,
                    rlimit: int = 0) -> InductionResult:
    """k-induction for k = 1..max_k; the base case is bounded model checking to depth k."""
    t0 = time.perf_counter()
    base = BMC(program, timeout_ms, rlimit)
    step = BMC(program, timeout_ms, rlimit, width=base.num.width)
    with num.use(base.num):
        return _Run(base, step, max_k, t0, progress).run()


class _Run:
    def __init__(self, base: BMC, step: BMC, max_k: int, t0: float,
                 progress: Callable[[str, int, float], None] | None) -> None:
        self.base, self.step, self.max_k, self.t0 = base, step, max_k, t0
        self.progress = progress
        self.init_state = base.interp.initial()
        self.last_cti: InductionCTI | None = None

    def result(self, verdict: Verdict, k: int, trace: list[TraceStep] | None = None,
               violation: Violation | None = None, reason: str = "") -> SearchResult:
        res = SearchResult(verdict, self.max_k, k, 0, 0, time.perf_counter() - self.t0,
                           Coverage(), self.init_state, trace or [], violation,
                           reason=reason)
        res.coverage_known = False
        return res

    def run(self) -> InductionResult:
        base, step = self.base, self.step
        base.begin()
        step.shared = base  # one transition template for both
        step.begin(initial=False)
        for name, cond in base.state_props(0):
            r = base._check(cond, f"{name}@0")
            if r != z3.unsat:
                return self._initial_failure(r)
            base.solver.add(z3.Not(cond))
        for k in range(1, self.max_k + 1):
            # base: depth k from the initial state
            fail = self._base_depth(k - 1)
            if fail is not None:
                return fail
            # step: the path's state k-1 satisfies the invariants (as did the earlier ones)
            j = k - 1
            for _, cond in step.state_props(j):
                step.solver.add(z3.Not(cond))
            if j > 0:
                step.solver.add(z3.Not(step.faulted[j - 1]))
            while len(step.states) <= k:
                step.unroll()
            step.solver.add(step.moves[j])
            cti = self._step_case(k)
            if cti == "unknown":
                return InductionResult(self.result(
                    Verdict.UNKNOWN, k, reason=f"z3 gave up on the induction step at k={k}: "
                    f"{step.solver.reason_unknown()}"), k)
            if self.progress is not None:
                self.progress("step" if cti is None else "cti", k,
                              time.perf_counter() - self.t0)
            if cti is None:
                return InductionResult(self.result(
                    Verdict.PROVED, k, reason=f"{k}-inductive: the invariants hold at every "
                    "depth"), k)
            assert isinstance(cti, InductionCTI)
            self.last_cti = cti
        return InductionResult(self.result(
            Verdict.UNKNOWN, self.max_k, reason=f"not {self.max_k}-inductive: the "
            "invariants do not rule out the counterexample to induction below; add a "
            "lemma that does (no violation exists within depth "
            f"{self.max_k})"), self.max_k, self.last_cti)

    def _initial_failure(self, r: Any) -> InductionResult:
        """The initial state is bad (or z3 gave up deciding it)."""
        if r == z3.unknown:
            return InductionResult(self.result(Verdict.UNKNOWN, 0,
                                               reason=self.base._unknown(0)), 0)
        v = self.base.interp.check_invariants(self.init_state)
        if v is None:
            raise EngineDisagreement("z3 finds the initial state bad; the interpreter does "
                                     "not")
        return InductionResult(self.result(Verdict.VIOLATED, 0, violation=v), 0)

    def _base_depth(self, k: int) -> InductionResult | None:
        """Extend the base case to depth k+1; a violation there is a real one."""
        stop = self.base.extend(k)
        if stop is not None:
            return InductionResult(self.result(stop.verdict, stop.reached, stop.trace,
                                               stop.violation, stop.reason), stop.reached)
        if self.progress is not None:
            self.progress("base", k + 1, time.perf_counter() - self.t0)
        return None

    def _step_case(self, k: int) -> InductionCTI | str | None:
        step = self.step
        j = k - 1
        for name, cond in step.step_props(j):
            r = step._check(cond, f"step:{name}@{k}")
            if r == z3.unknown:
                return "unknown"
            if r == z3.sat:
                return self._cti(k)
        if not step.deadlock_possible:
            return None
        # the state reached satisfies the invariants too; can it be stuck? (transition k
        # is encoded ahead: its definitions constrain nothing until `moves[k]` is asserted)
        while len(step.states) <= k + 1:
            step.unroll()
        step.solver.push()
        for _, cond in step.state_props(k):
            step.solver.add(z3.Not(cond))
        step.solver.add(z3.Not(step.faulted[j]))
        r = step._deadlock(k)
        model = getattr(step, "model", None)
        step.solver.pop()
        if r == z3.unknown:
            return "unknown"
        if r == z3.sat:
            step.model = model
            return self._cti(k, deadlock=True)
        return None

    def _cti(self, k: int, deadlock: bool = False) -> InductionCTI:
        """Replay the model's path from its start through the interpreter."""
        step = self.step
        m = step.model
        start = step.concrete_state(step.states[0], m)
        if deadlock:
            trace, stuck = step.deadlock_trace(k, start=start)
            return InductionCTI(k, start, trace, stuck)
        trace, v = step.counterexample(k, start=start)
        assert v is not None
        return InductionCTI(k, start, trace, v)


__all__ = ["InductionCTI", "InductionResult", "prove_induction"]
