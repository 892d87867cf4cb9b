"""Inductive strengthening (Houdini): the properties that hold at every depth, found cheaply.

The candidates are the spec's invariants and lemmas. Houdini keeps the largest set S of them
that is preserved by every step: repeatedly ask z3 for a transition that starts in *any*
well-formed state (`BMC.frames_wf`) satisfying all of S, does not fault, and ends in a state
breaking some member of S; drop every member that state breaks; stop when no such transition
exists. Every survivor held in the initial state (the caller has checked depth 0 before) and
no step breaks S, so S holds in every reachable state, at every depth. Then "fault" (no step
faults) and "deadlock" (no state is stuck) are asked the same way, from S-states.

The bounded search assumes S at every depth instead of asking about it again (a lemma that is
a theorem), and skips what is proved. When everything is proved, the bound does not matter:
the verdict is PROVED. One query per round asks about all of S at once (a model names every
member it breaks). Running out of the time budget, or a round z3 gives up on, proves nothing
at all: S is only known to be inductive at the fixpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from zbudspec.engines.z3_bmc import BMC


@dataclass(frozen=True)
class Strengthening:
    """What Houdini proved: state properties by name, and "fault" and "deadlock"."""

    proved: frozenset[str]
    queries: int
    seconds: float
    note: str = ""  # why nothing was proved, when the budget ran out


def strengthen(main: BMC, budget_s: float = 120.0) -> Strengthening:
    """Houdini over `main`'s properties, in a solver of its own sharing `main`'s template
    (call it inside `num.use(main.num)`, after `main.begin()` and the depth-0 checks)."""
    t0 = time.perf_counter()
    query_ms = max(1, min(main.timeout_ms, int(budget_s * 1000)))
    st = BMC(main.p, query_ms, main.rlimit, width=main.num.width)
    st.shared = main
    st.check_deadlock = main.check_deadlock
    st.begin(initial=False)
    st.unroll()
    pre = st.state_props(0)
    post = dict(st.state_props(1))
    act = {name: z3.Bool(f"houdini:{name}") for name, _ in pre}
    for name, bad in pre:
        st.solver.add(z3.Implies(act[name], z3.Not(bad)))
    moves = z3.Bool("houdini:moves")  # a step runs and does not fault
    st.solver.add(z3.Implies(moves, z3.And(st.moves[0], z3.Not(st.faulted[0]))))
    order = [name for name, _ in pre]
    kept = set(order)

    def out_of_time() -> bool:
        """Whether the budget is spent; if not, the next query may take what is left."""
        left = budget_s - (time.perf_counter() - t0)
        if left > 0:
            st.solver.set("timeout", max(1, min(query_ms, int(left * 1000))))
        return left <= 0

    while kept:
        if out_of_time():
            return Strengthening(frozenset(), st.queries, time.perf_counter() - t0,
                                 f"the strengthening ran out of its {budget_s:g} s")
        # one query per round: does a step break any member? drop all it breaks
        r = st._check(z3.Or(*[post[n] for n in order if n in kept]), "houdini",
                      assume=[moves, *(act[n] for n in order if n in kept)])
        if r == z3.unsat:
            break
        if r == z3.unknown:
            return Strengthening(frozenset(), st.queries, time.perf_counter() - t0,
                                 "z3 gave up on the strengthening")
        m = st.model
        kept -= {n for n in kept if z3.is_true(m.eval(post[n], model_completion=True))}
    proved = set(kept)
    for name in kept:
        st.solver.add(act[name])
    if not out_of_time() and st._check(st.faulted[0], "houdini:fault") == z3.unsat:
        proved.add("fault")
    if not st.deadlock_possible or (not out_of_time() and st._deadlock(0) == z3.unsat):
        proved.add("deadlock")
    return Strengthening(frozenset(proved), st.queries, time.perf_counter() - t0)


__all__ = ["Strengthening", "strengthen"]
