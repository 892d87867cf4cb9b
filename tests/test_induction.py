"""`prove --engine z3 --induction`: PROVED means every depth, a counterexample to induction is
shown (replayed by the interpreter) when the invariants are too weak, and lemmas are checked
like invariants, so a false lemma is a violation, never an assumption."""

from __future__ import annotations

import io
import json

from conftest import SpecFactory, counter

from zbudspec.cli import main
from zbudspec.engines.explicit import Verdict
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.z3_induction import prove_induction


def _counter(lemma: str) -> str:
    return counter(lemma)


def test_an_inductive_invariant_is_proved_for_all_depths(spec: SpecFactory) -> None:
    ind = prove_induction(spec.program(_counter("lemma same: x == y;")), 4)
    assert ind.result.verdict is Verdict.PROVED
    assert ind.k == 1 and ind.cti is None


def test_without_the_lemma_a_counterexample_to_induction_is_shown(spec: SpecFactory) -> None:
    program = spec.program(_counter(""))
    ind = prove_induction(program, 3)
    assert ind.result.verdict is Verdict.UNKNOWN
    assert ind.cti is not None
    # it starts in a state the invariants allow, and the interpreter replays the break
    interp = Interpreter(program)
    assert interp.check_invariants(ind.cti.start) is None
    assert ind.cti.violation.kind == "invariant"
    assert len(ind.cti.trace) == ind.cti.k == 3


def test_a_false_lemma_is_a_violation_not_an_assumption(spec: SpecFactory) -> None:
    ind = prove_induction(spec.program(_counter("lemma wrong: x == 0;")), 4)
    assert ind.result.verdict is Verdict.VIOLATED
    assert ind.result.violation is not None and "wrong" in ind.result.violation.message
    assert len(ind.result.trace) == 1


def test_cli_reports_proved_and_the_counterexample_to_induction(spec: SpecFactory) -> None:
    out = io.StringIO()
    good = spec.path(_counter("lemma same: x == y;"), "good.zspec")
    assert main(["prove", str(good), "--engine", "z3", "--induction", "--depth", "3"],
                out, io.StringIO()) == 0
    assert "PROVED for all depths: 1-inductive" in out.getvalue()
    out = io.StringIO()
    weak = spec.path(_counter(""), "weak.zspec")
    assert main(["prove", str(weak), "--engine", "z3", "--induction", "--depth", "2"],
                out, io.StringIO()) == 3
    text = out.getvalue()
    assert "UNKNOWN: not 2-inductive" in text
    assert "counterexample to induction (k=2" in text and "lemma" in text
    out = io.StringIO()
    assert main(["prove", str(weak), "--engine", "z3", "--induction", "--depth", "2",
                 "--json"], out, io.StringIO()) == 3
    doc = json.loads(out.getvalue())
    assert doc["verdict"] == "UNKNOWN" and doc["induction"]["cti"]["k"] == 2
    assert doc["induction"]["cti"]["start"]["y"] <= 3


def test_induction_needs_the_z3_engine(spec: SpecFactory) -> None:
    err = io.StringIO()
    path = spec.path(_counter(""), "c.zspec")
    assert main(["prove", str(path), "--induction"], io.StringIO(), err) == 2
    assert "--induction needs --engine z3" in err.getvalue()


HANDOFF = """
lock a;
var x: 0..1 = 0;
op f() {
S1:
  spin_lock(a);
S2:
  await x == 1;
  x = 0;
  spin_unlock(a);
  return;
}
op g() {
T1:
  x = 1;
  return;
}
client { threads 2; }
lemma no_first_steps: forall t in Thread: !at(t, f.S1) && !at(t, g.T1);
lemma a_held_at_s2: forall t in Thread: holder(a) == t ==> at(t, f.S2);
{LEMMA}
"""


def test_steps_that_block_are_proved_free_of_deadlock_by_induction(spec: SpecFactory) -> None:
    """Steps here can block (a lock, an await), so the step case also asks whether a state
    the invariants allow can be stuck; with the lemmas it cannot, and nothing is reachable
    that the lemmas exclude (explicit search agrees)."""
    program = spec.program(HANDOFF.replace(
        "{LEMMA}", "lemma s2_holds_a: forall t in Thread: at(t, f.S2) ==> holder(a) == t;"))
    ind = prove_induction(program, 3)
    assert ind.result.verdict is Verdict.PROVED, ind.cti
    weak = spec.program(HANDOFF.replace("{LEMMA}", ""))
    ind = prove_induction(weak, 2)
    assert ind.result.verdict is Verdict.UNKNOWN and ind.cti is not None
    assert ind.cti.violation.kind == "lock"  # a thread at S2 that does not hold `a`
    assert Interpreter(weak).check_invariants(ind.cti.start) is None


# x is never set in a reachable state (z stays 0), but the invariants do not say so: from a
# state with x = 1, `run` waits at S2 forever, a deadlock the step case must show.
AWAITING = """
var x: 0..1 = 0;
var y: 0..1 = 0;
var z: 0..1 = 0;
op run() {
S1:
  y = 1;
S2:
  await (x == 0);
  y = 0;
  return;
}
op flip() {
F1:
  if (z == 1) { x = 1; }
  return;
}
invariant small: y <= 1;
{LEMMA}
client { threads 1; }
"""


def test_a_deadlock_the_invariants_allow_is_a_counterexample_to_induction(
        spec: SpecFactory) -> None:
    program = spec.program(AWAITING.replace("{LEMMA}", ""))
    ind = prove_induction(program, 3)
    assert ind.result.verdict is Verdict.UNKNOWN
    assert ind.cti is not None and ind.cti.violation.kind == "deadlock"
    interp = Interpreter(program)
    assert interp.check_invariants(ind.cti.start) is None
    last = ind.cti.trace[-1].state
    assert last is not None and interp.deadlocked(last)  # the interpreter is stuck too


def test_a_lemma_ruling_the_deadlock_out_proves_it(spec: SpecFactory) -> None:
    program = spec.program(AWAITING.replace("{LEMMA}", "lemma never_set: x == 0 && z == 0;"))
    ind = prove_induction(program, 3)
    assert ind.result.verdict is Verdict.PROVED
