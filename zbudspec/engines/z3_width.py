"""The bit-vector width that holds every integer a program can compute, by interval analysis.

The interpreter computes with unbounded Python integers. A bit-vector encoding agrees with it
only if no value, intermediate ones included, overflows. Every integer a step or invariant can
produce is an expression of the IR, a value stored in a bounded type, a list position or
length, a count, a lock holder or a thread id. This module bounds each of them from the types
of the leaves up (interval arithmetic, per operator) and returns the signed width that holds
them all, plus one bit of margin. An expression it cannot bound (an unbounded type, a shift
by up to 2^k) makes it return None: the encoding then uses unbounded Ints.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zbudspec.semantics import ir
from zbudspec.semantics.types import (
    TEnum,
    TInt,
    TList,
    TMap,
    TOption,
    TRecord,
    TSet,
    Type,
    domain_values,
    is_finite,
)

MAX_WIDTH = 62  # wider than this and bit-blasting stops paying: use Ints
Interval = tuple[int, int]


class Unbounded(Exception):
    pass


def _bits(lo: int, hi: int) -> int:
    """The smallest two's-complement width holding lo..hi."""
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w


def _hull(*xs: Interval) -> Interval:
    return min(x[0] for x in xs), max(x[1] for x in xs)


def type_interval(t: Type) -> Interval:
    if isinstance(t, TInt):
        if t.lo is None or t.hi is None:
            raise Unbounded(f"the unbounded type {t}")
        return t.lo, t.hi
    if isinstance(t, TEnum):
        return 0, max(len(t.members) - 1, 0)
    if isinstance(t, TOption):
        return type_interval(t.inner)
    raise Unbounded(f"type {t} is not a number")


def _type_extent(t: Type, out: list[Interval]) -> None:
    """The numbers a value of type `t` is made of (positions, lengths, members)."""
    if isinstance(t, TInt | TEnum):
        out.append(type_interval(t))
    elif isinstance(t, TOption):
        _type_extent(t.inner, out)
    elif isinstance(t, TRecord):
        for _, ft in t.fields:
            _type_extent(ft, out)
    elif isinstance(t, TMap):
        _type_extent(t.key, out)
        _type_extent(t.value, out)
    elif isinstance(t, TList | TSet) and is_finite(t.elem):  # (else: no such value exists
        n = len(domain_values(t.elem))                       # in an encoding, D13)
        out.append((-1, n))
        _type_extent(t.elem, out)


Env = tuple[tuple[str, Interval], ...]  # the int parameters of the function being inlined


