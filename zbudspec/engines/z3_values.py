"""Symbolic values for the z3 engine: every spec type as a bundle of z3 terms.

bool -> Bool; integers and enums -> a number of the encoding's sort (`z3_num`: Int or
a bit-vector; an enum by member position); option T ->
`SOpt(some, value)`; records -> `SRec`; maps over a finite key type -> `SMap` (one value per
key); sets -> `SSet` (one Bool per element); lists of distinct elements -> `SList` (each
element's position, -1 when absent, plus the length), so list_add, list_del and list_first
are position arithmetic. `wf` states what a well-formed value of a type is; `concrete` reads a
value back from a model in the interpreter's representation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import z3

from zbudspec.engines import z3_num as num
from zbudspec.engines.z3_terms import if_
from zbudspec.semantics.types import (
    TBool,
    TEnum,
    TInt,
    TList,
    TMap,
    TNoneLit,
    TOption,
    TRecord,
    TSet,
    Type,
    Value,
    domain_values,
)


class Unsupported(Exception):
    """A construct the z3 engine cannot encode (reported to the user, never guessed)."""


@dataclass(frozen=True)
class SOpt:
    some: z3.BoolRef
    value: Sym


@dataclass(frozen=True)
class SRec:
    fields: tuple[Sym, ...]


@dataclass(frozen=True)
class SMap:
    items: tuple[Sym, ...]


@dataclass(frozen=True)
class SSet:
    members: tuple[z3.BoolRef, ...]


@dataclass(frozen=True)
class SList:
    pos: tuple[Any, ...]  # numbers of the encoding's sort (z3_num)
    length: Any


# z3's Python API is untyped (Any to mypy); a symbolic value is one of: a z3 Bool or Int
# term, SOpt, SRec, SMap, SSet, SList.
Sym = Any

_counter = itertools.count()


def _enum_index(t: TEnum, v: Value) -> int:
    return t.members.index(v)


def key_index(t: Type, v: Value) -> int:
    """Position of a concrete key value in its finite domain."""
    return list(domain_values(t)).index(v)


def key_code(t: Type, v: Value) -> int:
    """The Int a key value is encoded as (ints themselves; enums by position)."""
    if isinstance(t, TEnum):
        return _enum_index(t, v)
    if isinstance(t, TBool):
        raise Unsupported("bool-keyed maps and bool domains in z3 encoding")
    assert isinstance(v, int)
    return v


def const(t: Type, v: Value) -> Sym:
    """The symbolic form of a concrete value."""
    if isinstance(t, TBool):
        return z3.BoolVal(bool(v))
    if isinstance(t, TInt):
        assert isinstance(v, int)
        return num.val(v)
    if isinstance(t, TEnum):
        return num.val(_enum_index(t, v))
    if isinstance(t, TOption):
        if v is None:
            return SOpt(z3.BoolVal(False), default(t.inner))
        return SOpt(z3.BoolVal(True), const(t.inner, v))
    if isinstance(t, TRecord):
        assert isinstance(v, tuple)
        return SRec(tuple(const(ft, fv) for (_, ft), fv in zip(t.fields, v, strict=True)))
    if isinstance(t, TMap):
        assert isinstance(v, tuple)
        return SMap(tuple(const(t.value, x) for x in v))
    if isinstance(t, TSet):
        assert isinstance(v, frozenset)
        return SSet(tuple(z3.BoolVal(x in v) for x in domain_values(t.elem)))
    if isinstance(t, TList):
        assert isinstance(v, tuple)
        pos = tuple(num.val(v.index(x) if x in v else -1) for x in domain_values(t.elem))
        return SList(pos, num.val(len(v)))
    raise Unsupported(f"type {t}")


def default(t: Type) -> Sym:
    """Some value of the type (the payload of `none`)."""
    if isinstance(t, TBool):
        return z3.BoolVal(False)
    if isinstance(t, TInt):
        return num.val(t.lo if t.lo is not None else 0)
    if isinstance(t, TEnum):
        return num.val(0)
    if isinstance(t, TOption):
        return SOpt(z3.BoolVal(False), default(t.inner))
    if isinstance(t, TRecord):
        return SRec(tuple(default(ft) for _, ft in t.fields))
    if isinstance(t, TMap):
        return SMap(tuple(default(t.value) for _ in domain_values(t.key)))
    if isinstance(t, TSet):
        return SSet(tuple(z3.BoolVal(False) for _ in domain_values(t.elem)))
    if isinstance(t, TList):
        return SList(tuple(num.val(-1) for _ in domain_values(t.elem)), num.val(0))
    raise Unsupported(f"type {t}")


def fresh(t: Type, name: str) -> Sym:
    """Fresh unconstrained variables shaped like the type (constrain them with `wf`)."""
    n = f"{name}!{next(_counter)}"
    if isinstance(t, TBool):
        return z3.Bool(n)
    if isinstance(t, TInt):
        return num.var(n, t.lo, t.hi)
    if isinstance(t, TEnum):
        return num.var(n, 0, len(t.members) - 1)
    if isinstance(t, TOption):
        return SOpt(z3.Bool(n + ".some"), fresh(t.inner, n + ".val"))
    if isinstance(t, TRecord):
        return SRec(tuple(fresh(ft, f"{n}.{fn}") for fn, ft in t.fields))
    if isinstance(t, TMap):
        return SMap(tuple(fresh(t.value, f"{n}[{k}]") for k in domain_values(t.key)))
    if isinstance(t, TSet):
        return SSet(tuple(z3.Bool(f"{n}{{{k}}}") for k in domain_values(t.elem)))
    if isinstance(t, TList):
        size = len(domain_values(t.elem))
        return SList(tuple(num.var(f"{n}@{k}", -1, size - 1) for k in domain_values(t.elem)),
                     num.var(n + ".len", 0, size))
    raise Unsupported(f"type {t}")


def wf(t: Type, s: Sym) -> z3.BoolRef:
    """The value is a well-formed member of the type."""
    if isinstance(t, TBool):
        return z3.BoolVal(True)
    if isinstance(t, TInt):
        x: Any = s
        parts = []
        if t.lo is not None:
            parts.append(x >= t.lo)
        if t.hi is not None:
            parts.append(x <= t.hi)
        return z3.And(*parts) if parts else z3.BoolVal(True)
    if isinstance(t, TEnum):
        x = s
        return z3.And(x >= 0, x < len(t.members))
    if isinstance(t, TOption):
        assert isinstance(s, SOpt)
        # a none carries its default payload, so that equal options are equal terms
        return z3.If(s.some, wf(t.inner, s.value), eq(t.inner, s.value, default(t.inner)))
    if isinstance(t, TRecord):
        assert isinstance(s, SRec)
        return z3.And(*[wf(ft, fv) for (_, ft), fv in zip(t.fields, s.fields, strict=True)])
    if isinstance(t, TMap):
        assert isinstance(s, SMap)
        return z3.And(*[wf(t.value, x) for x in s.items])
    if isinstance(t, TSet):
        return z3.BoolVal(True)
    if isinstance(t, TList):
        assert isinstance(s, SList)
        n = len(s.pos)
        conds: list[Any] = [s.length >= 0, s.length <= n]
        for i, p in enumerate(s.pos):
            conds.append(z3.And(p >= -1, p < s.length))
            for q in s.pos[i + 1:]:
                conds.append(z3.Or(p < 0, p != q))
        # the positions of present elements are exactly 0..length-1
        conds.append(num.count([p >= 0 for p in s.pos]) == s.length)
        return z3.And(*conds)
    raise Unsupported(f"type {t}")


def leaves(s: Sym) -> list[Any]:
    """The z3 terms a symbolic value is made of, in a fixed order."""
    if isinstance(s, SOpt):
        return [s.some, *leaves(s.value)]
    if isinstance(s, SRec):
        return [x for f in s.fields for x in leaves(f)]
    if isinstance(s, SMap):
        return [x for i in s.items for x in leaves(i)]
    if isinstance(s, SSet):
        return list(s.members)
    if isinstance(s, SList):
        return [*s.pos, s.length]
    return [s]


def atoms(s: Sym) -> list[Any]:
    """The z3 variables a value made by `fresh` is built on, in the order of `leaves`:
    what a substitution replaces (a leaf may be a narrow variable's extension)."""
    return [x if z3.is_bool(x) else num.atom(x) for x in leaves(s)]


def remap(s: Sym, f: Any) -> Sym:
    """The same value with `f` applied to every z3 term in it."""
    if isinstance(s, SOpt):
        return SOpt(f(s.some), remap(s.value, f))
    if isinstance(s, SRec):
        return SRec(tuple(remap(x, f) for x in s.fields))
    if isinstance(s, SMap):
        return SMap(tuple(remap(x, f) for x in s.items))
    if isinstance(s, SSet):
        return SSet(tuple(f(x) for x in s.members))
    if isinstance(s, SList):
        return SList(tuple(f(x) for x in s.pos), f(s.length))
    return f(s)


def fits(t: Type, s: Sym) -> z3.BoolRef:
    """The value lies within the type's bounds (the interpreter's `in_type`): integer ranges,
    enum members, and the same for what options, records, maps, sets and lists contain."""
    if isinstance(t, TInt | TEnum):
        return wf(t, s)
    if isinstance(t, TOption):
        assert isinstance(s, SOpt)
        return z3.Implies(s.some, fits(t.inner, s.value))
    if isinstance(t, TRecord):
        assert isinstance(s, SRec)
        return z3.And(*[fits(ft, fv) for (_, ft), fv in zip(t.fields, s.fields, strict=True)])
    if isinstance(t, TMap):
        assert isinstance(s, SMap)
        return z3.And(*[fits(t.value, x) for x in s.items])
    return z3.BoolVal(True)


def eq(t: Type, a: Sym, b: Sym) -> z3.BoolRef:
    if isinstance(t, TBool | TInt | TEnum | TNoneLit):
        return a == b
    if isinstance(t, TOption):
        assert isinstance(a, SOpt) and isinstance(b, SOpt)
        return z3.And(a.some == b.some, z3.Implies(a.some, eq(t.inner, a.value, b.value)))
    if isinstance(t, TRecord):
        assert isinstance(a, SRec) and isinstance(b, SRec)
        return z3.And(*[eq(ft, x, y) for (_, ft), x, y in zip(t.fields, a.fields, b.fields,
                                                               strict=True)])
    if isinstance(t, TMap):
        assert isinstance(a, SMap) and isinstance(b, SMap)
        return z3.And(*[eq(t.value, x, y) for x, y in zip(a.items, b.items, strict=True)])
    if isinstance(t, TSet):
        assert isinstance(a, SSet) and isinstance(b, SSet)
        return z3.And(*[x == y for x, y in zip(a.members, b.members, strict=True)])
    if isinstance(t, TList):
        assert isinstance(a, SList) and isinstance(b, SList)
        return z3.And(a.length == b.length,
                      *[x == y for x, y in zip(a.pos, b.pos, strict=True)])
    raise Unsupported(f"type {t}")


def ite(t: Type, c: z3.BoolRef, a: Sym, b: Sym) -> Sym:
    if isinstance(t, TBool | TInt | TEnum | TNoneLit):
        return if_(c, a, b)
    if isinstance(t, TOption):
        assert isinstance(a, SOpt) and isinstance(b, SOpt)
        return SOpt(if_(c, a.some, b.some), ite(t.inner, c, a.value, b.value))
    if isinstance(t, TRecord):
        assert isinstance(a, SRec) and isinstance(b, SRec)
        return SRec(tuple(ite(ft, c, x, y) for (_, ft), x, y in zip(t.fields, a.fields,
                                                                     b.fields, strict=True)))
    if isinstance(t, TMap):
        assert isinstance(a, SMap) and isinstance(b, SMap)
        return SMap(tuple(ite(t.value, c, x, y) for x, y in zip(a.items, b.items,
                                                                 strict=True)))
    if isinstance(t, TSet):
        assert isinstance(a, SSet) and isinstance(b, SSet)
        return SSet(tuple(z3.If(c, x, y) for x, y in zip(a.members, b.members, strict=True)))
    if isinstance(t, TList):
        assert isinstance(a, SList) and isinstance(b, SList)
        return SList(tuple(z3.If(c, x, y) for x, y in zip(a.pos, b.pos, strict=True)),
                     z3.If(c, a.length, b.length))
    raise Unsupported(f"type {t}")


def concrete(t: Type, s: Sym, m: z3.ModelRef) -> Value:
    """Read a value back from a model, in the interpreter's representation."""
    if isinstance(t, TBool):
        return z3.is_true(m.eval(s, model_completion=True))
    if isinstance(t, TInt):
        return num.as_int(m.eval(s, model_completion=True))
    if isinstance(t, TEnum):
        return t.members[num.as_int(m.eval(s, model_completion=True))]
    if isinstance(t, TOption):
        assert isinstance(s, SOpt)
        if not z3.is_true(m.eval(s.some, model_completion=True)):
            return None
        return concrete(t.inner, s.value, m)
    if isinstance(t, TRecord):
        assert isinstance(s, SRec)
        return tuple(concrete(ft, fv, m) for (_, ft), fv in zip(t.fields, s.fields,
                                                                  strict=True))
    if isinstance(t, TMap):
        assert isinstance(s, SMap)
        return tuple(concrete(t.value, x, m) for x in s.items)
    if isinstance(t, TSet):
        assert isinstance(s, SSet)
        return frozenset(k for k, b in zip(domain_values(t.elem), s.members, strict=True)
                         if z3.is_true(m.eval(b, model_completion=True)))
    if isinstance(t, TList):
        assert isinstance(s, SList)
        placed = []
        for k, p in zip(domain_values(t.elem), s.pos, strict=True):
            i = num.as_int(m.eval(p, model_completion=True))
            if i >= 0:
                placed.append((i, k))
        return tuple(k for _, k in sorted(placed))
    raise Unsupported(f"type {t}")


def substitute_all(terms: list[Any], pairs: list[tuple[Any, Any]]) -> list[Any]:
    """`z3.substitute(t, *pairs)` for every term at once: one traversal of the shared term
    graph inside z3 (the terms are packed as the arguments of one application), instead of
    one per term with the Python API's per-pair checks. Non-terms pass through unchanged."""
    idx = [i for i, t in enumerate(terms) if z3.is_expr(t)]
    if not idx or not pairs:
        return list(terms)
    ctx = z3.main_ctx()
    sorts = [terms[i].sort() for i in idx]
    pack = z3.Function(f"pack!{next(_counter)}", *sorts, z3.BoolSort())
    packed = pack(*[terms[i] for i in idx])
    n = len(pairs)
    src = (z3.Ast * n)()
    dst = (z3.Ast * n)()
    for j, (a, b) in enumerate(pairs):
        src[j] = a.as_ast()
        dst[j] = b.as_ast()
    out_ast = z3.Z3_substitute(ctx.ref(), packed.as_ast(), n, src, dst)
    out = z3.ExprRef(out_ast, ctx)
    result = list(terms)
    for j, i in enumerate(idx):
        result[i] = out.arg(j)
    return result
