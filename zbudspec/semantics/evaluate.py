"""The meaning of IR expressions: a pure evaluator over plain values.

This is the reference semantics of expressions; the interpreter uses it for steps and
invariants, the checker for constants. A run-time error (unwrap of none, list_add of an
element already on the list, a map key outside its domain, division by zero...) raises
`EvalError`, which engines report as a violation at the expression's span.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from zbudspec.semantics import ir
from zbudspec.semantics.types import TRecord, Value, in_type, key_position, show_value
from zbudspec.syntax.ast import Span

# A frame as engines expose it: (procedure, label, locals).
FrameView = tuple[str, str, Mapping[str, Value]]


class EvalError(Exception):
    def __init__(self, kind: str, message: str, span: Span) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.span = span


@dataclass
class Ctx:
    globals: Sequence[Value] = ()
    locals: dict[str, Value] = field(default_factory=dict)
    self_id: int | None = None
    fns: Mapping[str, ir.Fn] = field(default_factory=dict)
    locks: Sequence[int | None] = ()
    frames: Callable[[int], Sequence[FrameView]] | None = None


def _int(v: Value, span: Span) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise EvalError("type", f"expected an integer, got {v!r}", span)
    return v


def _cdiv(a: int, b: int, span: Span) -> int:
    if b == 0:
        raise EvalError("arith", "division by zero", span)
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int, span: Span) -> int:
    return a - b * _cdiv(a, b, span)


MAX_SHIFT = 256


def shift(op: str, x: int, y: int, span: Span) -> int:
    if y < 0:
        raise EvalError("arith", f"shift by a negative amount ({y})", span)
    if y > MAX_SHIFT:
        raise EvalError("arith", f"shift by {y}: more than {MAX_SHIFT} bits", span)
    return x << y if op == "<<" else x >> y


def domain(d: ir.Dom, ctx: Ctx) -> Sequence[Value]:
    if isinstance(d, ir.DomType):
        return d.values
    lo = _int(evaluate(d.lo, ctx), d.span)
    hi = _int(evaluate(d.hi, ctx), d.span)
    return range(lo, hi + 1)


def _binop(e: ir.Binop, ctx: Ctx) -> Value:
    op = e.op
    if op == "&&":
        return bool(evaluate(e.left, ctx)) and bool(evaluate(e.right, ctx))
    if op == "||":
        return bool(evaluate(e.left, ctx)) or bool(evaluate(e.right, ctx))
    if op == "==>":
        return (not evaluate(e.left, ctx)) or bool(evaluate(e.right, ctx))
    a = evaluate(e.left, ctx)
    b = evaluate(e.right, ctx)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "in":
        assert isinstance(b, frozenset | tuple)
        return a in b
    if isinstance(a, frozenset):
        assert isinstance(b, frozenset)
        if op == "+":
            return a | b
        if op == "-":
            return a - b
        if op == "&":
            return a & b
    x = _int(a, e.span)
    y = _int(b, e.span)
    match op:
        case "+":
            return x + y
        case "-":
            return x - y
        case "*":
            return x * y
        case "/":
            return _cdiv(x, y, e.span)
        case "%":
            return _cmod(x, y, e.span)
        case "<<" | ">>":
            return shift(op, x, y, e.span)
        case "|":
            return x | y
        case "&":
            return x & y
        case "^":
            return x ^ y
        case "<":
            return x < y
        case "<=":
            return x <= y
        case ">":
            return x > y
        case ">=":
            return x >= y
    raise EvalError("internal", f"unknown operator {op}", e.span)


def _frames(ctx: Ctx, t: Value, span: Span) -> Sequence[FrameView]:
    if ctx.frames is None:
        raise EvalError("scope", "thread-local state is only readable in invariants", span)
    return ctx.frames(_int(t, span))


def _builtin(e: ir.Builtin, ctx: Ctx) -> Value:
    name = e.name
    if name in ("held", "holder"):
        i = int(e.names[1])
        if i >= len(ctx.locks):
            raise EvalError("scope", f"lock `{e.names[0]}` read in a constant expression",
                            e.span)
        return ctx.locks[i] == ctx.self_id if name == "held" else ctx.locks[i]
    if name == "idle":
        t = evaluate(e.args[0], ctx)
        return not _frames(ctx, t, e.span)
    if name in ("at", "local"):
        t = evaluate(e.args[0], ctx)
        proc, item = e.names
        for fproc, flabel, flocals in reversed(_frames(ctx, t, e.span)):
            if fproc == proc:
                return flabel == item if name == "at" else flocals[item]
        if name == "at":
            return False
        raise EvalError("scope", f"thread {t} is not inside `{proc}`, so `{proc}.{item}` "
                        "has no value (guard it with `at(t, ...)`)", e.span)
    args = [evaluate(a, ctx) for a in e.args]
    match name:
        case "list_add" | "list_add_tail":
            lst, x = args
            assert isinstance(lst, tuple)
            if x in lst:
                raise EvalError("list", f"{name}: {x!r} is already on the list", e.span)
            return (x, *lst) if name == "list_add" else (*lst, x)
        case "list_del":
            lst, x = args
            assert isinstance(lst, tuple)
            if x not in lst:
                raise EvalError("list", f"list_del: {x!r} is not on the list", e.span)
            return tuple(y for y in lst if y != x)
        case "list_replace":
            lst, old, new = args
            assert isinstance(lst, tuple)
            if old not in lst:
                raise EvalError("list", f"list_replace: {old!r} is not on the list", e.span)
            if new in lst:
                raise EvalError("list", f"list_replace: {new!r} is already on the list",
                                e.span)
            return tuple(new if y == old else y for y in lst)
        case "list_first" | "list_last":
            (lst,) = args
            assert isinstance(lst, tuple)
            if not lst:
                raise EvalError("list", f"{name} of an empty list", e.span)
            return lst[0] if name == "list_first" else lst[-1]
        case "list_empty":
            (lst,) = args
            assert isinstance(lst, tuple)
            return not lst
        case "len":
            (c,) = args
            assert isinstance(c, tuple | frozenset)
            return len(c)
        case "unwrap":
            (o,) = args
            if o is None:
                raise EvalError("unwrap", "unwrap of none", e.span)
            return o
        case "is_some":
            return args[0] is not None
        case "min" | "max":
            xs = [_int(a, e.span) for a in args]
            return min(xs) if name == "min" else max(xs)
    raise EvalError("internal", f"unknown builtin {name}", e.span)


def _quant(e: ir.Quant, ctx: Ctx) -> Value:
    saved = ctx.locals.get(e.var, _MISSING)
    try:
        count = 0
        for v in domain(e.domain, ctx):
            ctx.locals[e.var] = v
            hit = bool(evaluate(e.body, ctx))
            if e.kind == "forall" and not hit:
                return False
            if e.kind == "exists" and hit:
                return True
            if e.kind == "find" and hit:
                return v
            count += hit
        return {"forall": True, "exists": False, "find": None}.get(e.kind, count)
    finally:
        if saved is _MISSING:
            ctx.locals.pop(e.var, None)
        else:
            ctx.locals[e.var] = saved


_MISSING = object()


def map_key(key_type: object, key: Value, span: Span) -> int:
    pos = key_position(key_type, key)  # type: ignore[arg-type]
    if pos is None:
        raise EvalError("range", f"key {key!r} is outside the map's domain {key_type}", span)
    return pos


def evaluate(e: ir.Expr, ctx: Ctx) -> Value:
    match e:
        case ir.Lit():
            return e.value
        case ir.GlobalVar():
            if e.index >= len(ctx.globals):
                raise EvalError("scope", f"state variable `{e.name}` read in a constant "
                                "expression", e.span)
            return ctx.globals[e.index]
        case ir.LocalVar():
            try:
                return ctx.locals[e.name]
            except KeyError:
                raise EvalError("scope", f"`{e.name}` has no value here", e.span) from None
        case ir.SelfRef():
            if ctx.self_id is None:
                raise EvalError("scope", "`self` outside a thread", e.span)
            return ctx.self_id
        case ir.FieldGet():
            base = evaluate(e.base, ctx)
            assert isinstance(base, tuple)
            return base[e.index]
        case ir.MapGet():
            base = evaluate(e.base, ctx)
            assert isinstance(base, tuple)
            return base[map_key(e.key_type, evaluate(e.key, ctx), e.key.span)]
        case ir.Unop():
            v = evaluate(e.operand, ctx)
            return (not v) if e.op == "!" else -_int(v, e.span)
        case ir.Binop():
            return _binop(e, ctx)
        case ir.Cond():
            return evaluate(e.then if evaluate(e.cond, ctx) else e.else_, ctx)
        case ir.Quant():
            return _quant(e, ctx)
        case ir.FnCall():
            fn = ctx.fns[e.fn]
            args = [evaluate(a, ctx) for a in e.args]
            for (pname, ptype), v in zip(fn.params, args, strict=True):
                if not in_type(ptype, v):
                    raise EvalError("range", f"argument {pname} = {v!r} of {fn.name} is "
                                    f"outside {ptype}", e.span)
            inner = Ctx(ctx.globals, dict(zip((p for p, _ in fn.params), args, strict=True)),
                        ctx.self_id, ctx.fns, ctx.locks, ctx.frames)
            result = evaluate(fn.body, inner)
            if not in_type(fn.result, result):
                raise EvalError("range", f"{fn.name} returns {result!r}, outside its result "
                                f"type {fn.result}", e.span)
            return result
        case ir.Builtin():
            return _builtin(e, ctx)
        case ir.RecordLit():
            return tuple(evaluate(v, ctx) for v in e.values)
        case ir.RecordWith():
            base = evaluate(e.base, ctx)
            assert isinstance(base, tuple)
            vals = list(base)
            for pos, ve in e.updates:
                vals[pos] = evaluate(ve, ctx)
            return tuple(vals)
        case ir.MapConst():
            v = evaluate(e.value, ctx)
            return (v,) * e.size
        case ir.MapWith():
            base = evaluate(e.base, ctx)
            assert isinstance(base, tuple)
            pos = map_key(e.key_type, evaluate(e.key, ctx), e.key.span)
            vals = list(base)
            vals[pos] = evaluate(e.value, ctx)
            return tuple(vals)
        case ir.SetLit():
            return frozenset(evaluate(i, ctx) for i in e.items)
    raise EvalError("internal", f"cannot evaluate {type(e).__name__}", e.span)


def describe(t: object, v: Value) -> str:
    return show_value(t, v)  # type: ignore[arg-type]


__all__ = ["Ctx", "EvalError", "FrameView", "TRecord", "describe", "domain", "evaluate"]
