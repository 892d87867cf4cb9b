"""Minimised counterexamples (zbudspec/minimise.py): padded traces of the no-mapcount race and
of corpus specs shrink to violations of the same kind from which nothing can be removed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zbudspec.engines.explicit import TraceStep, search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State, Violation
from zbudspec.minimise import (
    MinimiseError,
    deadlock_violation,
    minimise,
    removable,
    violation_key,
)
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options

ROOT = Path(__file__).resolve().parent.parent
NO_MAPCOUNT = ROOT / "spec" / "variants" / "no-mapcount.zspec"
CORPUS = ROOT / "tests" / "corpus"

# (thread, operation to start or None to continue, arguments, preferred picks)
Script = Sequence[tuple[int, str | None, tuple[object, ...], dict[str, str]]]


def load(path: Path, config: str | None = None) -> ir.Program:
    result = frontend(path, Options((), config, None))
    assert result.program is not None, [d.message for d in result.diagnostics]
    return result.program


def build(program: ir.Program, script: Script) -> tuple[State, list[TraceStep], Violation]:
    """Run a script step by step, taking the outcome whose picks match the preferences."""
    interp = Interpreter(program)
    init = state = interp.initial()
    trace: list[TraceStep] = []
    for n, (t, op, args, prefer) in enumerate(script, start=1):
        outs = interp.step_outcomes(state, t, op, args)
        outs = [o for o in outs if all(p.value == prefer[p.what]
                                       for p in o.transition.picks if p.what in prefer)]
        assert outs, f"script step {n}: thread {t} cannot run {op or 'its next step'}"
        o = outs[0]
        trace.append(TraceStep(o.transition, o.state))
        if o.violation is not None:
            assert n == len(script), f"script step {n} violates early: {o.violation.message}"
            return init, trace, o.violation
        assert o.state is not None
        state = o.state
    assert interp.deadlocked(state), "the script ends without a violation"
    return init, trace, deadlock_violation(program, state)


def check_minimal(program: ir.Program, init: State, trace: list[TraceStep],
                  violation: Violation) -> list[TraceStep]:
    m = minimise(program, init, trace, violation)
    assert violation_key(m.violation) == violation_key(violation)
    assert len(m.trace) + len(m.removed) == len(trace) == m.original_length
    assert removable(program, init, m.trace, m.violation) == []
    kept = [trace[i].transition for i in range(len(trace)) if i not in m.removed]
    # thread ids, steps and picks are the original's
    assert [(t.thread, t.proc, t.label, t.picks) for t in kept] == \
        [(s.transition.thread, s.transition.proc, s.transition.label, s.transition.picks)
         for s in m.trace]
    again = minimise(program, init, m.trace, m.violation)
    assert again.trace == m.trace and again.removed == ()
    return m.trace


# ---- the seed's race (no-mapcount), padded with operations it does not need

STORE, LOAD, INVAL = ("zswap_frontswap_store", "zswap_frontswap_load",
                      "zswap_frontswap_invalidate_page")
NEW = {"choose outcome": "NEW", "either": "branch 1"}
FIRST = {"either": "branch 1"}


def _store(t: int, offset: int) -> Script:
    return [(t, STORE, (offset, 1, 0), FIRST)] + [(t, None, (), FIRST)] * 4


RACE: Script = [
    *_store(0, 0),                        # offset 0 stored on page 0
    (0, STORE, (1, 1, 0), FIRST),         # the pool is full: the store reclaims ...
    (0, None, (), FIRST),                 # R1: page 0's offset 0 captured, lock dropped
    (0, None, (), NEW),                   # W1: writeback maps offset 0
    (1, INVAL, (0,), {}),                 # invalidate frees it under the mapping
]

PADDED: Script = [
    (1, LOAD, (1,), {}),                  # a miss
    *_store(1, 1),                        # store and invalidate offset 1: back to the start
    (1, INVAL, (1,), {}),
    *_store(0, 0),
    (1, LOAD, (0,), {}),                  # a load of offset 0, interleaved
    (1, None, (), {}),
    (1, "zbud_migrate_page", (1,), {}),   # page 1 is no zbud page: EINVAL
    *RACE[5:8],
    (1, INVAL, (0,), {}),
]


def test_race_padded_shrinks_to_the_race() -> None:
    program = load(NO_MAPCOUNT, "default")
    init, trace, v = build(program, PADDED)
    assert v.name == "no_free_while_mapped"
    kept = check_minimal(program, init, trace, v)
    _, race, _ = build(program, RACE)
    assert [ts.transition for ts in kept] == [ts.transition for ts in race]


def test_shortest_trace_of_the_explicit_engine_is_already_minimal() -> None:
    program = load(NO_MAPCOUNT, "default")
    init, race, v = build(program, RACE)
    m = minimise(program, init, race, v)
    assert m.removed == () and "minimal" in m.summary


def test_whole_operations_go_first_and_the_summary_counts_steps() -> None:
    program = load(NO_MAPCOUNT, "default")
    init, trace, v = build(program, PADDED)
    m = minimise(program, init, trace, v)
    assert m.summary == f"minimised from {len(PADDED)} to {len(RACE)} steps"
    assert m.removed == (*range(7), 12, 13, 14)


def test_not_a_violation_or_another_one_is_refused() -> None:
    program = load(NO_MAPCOUNT, "default")
    init, trace, v = build(program, RACE)
    with pytest.raises(MinimiseError):
        minimise(program, init, trace[:-1])
    other = Violation("assertion", "x", v.span)
    with pytest.raises(MinimiseError):
        minimise(program, init, trace, other)


# ---- corpus specs


def test_deadlock_padded_shrinks_to_ab_ba() -> None:
    program = load(CORPUS / "deadlock.zspec")
    script: Script = [(0, "ab", (), {}), (0, None, (), {}), (1, "ba", (), {}),
                      (1, None, (), {}), (0, "ab", (), {}), (1, "ba", (), {})]
    init, trace, v = build(program, script)
    kept = check_minimal(program, init, trace, v)
    assert [(s.transition.thread, s.transition.label) for s in kept] == [(0, "S1"), (1, "T1")]


def test_lost_update_padded_with_a_whole_increment() -> None:
    program = load(CORPUS / "lost-update.zspec")
    script: Script = [(1, "inc", (), {}), (1, None, (), {}), (0, "inc", (), {}),
                      (1, "inc", (), {}), (0, None, (), {}), (1, None, (), {})]
    init, trace, v = build(program, script)
    assert v.kind == "assertion"
    kept = check_minimal(program, init, trace, v)
    assert len(kept) == 4


def _random_run(program: ir.Program, schedule: list[tuple[int, int]]
                ) -> tuple[State, list[TraceStep], Violation] | None:
    """Follow a schedule of (thread, outcome choice) until a violation; None if none."""
    interp = Interpreter(program)
    init = state = interp.initial()
    trace: list[TraceStep] = []
    for t, k in schedule:
        t %= program.client.threads
        outs = list(interp.thread_successors(state, t))
        if not outs:
            continue
        o = outs[k % len(outs)]
        trace.append(TraceStep(o.transition, o.state))
        if o.violation is not None:
            return init, trace, o.violation
        assert o.state is not None
        state = o.state
        if interp.deadlocked(state):
            return init, trace, deadlock_violation(program, state)
    return None


@pytest.mark.parametrize("name", ["lost-update", "range", "list-corruption", "deadlock",
                                  "lock-counter"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(schedule=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 7)), max_size=14))
def test_random_violating_runs_minimise(name: str, schedule: list[tuple[int, int]]) -> None:
    program = load(CORPUS / f"{name}.zspec")
    run = _random_run(program, schedule)
    assume(run is not None)
    assert run is not None
    init, trace, v = run
    kept = check_minimal(program, init, trace, v)
    shortest = search(program, len(trace))
    assert len(kept) >= len(shortest.trace)
