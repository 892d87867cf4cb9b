"""`types.in_type` built once per type into a function: the interpreter checks every value
it stores, and walking the type on each check was a large part of a step's time.
`checker(t)(v) == in_type(t, v)` for every type and value (tests/test_typecheck.py)."""

from __future__ import annotations

from collections.abc import Callable

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
    Value,
)

Check = Callable[[Value], bool]


def checker(t: Type) -> Check:
    """A function telling whether a value fits `t`, as `in_type(t, v)` does."""
    if isinstance(t, TInt):
        return _int_check(t.lo, t.hi)
    if isinstance(t, TBool):
        return lambda v: v.__class__ is bool
    if isinstance(t, TEnum):
        members = frozenset(t.members)
        return lambda v: isinstance(v, str) and v in members
    if isinstance(t, TOption):
        inner = checker(t.inner)
        return lambda v: v is None or inner(v)
    if isinstance(t, TRecord):
        fields = tuple(checker(ft) for _, ft in t.fields)
        n = len(fields)
        return lambda v: (isinstance(v, tuple) and len(v) == n
                          and all(f(x) for f, x in zip(fields, v, strict=True)))
    if isinstance(t, TMap):
        value = checker(t.value)
        return lambda v: isinstance(v, tuple) and all(value(x) for x in v)
    if isinstance(t, TSet):
        elem = checker(t.elem)
        return lambda v: isinstance(v, frozenset) and all(elem(x) for x in v)
    if isinstance(t, TList):
        elem = checker(t.elem)
        return lambda v: isinstance(v, tuple) and all(elem(x) for x in v)
    return lambda v: True


def _int_check(lo: int | None, hi: int | None) -> Check:
    def fits(v: Value) -> bool:
        if not isinstance(v, int) or v.__class__ is bool:
            return False
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    if lo is not None and hi is not None:
        def fits_range(v: Value) -> bool:
            return isinstance(v, int) and v.__class__ is not bool and lo <= v <= hi
        return fits_range
    return fits
