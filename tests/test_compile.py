"""The compiled fast path agrees with the reference evaluator on real states."""

from __future__ import annotations

import random

from conftest import NO_MAPCOUNT, bundled

from zbudspec.engines.interpreter import Interpreter
from zbudspec.semantics.compile import Compiler
from zbudspec.semantics.evaluate import Ctx, EvalError, evaluate


def _states(program, n: int, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    interp = Interpreter(program)
    state = interp.initial()
    out = [state]
    for _ in range(n):
        outs = [o for o in interp.successors(state) if o.state is not None]
        if not outs:
            state = interp.initial()
            continue
        state = rng.choice(outs).state
        out.append(state)
    return interp, out


def test_invariants_and_functions_agree_on_reachable_states() -> None:
    for path_program in (bundled(), bundled(path=NO_MAPCOUNT)):
        interp, states = _states(path_program, 300, seed=1)
        cx = Compiler(path_program.fns)
        for state in states:
            fr = interp.frames_of(state)
            ctx = Ctx(state.globals, {}, None, path_program.fns, state.locks, fr)
            for inv in path_program.invariants:
                try:
                    ref = evaluate(inv.expr, ctx)
                except EvalError as exc:
                    ref = ("error", exc.kind)
                try:
                    fast = cx.compile(inv.expr)(state.globals, {}, None, state.locks, fr)
                except EvalError as exc:
                    fast = ("error", exc.kind)
                assert ref == fast, (inv.name, state)
            for fn in path_program.fns.values():
                if len(fn.params) != 1:
                    continue
                (pname, ptype) = fn.params[0]
                from zbudspec.semantics.types import TInt

                if not isinstance(ptype, TInt) or not ptype.bounded:
                    continue
                assert ptype.lo is not None and ptype.hi is not None
                for v in range(ptype.lo, ptype.hi + 1):
                    c = Ctx(state.globals, {pname: v}, None, path_program.fns)
                    ref = evaluate(fn.body, c)
                    fast = cx.compile(fn.body)(state.globals, {pname: v}, None, (), None)
                    assert ref == fast, (fn.name, v)
