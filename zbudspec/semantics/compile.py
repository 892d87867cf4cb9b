"""Compile IR expressions to Python functions: the fast path of the interpreter.

`evaluate.py` is the reference meaning of expressions; this module must agree with it on
every expression (tests/test_compile.py checks both on generated inputs). A compiled
expression is a function `f(G, L, S, K, FR)`: the globals tuple, the frame's locals dict,
the running thread (or None), the lock holders, and a function giving a thread's frames.
Run-time errors raise the same `EvalError`s as `evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zbudspec.semantics import ir
from zbudspec.semantics.evaluate import EvalError, FrameView, shift
from zbudspec.semantics.types import TBool, TEnum, TInt, TSet, Type, Value, in_type

Compiled = Callable[[Any, Any, Any, Any, Any], Value]


# ---- run-time helpers (raise EvalError like evaluate.py)


def _ik(v: Any, lo: int, hi: int, sp: Any, t: Any) -> int:
    if v.__class__ is not int or not lo <= v <= hi:
        raise EvalError("range", f"key {v!r} is outside the map's domain {t}", sp)
    return v - lo


def _div(a: int, b: int, sp: Any) -> int:
    if b == 0:
        raise EvalError("arith", "division by zero", sp)
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mod(a: int, b: int, sp: Any) -> int:
    return a - b * _div(a, b, sp)


def _unwrap(v: Any, sp: Any) -> Any:
    if v is None:
        raise EvalError("unwrap", "unwrap of none", sp)
    return v


def _list_add(lst: tuple[Any, ...], x: Any, sp: Any) -> tuple[Any, ...]:
    if x in lst:
        raise EvalError("list", f"list_add: {x!r} is already on the list", sp)
    return (x, *lst)


def _list_add_tail(lst: tuple[Any, ...], x: Any, sp: Any) -> tuple[Any, ...]:
    if x in lst:
        raise EvalError("list", f"list_add_tail: {x!r} is already on the list", sp)
    return (*lst, x)


def _list_del(lst: tuple[Any, ...], x: Any, sp: Any) -> tuple[Any, ...]:
    if x not in lst:
        raise EvalError("list", f"list_del: {x!r} is not on the list", sp)
    return tuple(y for y in lst if y != x)


def _list_replace(lst: tuple[Any, ...], old: Any, new: Any, sp: Any) -> tuple[Any, ...]:
    if old not in lst:
        raise EvalError("list", f"list_replace: {old!r} is not on the list", sp)
    if new in lst:
        raise EvalError("list", f"list_replace: {new!r} is already on the list", sp)
    return tuple(new if y == old else y for y in lst)


def _list_first(lst: tuple[Any, ...], sp: Any) -> Any:
    if not lst:
        raise EvalError("list", "list_first of an empty list", sp)
    return lst[0]


def _list_last(lst: tuple[Any, ...], sp: Any) -> Any:
    if not lst:
        raise EvalError("list", "list_last of an empty list", sp)
    return lst[-1]


def _rw(base: tuple[Any, ...], positions: tuple[int, ...], values: tuple[Any, ...]) -> Any:
    items = list(base)
    for p, v in zip(positions, values, strict=True):
        items[p] = v
    return tuple(items)


def _mw(base: tuple[Any, ...], pos: int, v: Any) -> tuple[Any, ...]:
    return (*base[:pos], v, *base[pos + 1:])


def _frames(fr: Any, t: Any, sp: Any) -> list[FrameView]:
    if fr is None:
        raise EvalError("scope", "thread-local state is only readable in invariants", sp)
    return fr(t)  # type: ignore[no-any-return]


def _at(fr: Any, t: Any, proc: str, label: str, sp: Any) -> bool:
    for fproc, flabel, _ in reversed(_frames(fr, t, sp)):
        if fproc == proc:
            return flabel == label
    return False


def _local(fr: Any, t: Any, proc: str, name: str, sp: Any) -> Any:
    for fproc, _, flocals in reversed(_frames(fr, t, sp)):
        if fproc == proc:
            return flocals[name]
    raise EvalError("scope", f"thread {t} is not inside `{proc}`, so `{proc}.{name}` has no "
                    "value (guard it with `at(t, ...)`)", sp)


def _idle(fr: Any, t: Any, sp: Any) -> bool:
    return not _frames(fr, t, sp)


def _shift(op: str, x: int, y: int, sp: Any) -> int:
    return shift(op, x, y, sp)


def _ckt(v: Any, t: Any, sp: Any, what: str) -> Any:
    """An argument or result must lie within its declared type (as evaluate.py checks)."""
    if not in_type(t, v):
        raise EvalError("range", f"{what} = {v!r} is outside {t}", sp)
    return v


def _dom(lo: int, hi: int) -> range:
    return range(lo, hi + 1)


_HELPERS: dict[str, object] = {n: f for n, f in globals().items() if n.startswith("_") and
                               callable(f) and n not in ("__import__",)}


class Compiler:
    """Compiles the expressions of one program; functions (`fn`) are compiled once."""

    def __init__(self, fns: Mapping[str, ir.Fn]) -> None:
        self.fns = fns
        self.consts: list[object] = []
        self.ns: dict[str, object] = dict(_HELPERS)
        self.ns["C"] = self.consts
        self.cache: dict[int, Compiled] = {}
        self.fn_done: set[str] = set()
        self.counter = 0

    def const(self, v: object) -> str:
        self.consts.append(v)
        return f"C[{len(self.consts) - 1}]"

    def compile(self, e: ir.Expr) -> Compiled:
        key = id(e)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        src = self.expr(e, {})
        fn = eval(f"lambda G, L, S, K, FR: {src}", self.ns)
        self.cache[key] = fn
        self.consts.append(e)  # keep the node alive: the cache is keyed by id
        return fn  # type: ignore[no-any-return]

    def fresh(self, name: str) -> str:
        self.counter += 1
        return f"v_{name}_{self.counter}"

    def fn(self, name: str) -> str:
        pyname = f"f_{name}"
        if name not in self.fn_done:
            self.fn_done.add(name)
            f = self.fns[name]
            bound = {p: self.fresh(p) for p, _ in f.params}
            args = ", ".join(bound[p] for p, _ in f.params)
            checks = []
            for p, t in f.params:
                if isinstance(t, TInt) and t.lo is not None and t.hi is not None:
                    sp = self.const(f.span)
                    checks.append(f"_ck({bound[p]}, {t.lo}, {t.hi}, {sp}, "
                                  f"{self.const(f'argument {p} of {name}')}, "
                                  f"{self.const(t)})")
            body = self.expr(f.body, bound)
            pre = "".join(f"{c}, " for c in checks)
            src = f"lambda G, S, K, FR, {args}: ({pre}{body})[-1]" if checks else \
                f"lambda G, S, K, FR, {args}: {body}"
            if not f.params:
                src = f"lambda G, S, K, FR: {body}"
            self.ns[pyname] = eval(src, self.ns)
        return pyname

    def dom(self, d: ir.Dom, bound: dict[str, str]) -> str:
        if isinstance(d, ir.DomType):
            return self.const(d.values)
        return f"_dom({self.expr(d.lo, bound)}, {self.expr(d.hi, bound)})"

    def key(self, k: ir.Expr, t: Type, bound: dict[str, str], sp: object) -> str:
        ks = self.expr(k, bound)
        if isinstance(t, TInt):
            assert t.lo is not None and t.hi is not None
            return f"_ik({ks}, {t.lo}, {t.hi}, {self.const(sp)}, {self.const(t)})"
        if isinstance(t, TBool):
            return f"int({ks})"
        assert isinstance(t, TEnum)
        return f"{self.const({m: i for i, m in enumerate(t.members)})}[{ks}]"

    def expr(self, e: ir.Expr, bound: dict[str, str]) -> str:
        x = self.expr
        match e:
            case ir.Lit():
                v = e.value
                if v is None or isinstance(v, bool | int | str):
                    return repr(v)
                return self.const(v)
            case ir.GlobalVar():
                return f"G[{e.index}]"
            case ir.LocalVar():
                if e.name in bound:
                    return bound[e.name]
                return f"L[{e.name!r}]"
            case ir.SelfRef():
                return "S"
            case ir.FieldGet():
                return f"{x(e.base, bound)}[{e.index}]"
            case ir.MapGet():
                return f"{x(e.base, bound)}[{self.key(e.key, e.key_type, bound, e.key.span)}]"
            case ir.Unop():
                return f"(not {x(e.operand, bound)})" if e.op == "!" else \
                    f"(-{x(e.operand, bound)})"
            case ir.Binop():
                a, b = x(e.left, bound), x(e.right, bound)
                op = e.op
                if op == "&&":
                    return f"({a} and {b})"
                if op == "||":
                    return f"({a} or {b})"
                if op == "==>":
                    return f"((not {a}) or {b})"
                if op == "/":
                    return f"_div({a}, {b}, {self.const(e.span)})"
                if op == "%":
                    return f"_mod({a}, {b}, {self.const(e.span)})"
                if op in ("<<", ">>"):
                    return f"_shift({op!r}, {a}, {b}, {self.const(e.span)})"
                if isinstance(e.type, TSet) and op == "+":
                    return f"({a} | {b})"
                return f"({a} {op} {b})"
            case ir.Cond():
                return f"({x(e.then, bound)} if {x(e.cond, bound)} else {x(e.else_, bound)})"
            case ir.Quant():
                v = self.fresh(e.var)
                inner = {**bound, e.var: v}
                body = x(e.body, inner)
                dom = self.dom(e.domain, bound)
                if e.kind == "forall":
                    return f"all({body} for {v} in {dom})"
                if e.kind == "exists":
                    return f"any({body} for {v} in {dom})"
                if e.kind == "count":
                    return f"sum(1 for {v} in {dom} if {body})"
                return f"next(({v} for {v} in {dom} if {body}), None)"
            case ir.FnCall():
                name = self.fn(e.fn)
                f = self.fns[e.fn]
                sp = self.const(e.span)
                args = "".join(
                    f", _ckt({x(a, bound)}, {self.const(t)}, {sp}, "
                    f"{self.const(f'argument {p} of {e.fn}')})"
                    for a, (p, t) in zip(e.args, f.params, strict=True))
                return f"{name}(G, S, K, FR{args})"
            case ir.Builtin():
                return self.builtin(e, bound)
            case ir.RecordLit():
                items = ", ".join(x(v, bound) for v in e.values)
                return f"({items},)"
            case ir.RecordWith():
                pos = tuple(p for p, _ in e.updates)
                vals = ", ".join(x(v, bound) for _, v in e.updates)
                return f"_rw({x(e.base, bound)}, {pos!r}, ({vals},))"
            case ir.MapConst():
                return f"(({x(e.value, bound)},) * {e.size})"
            case ir.MapWith():
                k = self.key(e.key, e.key_type, bound, e.key.span)
                return f"_mw({x(e.base, bound)}, {k}, {x(e.value, bound)})"
            case ir.SetLit():
                items = ", ".join(x(i, bound) for i in e.items)
                return f"frozenset(({items},))"
        raise EvalError("internal", f"cannot compile {type(e).__name__}", e.span)

    def builtin(self, e: ir.Builtin, bound: dict[str, str]) -> str:
        sp = self.const(e.span)
        args = [self.expr(a, bound) for a in e.args]
        n = e.name
        if n == "held":
            return f"(K[{int(e.names[1])}] == S)"
        if n == "holder":
            return f"K[{int(e.names[1])}]"
        if n == "at":
            return f"_at(FR, {args[0]}, {e.names[0]!r}, {e.names[1]!r}, {sp})"
        if n == "local":
            return f"_local(FR, {args[0]}, {e.names[0]!r}, {e.names[1]!r}, {sp})"
        if n == "idle":
            return f"_idle(FR, {args[0]}, {sp})"
        if n in ("list_add", "list_add_tail", "list_del", "list_replace", "list_first",
                 "list_last", "unwrap"):
            return f"_{n}({', '.join(args)}, {sp})"
        if n == "list_empty":
            return f"(not {args[0]})"
        if n == "len":
            return f"len({args[0]})"
        if n == "is_some":
            return f"({args[0]} is not None)"
        if n in ("min", "max"):
            return f"{n}({', '.join(args)})"
        raise EvalError("internal", f"unknown builtin {n}", e.span)


def _ck(v: Any, lo: int, hi: int, sp: Any, what: str, t: Any) -> None:
    if v.__class__ is not int or not lo <= v <= hi:
        raise EvalError("range", f"{what} = {v!r} is outside {t}", sp)


_HELPERS["_ck"] = _ck
