"""Random simulation: one random interleaving, invariants checked at every step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State, Violation
from zbudspec.semantics import ir


@dataclass
class SimResult:
    steps: int
    initial: State  # the state before the first kept trace step
    trace: list[TraceStep] = field(default_factory=list)
    violation: Violation | None = None
    stopped: str = ""  # why the run ended early, if it did


def simulate(program: ir.Program, steps: int, seed: int, keep: int = 200) -> SimResult:
    """Run `steps` random transitions; keep the last `keep` steps as the trace."""
    rng = random.Random(seed)
    interp = Interpreter(program)
    state = interp.initial()
    init = state
    trace: list[TraceStep] = []
    bad = interp.check_invariants(state)
    if bad is not None:
        return SimResult(0, init, [], bad)
    for n in range(steps):
        threads = list(range(interp.n_threads))
        rng.shuffle(threads)
        outs = []
        for t in threads:
            outs = list(interp.thread_successors(state, t))
            if outs:
                break
        if not outs:
            if any(state.threads):
                return SimResult(n, init, trace, Violation(
                    "deadlock", "deadlock: no thread can move",
                    program.procs[next(fr for fr in state.threads if fr)[-1].proc].span))
            return SimResult(n, init, trace, None, "no operation can start")
        o = rng.choice(outs)
        trace.append(TraceStep(o.transition, o.state))
        if len(trace) > keep:
            dropped = trace.pop(0)
            assert dropped.state is not None
            init = dropped.state
        if o.violation is not None:
            return SimResult(n + 1, init, trace, o.violation)
        assert o.state is not None
        state = o.state
    return SimResult(steps, init, trace, None)
