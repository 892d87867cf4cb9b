"""The coverage interpreter changes nothing: same outcomes as the interpreter, plus hits."""

from __future__ import annotations

import random

from gen_helpers import SPEC

from zbudspec.conformance.gen_cover import reachable_procs, targets
from zbudspec.conformance.gen_model import Model
from zbudspec.conformance.gen_walk import Walker


def test_covered_outcomes_equal_the_interpreters() -> None:
    m = Model(SPEC)
    w = Walker(m, random.Random(5))
    states = []
    for _ in range(4):
        s = w.concurrent(14)
        if s is not None:
            states += [r.state for r in s.steps if r.state is not None]
    assert len(states) > 20
    for st in states[::3]:
        for t in range(2):
            ops = [None] if st.threads[t] else [op for op in m.program.ops_for(t)]
            for op in ops:
                args_list = [()] if op is None else m.interp.arg_domains[op][:3]
                for args in args_list:
                    mine = m.interp.covered_outcomes(st, t, op, args)
                    ref = m.interp.step_outcomes(st, t, op, args)
                    assert [(c.outcome.state, c.outcome.violation) for c in mine] == \
                        [(o.state, o.violation) for o in ref]


def test_targets_name_every_kind() -> None:
    m = Model(SPEC)
    ts = targets(m.program)
    kinds = {t.split(":", 1)[0] for t in ts}
    assert kinds == {"op", "step", "branch", "either", "choose", "return"}
    assert "zbud_free_locked" in reachable_procs(m.program)  # atomic calls count
    assert len(ts) == len(set(ts))
