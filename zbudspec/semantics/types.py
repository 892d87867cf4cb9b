"""Semantic types of the checked spec, with the finite domains engines enumerate.

Values at run time are plain, hashable Python data:
bool -> bool, ints -> int, enums -> str (member name; members are globally unique), option T ->
None or a T value, records -> tuple of field values in declaration order, maps -> tuple indexed
by key position, sets -> frozenset, lists -> tuple (distinct elements, head first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Value = object


@dataclass(frozen=True, slots=True)
class TBool:
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True, slots=True)
class TInt:
    lo: int | None = None
    hi: int | None = None
    name: str | None = None  # the declared name (`Page`), for messages only

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    def __str__(self) -> str:
        if self.name:
            return self.name
        return "int" if not self.bounded else f"{self.lo}..{self.hi}"


@dataclass(frozen=True, slots=True)
class TEnum:
    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class TOption:
    inner: Type

    def __str__(self) -> str:
        return f"option {self.inner}"


@dataclass(frozen=True, slots=True)
class TSet:
    elem: Type

    def __str__(self) -> str:
        return f"set of {self.elem}"


@dataclass(frozen=True, slots=True)
class TList:
    elem: Type

    def __str__(self) -> str:
        return f"list of {self.elem}"


@dataclass(frozen=True, slots=True)
class TMap:
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"map[{self.key}] of {self.value}"


@dataclass(frozen=True, slots=True)
class TRecord:
    name: str
    fields: tuple[tuple[str, Type], ...]

    def field_index(self, name: str) -> int | None:
        for i, (n, _) in enumerate(self.fields):
            if n == name:
                return i
        return None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class TNoneLit:
    """The type of `none` before it meets an option type."""

    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True, slots=True)
class TEmpty:
    """The type of `{}` or `[]` before it meets a set or list type."""

    kind: str  # "set" or "list"

    def __str__(self) -> str:
        return "{}" if self.kind == "set" else "[]"


Type = Union[TBool, TInt, TEnum, TOption, TSet, TList, TMap, TRecord, TNoneLit, TEmpty]

BOOL = TBool()
INT = TInt()

ERRNO = TEnum(
    "Errno",
    ("OK", "EINVAL", "ENOSPC", "ENOMEM", "EEXIST", "ENOENT", "EFAULT", "EAGAIN", "ENODEV",
     "EBUSY"),
)


def same(a: Type, b: Type) -> bool:
    """Structural type equality, ignoring integer bounds (checked at run time)."""
    if isinstance(a, TInt) and isinstance(b, TInt):
        return True
    if isinstance(a, TOption) and isinstance(b, TOption):
        return same(a.inner, b.inner)
    if isinstance(a, TSet) and isinstance(b, TSet):
        return same(a.elem, b.elem)
    if isinstance(a, TList) and isinstance(b, TList):
        return same(a.elem, b.elem)
    if isinstance(a, TMap) and isinstance(b, TMap):
        return same(a.key, b.key) and same(a.value, b.value)
    return a == b


def assignable(src: Type, dst: Type) -> bool:
    """Can a value of type `src` be stored where `dst` is expected (with implicit `some`)?"""
    if same(src, dst):
        return True
    if isinstance(dst, TOption):
        return isinstance(src, TNoneLit) or assignable(src, dst.inner)
    if isinstance(src, TEmpty):
        return (src.kind == "set" and isinstance(dst, TSet)) or (
            src.kind == "list" and isinstance(dst, TList))
    return False


def within(src: Type, dst: Type) -> bool:
    """Every value of type `src` (coerced, as an assignment does) is a value of `dst`:
    `assignable` with the integer bounds taken into account."""
    if isinstance(dst, TOption):
        if isinstance(src, TOption):
            return within(src.inner, dst.inner)
        return isinstance(src, TNoneLit) or within(src, dst.inner)
    if isinstance(src, TInt) and isinstance(dst, TInt):
        return (dst.lo is None or (src.lo is not None and src.lo >= dst.lo)) and \
            (dst.hi is None or (src.hi is not None and src.hi <= dst.hi))
    if isinstance(src, TRecord) and isinstance(dst, TRecord):
        return len(src.fields) == len(dst.fields) and all(
            a == b and within(s, d) for (a, s), (b, d) in zip(src.fields, dst.fields,
                                                              strict=True))
    if isinstance(src, TMap) and isinstance(dst, TMap):
        return src.key == dst.key and within(src.value, dst.value)
    return isinstance(src, TBool | TEnum) and src == dst


def comparable(a: Type, b: Type) -> bool:
    return assignable(a, b) or assignable(b, a)


def is_finite(t: Type) -> bool:
    if isinstance(t, TBool | TEnum):
        return True
    if isinstance(t, TInt):
        return t.bounded
    if isinstance(t, TOption | TSet | TList):
        inner = t.inner if isinstance(t, TOption) else t.elem
        return is_finite(inner)
    if isinstance(t, TMap):
        return is_finite(t.key) and is_finite(t.value)
    if isinstance(t, TRecord):
        return all(is_finite(ft) for _, ft in t.fields)
    return False


def is_key_type(t: Type) -> bool:
    """Types that can index a map, be quantified over, or be a `for`/`choose` domain."""
    return isinstance(t, TBool | TEnum) or (isinstance(t, TInt) and t.bounded)


def domain_values(t: Type) -> tuple[Value, ...]:
    if isinstance(t, TBool):
        return (False, True)
    if isinstance(t, TEnum):
        return t.members
    if isinstance(t, TInt) and t.lo is not None and t.hi is not None:
        return tuple(range(t.lo, t.hi + 1))
    raise ValueError(f"not a finite key type: {t}")


def key_position(t: Type, key: Value) -> int | None:
    """Position of `key` in the domain of `t`, or None when outside it."""
    if isinstance(t, TInt):
        assert t.lo is not None and t.hi is not None
        if isinstance(key, bool) or not isinstance(key, int) or not t.lo <= key <= t.hi:
            return None
        return key - t.lo
    if isinstance(t, TBool):
        return int(key) if isinstance(key, bool) else None
    if isinstance(t, TEnum):
        try:
            return t.members.index(key)
        except ValueError:
            return None
    return None


def in_type(t: Type, v: Value) -> bool:
    """Does a value fit the type's bounds (ints in range, options of fitting values...)?"""
    if isinstance(t, TInt):
        if not isinstance(v, int) or isinstance(v, bool):
            return False
        return (t.lo is None or v >= t.lo) and (t.hi is None or v <= t.hi)
    if isinstance(t, TBool):
        return isinstance(v, bool)
    if isinstance(t, TEnum):
        return isinstance(v, str) and v in t.members
    if isinstance(t, TOption):
        return v is None or in_type(t.inner, v)
    if isinstance(t, TRecord):
        return isinstance(v, tuple) and len(v) == len(t.fields) and all(
            in_type(ft, fv) for (_, ft), fv in zip(t.fields, v, strict=True))
    if isinstance(t, TMap):
        return isinstance(v, tuple) and all(in_type(t.value, x) for x in v)
    if isinstance(t, TSet):
        return isinstance(v, frozenset) and all(in_type(t.elem, x) for x in v)
    if isinstance(t, TList):
        return isinstance(v, tuple) and all(in_type(t.elem, x) for x in v)
    return True


def show_value(t: Type, v: Value) -> str:
    """Render a value the way the spec writes it."""
    if v is None:
        return "none"
    if isinstance(t, TOption):
        return show_value(t.inner, v)
    if isinstance(t, TBool):
        return "true" if v else "false"
    if isinstance(t, TRecord):
        assert isinstance(v, tuple)
        inner = ", ".join(f"{n}: {show_value(ft, fv)}"
                          for (n, ft), fv in zip(t.fields, v, strict=True))
        return f"{t.name} {{ {inner} }}"
    if isinstance(t, TMap):
        assert isinstance(v, tuple)
        keys = domain_values(t.key)
        inner = ", ".join(f"{show_value(t.key, k)}: {show_value(t.value, x)}"
                          for k, x in zip(keys, v, strict=True))
        return f"[{inner}]"
    if isinstance(t, TSet):
        assert isinstance(v, frozenset)
        return "{" + ", ".join(sorted(show_value(t.elem, x) for x in v)) + "}"
    if isinstance(t, TList):
        assert isinstance(v, tuple)
        return "[" + ", ".join(show_value(t.elem, x) for x in v) + "]"
    return str(v)
