"""The bounded z3 engine's strengthening (Houdini, z3_houdini.py): the invariants and lemmas
that no step can break are theorems, assumed at every depth; when every property is one the
verdict is PROVED. It never hides a violation, and never proves what search can refute."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SpecFactory, counter

from zbudspec.cli import main
from zbudspec.engines import z3_num as num
from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.z3_bmc import BMC, prove_bmc
from zbudspec.engines.z3_houdini import strengthen
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.zspec"))


def _counter(lemma: str) -> str:
    return counter(lemma, threads=2)


def _proved(program: ir.Program) -> frozenset[str]:
    bmc = BMC(program)
    with num.use(bmc.num):
        bmc.begin()
        return strengthen(bmc).proved


def test_an_inductive_set_is_proved_and_the_bound_does_not_matter(spec: SpecFactory) -> None:
    program = spec.program(_counter("lemma same: x == y;"))
    assert _proved(program) == {"bounded", "same", "fault", "deadlock"}
    res = prove_bmc(program, 3)
    assert res.verdict is Verdict.PROVED
    assert "bounded, same" in res.reason and "no step faults" in res.reason


def test_an_invariant_a_step_can_break_is_not_assumed(spec: SpecFactory) -> None:
    program = spec.program(_counter(""))
    assert "bounded" not in _proved(program)
    res = prove_bmc(program, 4)
    assert res.verdict is Verdict.NO_VIOLATION  # within the bound only
    assert "no invariant" in res.reason
    assert res.reason.endswith("counterexample to induction): bounded")


def test_a_false_lemma_is_dropped_and_found_violated(spec: SpecFactory) -> None:
    # x <= 1 holds initially but a step breaks it: Houdini drops it, the search refutes it
    program = spec.program(_counter("lemma small: x <= 1;\nlemma same: x == y;"))
    assert "small" not in _proved(program)
    res = prove_bmc(program, 4)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and "small" in res.violation.message
    assert len(res.trace) == 2


def test_the_strengthening_drops_what_the_dropped_ones_supported(spec: SpecFactory) -> None:
    # `bounded` is inductive only with `same`; `same` only with `tied`, which a step breaks
    text = _counter("lemma same: x == y || z == 1;\nlemma tied: z == 0;").replace(
        "var y: 0..7 = 0;", "var y: 0..7 = 0;\nvar z: 0..1 = 0;").replace(
        "x = x + 1; y = y + 1; }", "x = x + 1; y = y + 1; z = 1 - z; }")
    proved = _proved(spec.program(text))
    assert not proved & {"bounded", "same", "tied"}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_what_houdini_proves_no_search_refutes(path: Path) -> None:
    """Every invariant it proves holds in every state an exhaustive search reaches, and
    "fault" and "deadlock" the same; the verdict is unchanged by strengthening."""
    program = frontend(path, Options()).program
    assert program is not None
    proved = _proved(program)
    for inv in program.invariants:
        if inv.name in proved:
            only = replace(program, invariants=(inv,))
            truth = search(only, 60)
            assert truth.verdict in (Verdict.PROVED, Verdict.VIOLATED)
            if truth.violation is not None:
                assert truth.violation.kind != "invariant", inv.name
    truth = search(program, 60)
    if truth.violation is not None and truth.violation.kind == "deadlock":
        assert "deadlock" not in proved
    elif truth.violation is not None and truth.violation.kind != "invariant":
        assert "fault" not in proved  # an assertion, lock or range fault is reachable
    plain = prove_bmc(program, 8, coverage=False, strengthen_s=None)
    strong = prove_bmc(program, 8, coverage=False)
    assert (plain.verdict is Verdict.VIOLATED) == (strong.verdict is Verdict.VIOLATED)
    assert len(plain.trace) == len(strong.trace)
    if strong.verdict is Verdict.PROVED:
        assert truth.verdict is Verdict.PROVED


def test_cli_says_proved_and_what_is_inductive(spec: SpecFactory) -> None:
    path = spec.path(_counter("lemma same: x == y;"))
    out, err = io.StringIO(), io.StringIO()
    rc = main(["prove", str(path), "--engine", "z3", "--depth", "3"], out, err)
    assert rc == 0
    assert "PROVED for all depths" in out.getvalue()
    assert "bounded, same" in out.getvalue()
    out = io.StringIO()
    rc = main(["prove", str(path), "--engine", "z3", "--depth", "3", "--strengthen", "0"],
              out, err)
    assert rc == 0
    assert "NO VIOLATION within depth 3" in out.getvalue()


def test_out_of_budget_or_given_up_proves_nothing(spec: SpecFactory) -> None:
    """A fixpoint not reached proves nothing: the set is only known inductive there."""
    program = spec.program(_counter("lemma same: x == y;"))
    bmc = BMC(program)
    with num.use(bmc.num):
        bmc.begin()
        h = strengthen(bmc, budget_s=1e-9)
    assert h.proved == frozenset() and "ran out of its" in h.note
    starved = BMC(program, rlimit=1)  # every query meets its resource limit
    with num.use(starved.num):
        starved.begin()
        h = strengthen(starved)
    assert h.proved == frozenset() and "gave up" in h.note
