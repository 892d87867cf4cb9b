"""`typecheck.checker(t)` agrees with `types.in_type` on every type and value (hypothesis:
generated types, values of them and of other types, bools where ints are expected)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zbudspec.semantics.typecheck import checker
from zbudspec.semantics.types import (
    TBool,
    TEnum,
    TInt,
    TList,
    TMap,
    TOption,
    TRecord,
    TSet,
    Type,
    in_type,
)

_bound = st.one_of(st.none(), st.integers(-3, 3))
_scalar: st.SearchStrategy[Type] = st.one_of(
    st.just(TBool()),
    st.builds(TInt, _bound, _bound),
    st.builds(TEnum, st.just("E"), st.just(("A", "B"))),
)
types: st.SearchStrategy[Type] = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.builds(TOption, inner),
        st.builds(TSet, _scalar),
        st.builds(TList, inner),
        st.builds(TMap, _scalar, inner),
        st.builds(TRecord, st.just("R"),
                  st.lists(inner, max_size=3).map(
                      lambda ts: tuple((f"f{i}", t) for i, t in enumerate(ts)))),
    ),
    max_leaves=6,
)
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["A", "B", "C"]))
values = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(tuple),
                            st.frozensets(_leaf, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=600)
@given(t=types, v=values)
def test_checker_agrees_with_in_type(t: Type, v: object) -> None:
    assert checker(t)(v) == in_type(t, v)


@given(t=types, data=st.data())
def test_checker_on_values_that_nearly_fit(t: Type, data: st.DataObject) -> None:
    """Values built from the type itself (mostly fitting, with bools and ints swapped)."""
    v = data.draw(_value_of(t))
    assert checker(t)(v) == in_type(t, v)


def _value_of(t: Type) -> st.SearchStrategy[object]:
    if isinstance(t, TBool):
        return st.one_of(st.booleans(), st.integers(0, 1))
    if isinstance(t, TInt):
        return st.one_of(st.integers(-4, 4), st.booleans())
    if isinstance(t, TEnum):
        return st.sampled_from([*t.members, "Z", 0])
    if isinstance(t, TOption):
        return st.one_of(st.none(), _value_of(t.inner))
    if isinstance(t, TSet):
        return st.frozensets(_value_of(t.elem), max_size=3)
    if isinstance(t, TList):
        return st.lists(_value_of(t.elem), max_size=3).map(tuple)
    if isinstance(t, TMap):
        return st.lists(_value_of(t.value), max_size=3).map(tuple)
    assert isinstance(t, TRecord)
    return st.tuples(*(_value_of(ft) for _, ft in t.fields))
