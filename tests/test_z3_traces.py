"""Random interpreter runs are paths of the z3 transition relation, step by step.

A run of the interpreter (random thread, random outcome, no violation) is pinned state by
state onto the bounded unrolling: every global, lock holder, and each thread's frames (which
procedures are active, at which label, waiting on which call, with which locals). The
solver must find the pinned path satisfiable, and must find it unsatisfiable when one state
of it is tampered with: the encoding admits exactly the interpreter's steps here, neither
fewer (a missing behaviour would hide bugs) nor a corrupted one."""

from __future__ import annotations

import random
from typing import Any

import pytest
import z3
from conftest import NO_MAPCOUNT, bundled

from zbudspec.engines import z3_num as num
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State
from zbudspec.engines.z3_bmc import BMC, SymState
from zbudspec.engines.z3_values import const, eq
from zbudspec.semantics import ir


def _random_run(program: ir.Program, steps: int, seed: int) -> list[State]:
    interp = Interpreter(program)
    rng = random.Random(seed)
    state = interp.initial()
    run = [state]
    for _ in range(steps):
        outs = [o for o in interp.successors(state) if o.violation is None and o.state]
        if not outs:
            break
        nxt = rng.choice(outs).state
        assert nxt is not None
        state = nxt
        run.append(state)
    return run


def _pin(bmc: BMC, s: SymState, st: State) -> Any:
    parts = [eq(g.type, x, const(g.type, v))
             for g, x, v in zip(bmc.p.globals, s.globals, st.globals, strict=True)]
    parts += [lk == (-1 if h is None else h) for lk, h in zip(s.locks, st.locks, strict=True)]
    for t, frames in enumerate(st.threads):
        th = s.threads[t]
        on = {f.proc: f for f in frames}
        for n in bmc.stack_procs:
            f = on.get(n)
            if f is None:
                parts.append(z3.Not(th.active[n]))
                continue
            parts += [th.active[n], th.label[n] == bmc.label_ids[n][f.label],
                      th.waiting[n] == f.call_site]
            names = bmc.interp.local_names[n]
            for name, v in zip(names, f.locals, strict=True):
                ty = bmc.ltypes[n][name]
                parts.append(eq(ty, th.locals[n][name], const(ty, v)))
    return z3.And(*parts)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("variant", ["bundled", "no-mapcount"])
def test_random_interpreter_runs_are_paths_of_the_encoding(variant: str, seed: int) -> None:
    program = bundled() if variant == "bundled" else bundled(path=NO_MAPCOUNT)
    run = _random_run(program, 8, seed)
    bmc = BMC(program)
    with num.use(bmc.num):
        bmc.begin()
        for k in range(len(run) - 1):
            bmc.unroll()
            bmc.solver.add(bmc.moves[k])
        for k, st in enumerate(run[:-1]):
            bmc.solver.add(_pin(bmc, bmc.states[k], st))
        bmc.solver.push()
        bmc.solver.add(_pin(bmc, bmc.states[-1], run[-1]))
        assert bmc.solver.check() == z3.sat
        bmc.solver.pop()
        # a last state the interpreter cannot reach from the one before: one integer global
        # off by one, within its type
        nexts = {o.state for o in Interpreter(program).successors(run[-2])}
        tampered = _tampered(program, run[-1], nexts)
        bmc.solver.add(_pin(bmc, bmc.states[-1], tampered))
        assert bmc.solver.check() == z3.unsat


def _tampered(program: ir.Program, st: State, nexts: set[Any]) -> State:
    for i, g in enumerate(program.globals):
        v = st.globals[i]
        lo, hi = getattr(g.type, "lo", None), getattr(g.type, "hi", None)
        if isinstance(v, bool) or not isinstance(v, int) or lo is None or hi is None:
            continue
        for w in (v + 1, v - 1):
            if lo <= w <= hi:
                cand = st._replace(globals=(*st.globals[:i], w, *st.globals[i + 1:]))
                if cand not in nexts:
                    return cand
    raise AssertionError("no integer global to tamper with")
