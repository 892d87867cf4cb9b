"""The z3 step encoder leaves out a range check only where the interpreter's always passes:
a stored value of a type within the target's (types.within). A copy that can leave the
target's range is still a range fault, found by both engines at the same depth."""

from __future__ import annotations

from conftest import SpecFactory

from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.z3_bmc import prove_bmc
from zbudspec.semantics.types import TBool, TEnum, TInt, TMap, TNoneLit, TOption, within


def test_within_is_containment_of_ranges_through_options_and_maps() -> None:
    page, wide = TInt(0, 1), TInt(0, 7)
    assert within(page, wide) and not within(wide, page)
    assert within(page, TOption(page)) and within(TNoneLit(), TOption(page))
    assert not within(TOption(wide), TOption(page))
    assert within(TMap(page, page), TMap(page, wide))
    assert not within(TMap(page, wide), TMap(page, page))
    assert within(TInt(2, 3), TInt(None, None)) and not within(TInt(None, 3), TInt(0, 3))
    errno = TEnum("Errno", ("OK", "ENOENT"))
    assert within(errno, errno) and within(TBool(), TBool())
    assert not within(errno, TEnum("Other", ("OK", "ENOENT")))


COPY = """
var big: 0..7 = 0;
var small: 0..3 = 0;
var same: 0..3 = 0;
op grow() {
S1:
  big = big + 2;
  same = small;     // within 0..3: no check needed
  small = big;      // 0..7 into 0..3: a range fault once big reaches 4
  return;
}
client { threads 1; }
"""


def test_a_copy_that_leaves_the_range_is_a_fault_for_both_engines(spec: SpecFactory) -> None:
    program = spec.program(COPY)
    e, z = search(program, 5), prove_bmc(program, 5)
    assert e.verdict is z.verdict is Verdict.VIOLATED
    assert e.violation is not None and z.violation is not None
    assert e.violation.kind == z.violation.kind == "range"
    assert len(e.trace) == len(z.trace) == 2
