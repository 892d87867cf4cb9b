"""Explicit-state engine: exhaustive breadth-first search with state hashing.

BFS finds a shortest counterexample. When the frontier empties before the depth bound, every
reachable state has been checked: the invariants hold for all depths (for these parameter
values and this number of threads), and the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.memo import Memo
from zbudspec.engines.state import Outcome, State, Transition, Violation
from zbudspec.semantics import ir


class Verdict(Enum):
    VIOLATED = "VIOLATED"
    NO_VIOLATION = "NO VIOLATION"
    PROVED = "PROVED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class TraceStep:
    transition: Transition
    state: State | None  # None when the step itself faulted


@dataclass
class Coverage:
    ops: set[str] = field(default_factory=set)
    steps: set[tuple[str, str]] = field(default_factory=set)

    def missing(self, program: ir.Program) -> tuple[list[str], list[str]]:
        """Operations the client may call, and labelled steps, never reached."""
        callable_ops = {op for t in range(program.client.threads) for op in program.ops_for(t)}
        ops = sorted(callable_ops - self.ops)
        reachable_procs = _procs_reachable(program, callable_ops)
        steps = sorted(f"{p}.{label}" for p in reachable_procs
                       for label in program.procs[p].steps
                       if (p, label) not in self.steps)
        return ops, steps


@dataclass
class SearchResult:
    verdict: Verdict
    depth: int  # the bound asked for
    depth_reached: int  # the last depth fully explored
    states: int
    transitions: int
    seconds: float
    coverage: Coverage
    initial: State
    trace: list[TraceStep] = field(default_factory=list)
    violation: Violation | None = None
    reason: str = ""
    coverage_known: bool = True  # false where no engine measured it (induction)
    coverage_note: str = ""  # how coverage was measured, when it is not plain


Progress = Callable[[int, int, float], None]


def search(program: ir.Program, depth: int, max_states: int = 5_000_000,
           progress: Progress | None = None, memo: bool = True) -> SearchResult:
    """Breadth-first search to `depth`. `memo=False` asks the interpreter for every state's
    successors and invariants directly (the same result, slower: D60)."""
    interp = Interpreter(program)
    run: Memo | _Plain = Memo(interp) if memo else _Plain(interp)
    t0 = time.perf_counter()
    init = interp.initial()
    cov = Coverage()
    parent: dict[State, tuple[State | None, Transition | None]] = {init: (None, None)}
    transitions = 0

    def result(verdict: Verdict, reached: int, **kw: object) -> SearchResult:
        return SearchResult(verdict, depth, reached, len(parent), transitions,
                            time.perf_counter() - t0, cov, init, **kw)  # type: ignore[arg-type]

    bad = run.check_invariants(init)
    if bad is not None:
        return result(Verdict.VIOLATED, 0, violation=bad)
    frontier = [init]
    for d in range(1, depth + 1):
        nxt: list[State] = []
        # violations one step deeper wait until the whole layer is scanned for deadlocks,
        # so that the counterexample reported is a shortest one whatever its kind
        deeper: SearchResult | None = None
        for s in frontier:
            outs = run.successors(s)
            if not outs and any(s.threads):
                trace = _trace(parent, s)
                stuck = [t for t, fr in enumerate(s.threads) if fr]
                where = ", ".join(f"thread {t} at {s.threads[t][-1].proc}."
                                  f"{s.threads[t][-1].label}" for t in stuck)
                v = Violation("deadlock", f"deadlock: no thread can move ({where})",
                              program.procs[s.threads[stuck[0]][-1].proc].span)
                return result(Verdict.VIOLATED, d - 1, trace=trace, violation=v)
            for o in outs:
                transitions += 1
                tr = o.transition
                cov.ops.add(tr.op)
                cov.steps.add((tr.proc, tr.label))
                if deeper is not None:
                    continue
                if o.violation is not None:
                    trace = [*_trace(parent, s), TraceStep(tr, o.state)]
                    deeper = result(Verdict.VIOLATED, d - 1, trace=trace,
                                    violation=o.violation)
                    continue
                assert o.state is not None
                if o.state not in parent:
                    parent[o.state] = (s, tr)
                    bad = run.check_invariants(o.state)
                    if bad is not None:
                        deeper = result(Verdict.VIOLATED, d - 1, trace=_trace(parent, o.state),
                                        violation=bad)
                        continue
                    nxt.append(o.state)
            if len(parent) > max_states:
                return result(Verdict.UNKNOWN, d - 1,
                              reason=f"state limit of {max_states} states reached at depth {d}")
        if deeper is not None:
            return deeper
        frontier = nxt
        if progress is not None:
            progress(d, len(parent), time.perf_counter() - t0)
        if not frontier:
            return result(Verdict.PROVED, d,
                          reason=f"every reachable state was explored (none new at depth {d})")
    return result(Verdict.NO_VIOLATION, depth)


class _Plain:
    """The interpreter as the search asks it, unmemoised."""

    def __init__(self, interp: Interpreter) -> None:
        self.i = interp

    def successors(self, state: State) -> list[Outcome]:
        return self.i.successors(state, invariants=False)

    def check_invariants(self, state: State) -> Violation | None:
        return self.i.check_invariants(state)


def _trace(parent: dict[State, tuple[State | None, Transition | None]],
           s: State) -> list[TraceStep]:
    out: list[TraceStep] = []
    cur: State | None = s
    while cur is not None:
        prev, tr = parent[cur]
        if tr is None:
            break
        out.append(TraceStep(tr, cur))
        cur = prev
    out.reverse()
    return out


def _procs_reachable(program: ir.Program, ops: set[str]) -> set[str]:
    from zbudspec.engines.interpreter import _call_steps

    seen = set(ops)
    todo = list(ops)
    while todo:
        p = program.procs[todo.pop()]
        for step in p.steps.values():
            for cs in _call_steps(step.body):
                if cs.proc not in seen:
                    seen.add(cs.proc)
                    todo.append(cs.proc)
    return {p for p in seen if program.procs[p].multi_step}
