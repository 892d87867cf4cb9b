"""Membership of a set literal of plain integers (`x in {0, 1}`): the z3 engines encode it
as one equality per item, whatever the element type, and agree with the interpreter; a set
literal of unbounded integers anywhere else is a clear 'cannot encode', never a crash."""

from __future__ import annotations

import io

from conftest import SpecFactory

from zbudspec.cli import main
from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.z3_bmc import prove_bmc
from zbudspec.engines.z3_induction import prove_induction

SPEC = """
var x: 0..3 = 0;
op step() {
S1:
  if (x < 2) { x = x + 1; }
  return;
}
invariant small: x in {ITEMS};
client { threads 1; }
"""


def test_membership_of_an_int_literal_agrees_with_the_interpreter(spec: SpecFactory) -> None:
    held = spec.program(SPEC.replace("ITEMS", "0, 1, 2"))
    assert search(held, 6).verdict is Verdict.PROVED
    assert prove_bmc(held, 4).verdict is Verdict.PROVED
    assert prove_induction(held, 2).result.verdict is Verdict.PROVED
    broken = spec.program(SPEC.replace("ITEMS", "0, 2"))
    e, z = search(broken, 4), prove_bmc(broken, 4)
    assert e.verdict is z.verdict is Verdict.VIOLATED
    assert len(e.trace) == len(z.trace) == 1


def test_a_set_of_unbounded_ints_elsewhere_cannot_be_encoded(spec: SpecFactory) -> None:
    text = SPEC.replace("invariant small: x in {ITEMS};",
                        "invariant small: {0, 1} == {x, 1};")
    out, err = io.StringIO(), io.StringIO()
    code = main(["prove", str(spec.path(text)), "--engine", "z3"], out, err)
    assert code == 2, (out.getvalue(), err.getvalue())
    assert "cannot encode" in err.getvalue() and "set literal of int" in err.getvalue()