class _Analysis:
    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.memo: dict[tuple[int, Env], Interval] = {}
        self.walked: set[tuple[int, Env]] = set()
        self.extents: list[Interval] = []
        self.depth = 0

    def expr(self, e: Any, env: Env) -> Interval:
        key = (id(e), env)
        if key not in self.memo:
            self.memo[key] = self._expr(e, env)
        return self.memo[key]

    def _expr(self, e: Any, env: Env) -> Interval:
        match e:
            case ir.Lit():
                if isinstance(e.value, bool) or not isinstance(e.value, int):
                    return type_interval(e.type)
                return e.value, e.value
            case ir.LocalVar():
                for name, iv in env:
                    if name == e.name:
                        return iv
                return type_interval(e.type)
            case ir.SelfRef():
                return 0, max(self.p.client.threads - 1, 0)
            case ir.Unop():
                lo, hi = self.expr(e.operand, env)
                return -hi, -lo
            case ir.Binop():
                return self.binop(e, env)
            case ir.Cond():
                return _hull(self.expr(e.then, env), self.expr(e.else_, env))
            case ir.Quant() if e.kind == "count":
                return 0, self._dom_size(e.domain)
            case ir.FnCall():
                return self.call(e, env)
            case ir.Builtin() if e.name in ("min", "max"):
                return _hull(*[self.expr(a, env) for a in e.args])
            case ir.Builtin() if e.name == "len":
                t = e.args[0].type
                assert isinstance(t, TList | TSet)
                return 0, len(domain_values(t.elem))
            case ir.Builtin() if e.name == "holder":
                return -1, max(self.p.client.threads - 1, 0)
        return type_interval(e.type)

    def call_env(self, e: ir.FnCall, env: Env) -> Env:
        fn = self.p.fns[e.fn]
        out = []
        for (pn, pt), a in zip(fn.params, e.args, strict=True):
            if isinstance(pt, TInt | TEnum):
                out.append((pn, self.expr(a, env)))
        return tuple(out)

    def call(self, e: ir.FnCall, env: Env) -> Interval:
        self.depth += 1
        if self.depth > 64:
            raise Unbounded(f"functions nested too deep at {e.span}")
        try:
            return self.expr(self.p.fns[e.fn].body, self.call_env(e, env))
        finally:
            self.depth -= 1

    def _dom_size(self, d: ir.Dom) -> int:
        if isinstance(d, ir.DomType):
            return len(d.values)
        lo, hi = d.static
        return max(hi - lo + 1, 0)

    def binop(self, e: ir.Binop, env: Env) -> Interval:
        op = e.op
        if op in ("&&", "||", "==>", "==", "!=", "in", "<", "<=", ">", ">="):
            return 0, 1
        if not isinstance(e.type, TInt | TEnum):
            return 0, 1  # set algebra: no numbers of its own
        a, b = self.expr(e.left, env), self.expr(e.right, env)
        if op == "+":
            return a[0] + b[0], a[1] + b[1]
        if op == "-":
            return a[0] - b[1], a[1] - b[0]
        if op == "*":
            corners = [x * y for x in a for y in b]
            return min(corners), max(corners)
        if op in ("/", "%"):
            m = max(abs(a[0]), abs(a[1]))
            return -m, m
        if op in ("<<", ">>"):
            lo_s, hi_s = max(b[0], 0), max(b[1], 0)
            if hi_s > MAX_WIDTH:
                raise Unbounded(f"a shift by up to {hi_s} at {e.span}")
            if op == ">>":
                return min(a[0], 0), max(a[1], 0)
            corners = [x << s for x in a for s in (lo_s, hi_s)]
            return min(corners), max(corners)
        if op in ("&", "|", "^"):
            n = max(_bits(*a), _bits(*b))
            if a[0] >= 0 and b[0] >= 0:
                return 0, (1 << n) - 1
            return -(1 << n), (1 << n) - 1
        raise Unbounded(f"operator `{op}` at {e.span}")

    def walk(self, node: Any, env: Env) -> None:
        """Every expression and type reachable from `node`; function bodies are walked
        once per call site, with the intervals of the call's arguments."""
        key = (id(node), env)
        if key in self.walked:
            return
        self.walked.add(key)
        x = node
        if isinstance(x, TInt) and not x.bounded:
            return  # an expression's type: its interval is computed from below
        if isinstance(x, TInt | TEnum | TOption | TRecord | TMap | TList | TSet):
            _type_extent(x, self.extents)
            return
        if isinstance(x, ir.DomRange):
            self.extents.append(x.static)
        if isinstance(x, ir.Quant):
            env = tuple((n, iv) for n, iv in env if n != x.var)
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            if _is_expr(x) and isinstance(getattr(x, "type", None), TInt | TEnum):
                self.extents.append(self.expr(x, env))
            if isinstance(x, ir.FnCall):
                self.depth += 1
                if self.depth > 64:
                    raise Unbounded(f"functions nested too deep at {x.span}")
                self.walk(self.p.fns[x.fn].body, self.call_env(x, env))
                self.depth -= 1
            for f in dataclasses.fields(x):
                self.walk(getattr(x, f.name), env)
        elif isinstance(x, tuple | list):
            for y in x:
                self.walk(y, env)
        elif isinstance(x, dict):
            for y in x.values():
                self.walk(y, env)


_EXPRS = (ir.Lit, ir.GlobalVar, ir.LocalVar, ir.SelfRef, ir.FieldGet, ir.MapGet, ir.Unop,
          ir.Binop, ir.Cond, ir.Quant, ir.FnCall, ir.Builtin, ir.RecordLit, ir.RecordWith,
          ir.MapConst, ir.MapWith, ir.SetLit)


def _is_expr(x: Any) -> bool:
    return isinstance(x, _EXPRS)


def required_width(program: ir.Program, extra: tuple[Interval, ...] = ()) -> int | None:
    """A signed width holding every integer `program` can compute (and `extra`), or None."""
    a = _Analysis(program)
    try:
        for g in program.globals:
            _type_extent(g.type, a.extents)
        a.walk((program.procs, program.invariants), ())
    except Unbounded:
        return None
    a.extents.extend(extra)
    a.extents.append((-1, max(program.client.threads, 1)))
    w = max(_bits(lo, hi) for lo, hi in a.extents) + 1
    return w if w <= MAX_WIDTH else None


__all__ = ["MAX_WIDTH", "required_width", "type_interval"]
