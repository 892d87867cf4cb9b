"""Minimised counterexamples: drop every step the violation does not need.

A trace is read as a sequence of scheduling decisions: per step the thread, the operation and
arguments it starts (if any), the pick indices of its `choose`s and `either`s, and the step
(`proc.label`) it must run. A candidate is a subsequence of the original steps, re-run from
the initial state through the interpreter; it is a violation of the same kind when every step
is enabled with its recorded picks, runs its recorded step, and the run hits a violation with
the same `ViolationKey` (reaching it early simply truncates the candidate). A step whose picks
no longer apply makes the candidate no candidate.

Removal order (delta-debugging style, docs/decisions.md D40-D41): whole operations first (a
start step with all later steps of that operation), then runs of consecutive steps of one
operation (longest first), then single steps; after every successful removal the search
starts again from whole operations, until nothing can be removed. The result is 1-minimal:
no single step and no whole operation can be removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State, Transition, Violation
from zbudspec.semantics import ir
from zbudspec.semantics.types import Type, Value, domain_values, show_value


class MinimiseError(ValueError):
    """The trace given does not replay to a violation (or not to the one given)."""


@dataclass(frozen=True, slots=True)
class ViolationKey:
    """What makes two violations "the same kind" (D40): the kind; the invariant's name for
    invariants; the source location for assertions and run-time faults (the same `assert`,
    the same lock operation); the kind alone for deadlocks."""

    kind: str
    name: str | None
    where: tuple[str, int, int] | None


def violation_key(v: Violation) -> ViolationKey:
    if v.kind == "deadlock":
        return ViolationKey("deadlock", None, None)
    if v.kind == "invariant":
        return ViolationKey("invariant", v.name, None)
    return ViolationKey(v.kind, v.name, (v.span.file, v.span.line, v.span.col))


@dataclass(frozen=True, slots=True)
class Decision:
    """One step of a trace as something to re-run: who, what it starts, which picks."""

    thread: int
    op: str | None  # the operation started by this step, None for a continuation
    args: tuple[Value, ...]
    picks: tuple[int, ...]
    proc: str
    label: str


@dataclass(frozen=True, slots=True)
class Run:
    """A re-run of decisions: the steps that ran and the violation hit (None: none)."""

    trace: tuple[TraceStep, ...]
    violation: Violation | None
    ran: int  # how many decisions ran (fewer than given when a violation came early)


@dataclass(frozen=True, slots=True)
class Minimised:
    trace: list[TraceStep]
    violation: Violation
    removed: tuple[int, ...]  # 0-based positions in the original trace
    original_length: int
    candidates: int  # candidate traces re-run

    @property
    def summary(self) -> str:
        n, m = self.original_length, len(self.trace)
        if n == m:
            return f"minimal: no step of the {n}-step trace can be removed"
        return f"minimised from {n} to {m} steps"


def decision_of(program: ir.Program, tr: Transition) -> Decision:
    args: tuple[Value, ...] = ()
    if tr.started:
        spelled = {p.what[4:]: p.value for p in tr.picks if p.what.startswith("arg ")}
        args = tuple(_value(pt, spelled[name]) for name, pt in program.procs[tr.op].params)
    picks = tuple(p.index for p in tr.picks if not p.what.startswith("arg "))
    return Decision(tr.thread, tr.op if tr.started else None, args, picks, tr.proc, tr.label)


def _value(t: Type, spelled: str) -> Value:
    for v in domain_values(t):
        if show_value(t, v) == spelled:
            return v
    raise MinimiseError(f"argument value {spelled} is not in {t}")


def deadlock_violation(program: ir.Program, state: State) -> Violation:
    """The violation the explicit engine reports for a state where no thread can move."""
    stuck = [t for t, fr in enumerate(state.threads) if fr]
    where = ", ".join(f"thread {t} at {state.threads[t][-1].proc}.{state.threads[t][-1].label}"
                      for t in stuck)
    return Violation("deadlock", f"deadlock: no thread can move ({where})",
                     program.procs[state.threads[stuck[0]][-1].proc].span)


def run_decisions(interp: Interpreter, initial: State, decisions: Sequence[Decision]) -> Run | None:
    """Re-run decisions from `initial`, stopping at the first violation (a deadlock counts
    only at the end). None when a step is not enabled with its picks or runs another step."""
    bad = interp.check_invariants(initial)
    if bad is not None:
        return Run((), bad, 0)
    state = initial
    out: list[TraceStep] = []
    for n, d in enumerate(decisions, start=1):
        if (d.op is None) != bool(state.threads[d.thread]):
            return None
        outcome = interp.replay_step(state, d.thread, d.op, d.args, d.picks)
        if outcome is None:
            return None
        tr = outcome.transition
        if (tr.proc, tr.label) != (d.proc, d.label):
            return None
        out.append(TraceStep(tr, outcome.state))
        if outcome.violation is not None:
            return Run(tuple(out), outcome.violation, n)
        assert outcome.state is not None
        state = outcome.state
    if interp.deadlocked(state):
        return Run(tuple(out), deadlock_violation(interp.p, state), len(decisions))
    return Run(tuple(out), None, len(decisions))


def _operations(decisions: Sequence[Decision], trace: Sequence[TraceStep]) -> list[list[int]]:
    """Positions of each operation's steps: a start step and the thread's later steps up to
    the one that finished it (or the end of the trace)."""
    ops: list[list[int]] = []
    open_op: dict[int, list[int]] = {}
    for i, (d, ts) in enumerate(zip(decisions, trace, strict=True)):
        if d.op is not None:
            open_op[d.thread] = [i]
            ops.append(open_op[d.thread])
        elif d.thread in open_op:
            open_op[d.thread].append(i)
        if ts.transition.finished:
            open_op.pop(d.thread, None)
    return ops


def _units(decisions: Sequence[Decision], trace: Sequence[TraceStep]) -> list[tuple[int, ...]]:
    """Removal candidates in order: whole operations, then runs of consecutive steps of one
    operation, longest first, then single steps (runs of length 1)."""
    ops = _operations(decisions, trace)
    units: list[tuple[int, ...]] = [tuple(op) for op in ops]
    longest = max((len(op) for op in ops), default=0)
    for length in range(longest - 1, 0, -1):
        for op in ops:
            units.extend(tuple(op[k:k + length]) for k in range(len(op) - length + 1))
    return list(dict.fromkeys(units))


def minimise(program: ir.Program, initial: State, trace: Sequence[TraceStep],
             violation: Violation | None = None) -> Minimised:
    """A 1-minimal sub-trace of a violating `trace` hitting a violation of the same kind.

    `violation`, when given, must be of the same kind as the one the trace replays to (the
    engines' `SearchResult.violation`). Thread ids, operations, arguments and picks of the
    steps kept are those of the original. Raises `MinimiseError` when the trace does not
    replay to a violation."""
    interp = Interpreter(program)
    decisions = [decision_of(program, ts.transition) for ts in trace]
    first = run_decisions(interp, initial, decisions)
    if first is None or first.violation is None:
        raise MinimiseError("the trace does not replay to a violation")
    key = violation_key(first.violation)
    if violation is not None and violation_key(violation) != key:
        raise MinimiseError(f"the trace replays to `{first.violation.message}`, not to "
                            f"`{violation.message}`")
    keep = list(range(first.ran))
    best = first
    tried = 1
    cache: dict[tuple[int, ...], Run | None] = {}
    changed = True
    while changed:
        changed = False
        for unit in _units([decisions[i] for i in keep], best.trace):
            drop = {keep[i] for i in unit}
            cand = tuple(i for i in keep if i not in drop)
            if cand not in cache:
                tried += 1
                cache[cand] = run_decisions(interp, initial, [decisions[i] for i in cand])
            got = cache[cand]
            if got is not None and got.violation is not None \
                    and violation_key(got.violation) == key:
                keep, best, changed = list(cand[:got.ran]), got, True
                break
    removed = tuple(i for i in range(len(trace)) if i not in set(keep))
    assert best.violation is not None
    return Minimised(list(best.trace), best.violation, removed, len(trace), tried)


def removable(program: ir.Program, initial: State, trace: Sequence[TraceStep],
              violation: Violation) -> list[tuple[int, ...]]:
    """Every removal unit (a whole operation, a run of steps of one operation, a single
    step; positions in `trace`) whose removal still leaves a violation of the same kind as
    `violation`: empty for a minimised trace. The check tests and callers can make."""
    interp = Interpreter(program)
    decisions = [decision_of(program, ts.transition) for ts in trace]
    key = violation_key(violation)
    out = []
    for unit in _units(decisions, trace):
        got = run_decisions(interp, initial, [d for i, d in enumerate(decisions)
                                              if i not in unit])
        if got is not None and got.violation is not None and violation_key(got.violation) == key:
            out.append(unit)
    return out
