"""k-induction on the bundled spec and its lemmas (docs/decisions.md D70).

The bundled spec cannot be PROVED for all depths: it has real violations in writeback's
W3..W4 window (D7; `tests/traces/v3-load-bug-in-writeback-window.json`, depth 13). Its lemmas
leave induction nothing else: with the window closed (`tests/induction/pin-until-free.zspec`,
writeback unlocks its swap-cache page only after its final zbud_free) every invariant is
1-inductive. no-mapcount's race must never be PROVED away."""

from __future__ import annotations

from pathlib import Path

from conftest import NO_MAPCOUNT, bundled

from zbudspec.engines.explicit import Verdict
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.z3_induction import prove_induction

PIN_UNTIL_FREE = Path(__file__).parent / "induction" / "pin-until-free.zspec"


def test_with_the_window_closed_the_lemmas_make_every_invariant_1_inductive() -> None:
    # one offset keeps the test short; the default config (two offsets) is PROVED too, in
    # minutes (README, "Proving the bundled spec for all depths")
    p = bundled(path=PIN_UNTIL_FREE, defines=(("NOFFSETS", "1"),))
    ind = prove_induction(p, 1)
    assert ind.result.verdict is Verdict.PROVED, ind.result.reason
    assert ind.k == 1 and ind.cti is None


def test_the_bundled_spec_is_not_proved_its_cti_lies_in_the_writeback_window() -> None:
    p = bundled()
    ind = prove_induction(p, 1)
    assert ind.result.verdict is Verdict.UNKNOWN
    cti = ind.cti
    assert cti is not None and cti.k == 1
    # a state every invariant and lemma allows, from which a zswap BUG_ON or assertion
    # fails: a free that the window let through while the buddy was mapped or fresh
    assert Interpreter(p).check_invariants(cti.start) is None
    assert cti.violation.kind == "assertion", cti.violation


def test_no_mapcount_is_not_proved() -> None:
    ind = prove_induction(bundled(path=NO_MAPCOUNT), 1)
    assert ind.result.verdict is not Verdict.PROVED
