"""Encode IR expressions as z3 terms, with the run-time errors `evaluate.py` raises.

Every error `evaluate` can raise (unwrap of none, list corruption, a key outside a map's
domain, division by zero, an argument outside a function's parameter type) becomes a *fault
condition*: a formula under the path condition in which the expression is reached, so that
short-circuit operators, conditional expressions and quantifiers fault exactly where the
interpreter would. Quantifiers are unrolled over their (finite, static) domains; functions
are inlined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from zbudspec.engines import z3_num as num
from zbudspec.engines.z3_terms import and_, is_false, is_true
from zbudspec.engines.z3_values import (
    SList,
    SMap,
    SOpt,
    SRec,
    SSet,
    Sym,
    Unsupported,
    const,
    default,
    eq,
    ite,
    key_code,
)
from zbudspec.semantics import ir
from zbudspec.semantics.evaluate import MAX_SHIFT
from zbudspec.semantics.types import (
    BOOL,
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
from zbudspec.syntax.ast import Span


@dataclass(frozen=True)
class Fault:
    cond: z3.BoolRef
    kind: str
    message: str
    span: Span


# (thread, proc, what, name) -> (value, defined); what is "at" (name = label), "local"
# (name = variable) or "idle". `defined` is false where `local` reads a thread that is not
# inside the procedure (the interpreter's scope error).
FrameQuery = Callable[[int, str, str, str], "tuple[Sym, Any]"]


@dataclass
class SEnv:
    globals: list[Sym]
    locals: dict[str, Sym]
    self_id: int | None
    locks: list[Any]  # Int terms: the holder's thread id, -1 when free
    frames: FrameQuery | None = None
    faults: list[Fault] = field(default_factory=list)
    # faults before this index belong to earlier statements, whose faulting paths the
    # step's live condition already excludes
    stmt_mark: int = 0

    def copy(self) -> SEnv:
        return SEnv(list(self.globals), dict(self.locals), self.self_id, list(self.locks),
                    self.frames, self.faults, self.stmt_mark)


def _and(*xs: Any) -> z3.BoolRef:
    return and_(*xs)


class Encoder:
    def __init__(self, fns: dict[str, ir.Fn]) -> None:
        self.fns = fns
        # (id of a fault list, mark, length) -> (the list, "none of faults[mark:length]
        # happened", or None when one of them certainly did)
        self._clear: dict[tuple[int, int, int], tuple[list[Fault], Any]] = {}

    def _no_earlier(self, faults: list[Fault], mark: int) -> Any:
        """The condition that none of `faults[mark:]` happened (None: one certainly did),
        extended from the longest prefix already built (fault lists only grow), so that
        recording n faults costs n terms, not n^2."""
        n, key = len(faults), id(faults)
        m = n
        while m > mark:
            hit = self._clear.get((key, mark, m))
            if hit is not None and hit[0] is faults:
                break
            m -= 1
        term: Any = z3.BoolVal(True) if m <= mark else self._clear[(key, mark, m)][1]
        for i in range(max(m, mark), n):
            if term is None:
                break
            c = faults[i].cond
            term = None if is_true(c) else _and(term, z3.Not(c))
            self._clear[(key, mark, i + 1)] = (faults, term)
        return term

    def fault(self, env: SEnv, pc: z3.BoolRef, cond: Any, kind: str, msg: str,
              span: Span) -> None:
        """Record that, where `pc` holds, `cond` makes the step fault here (and no earlier
        fault of the step happened: the interpreter stops at the first)."""
        if is_false(cond):
            return
        clear = self._no_earlier(env.faults, env.stmt_mark)
        if clear is None:
            return  # an earlier fault of this statement certainly happened
        c = _and(pc, cond, clear)
        if not is_false(c):
            env.faults.append(Fault(c, kind, msg, span))

    # ---- keys and domains
    def key_pos(self, env: SEnv, pc: z3.BoolRef, kt: Type, k: Sym, span: Span,
                n: int) -> list[z3.BoolRef]:
        """For each key position, the condition that `k` is that key; faults outside."""
        codes = [key_code(kt, v) for v in domain_values(kt)]
        hits = [z3.simplify(k == c) for c in codes]
        if not any(is_true(h) for h in hits):
            self.fault(env, pc, z3.Not(z3.Or(*hits)), "range",
                       f"key is outside the map's domain {kt}", span)
        return hits

    def select(self, t: Type, hits: list[z3.BoolRef], items: tuple[Sym, ...]) -> Sym:
        out = items[-1]
        for h, x in zip(reversed(hits[:-1]), reversed(items[:-1]), strict=True):
            out = ite(t, h, x, out)
        return out

    def domain(self, env: SEnv, pc: z3.BoolRef,
               d: ir.Dom) -> list[tuple[Any, z3.BoolRef, Sym]]:
        """(concrete value, membership condition, symbolic value) for each candidate."""
        if isinstance(d, ir.DomType):
            return [(v, z3.BoolVal(True), const(d.type, v)) for v in d.values]
        lo = self.enc(d.lo, env, pc)
        hi = self.enc(d.hi, env, pc)
        slo, shi = d.static
        return [(v, z3.simplify(z3.And(lo <= v, v <= hi)), num.val(v))
                for v in range(slo, shi + 1)]

    # ---- expressions
    def enc(self, e: ir.Expr, env: SEnv, pc: z3.BoolRef) -> Any:
        match e:
            case ir.Lit():
                if e.value is None and isinstance(e.type, TOption):
                    return SOpt(z3.BoolVal(False), default(e.type.inner))
                return const(e.type, e.value)
            case ir.GlobalVar():
                return env.globals[e.index]
            case ir.LocalVar():
                return env.locals[e.name]
            case ir.SelfRef():
                assert env.self_id is not None
                return num.val(env.self_id)
            case ir.FieldGet():
                base = self.enc(e.base, env, pc)
                assert isinstance(base, SRec)
                return base.fields[e.index]
            case ir.MapGet():
                base = self.enc(e.base, env, pc)
                assert isinstance(base, SMap)
                k = self.enc(e.key, env, pc)
                hits = self.key_pos(env, pc, e.key_type, k, e.key.span, len(base.items))
                return self.select(e.type, hits, base.items)
            case ir.Unop():
                x = self.enc(e.operand, env, pc)
                return z3.Not(x) if e.op == "!" else -x
            case ir.Binop():
                return self.binop(e, env, pc)
            case ir.Cond():
                c = self.enc(e.cond, env, pc)
                a = self.enc(e.then, env, _and(pc, c))
                b = self.enc(e.else_, env, _and(pc, z3.Not(c)))
                return ite(e.type, c, self.coerce(e.then.type, e.type, a),
                           self.coerce(e.else_.type, e.type, b))
            case ir.Quant():
                return self.quant(e, env, pc)
            case ir.FnCall():
                return self.fn_call(e, env, pc)
            case ir.Builtin():
                return self.builtin(e, env, pc)
            case ir.RecordLit():
                assert isinstance(e.type, TRecord)
                return SRec(tuple(self.coerce(v.type, ft, self.enc(v, env, pc))
                                  for v, (_, ft) in zip(e.values, e.type.fields, strict=True)))
            case ir.RecordWith():
                base = self.enc(e.base, env, pc)
                assert isinstance(base, SRec) and isinstance(e.type, TRecord)
                fields = list(base.fields)
                for pos, ve in e.updates:
                    fields[pos] = self.coerce(ve.type, e.type.fields[pos][1],
                                              self.enc(ve, env, pc))
                return SRec(tuple(fields))
            case ir.MapConst():
                assert isinstance(e.type, TMap)
                v = self.coerce(e.value.type, e.type.value, self.enc(e.value, env, pc))
                return SMap((v,) * e.size)
            case ir.MapWith():
                base = self.enc(e.base, env, pc)
                assert isinstance(base, SMap) and isinstance(e.type, TMap)
                k = self.enc(e.key, env, pc)
                v = self.coerce(e.value.type, e.type.value, self.enc(e.value, env, pc))
                hits = self.key_pos(env, pc, e.key_type, k, e.key.span, len(base.items))
                return SMap(tuple(ite(e.type.value, h, v, x)
                                  for h, x in zip(hits, base.items, strict=True)))
            case ir.SetLit():
                assert isinstance(e.type, TSet)
                if not is_finite(e.type.elem):
                    raise Unsupported(f"a set literal of {e.type.elem} at {e.span} outside "
                                      "`x in {...}` (give its elements a finite type)")
                items = [self.enc(i, env, pc) for i in e.items]
                return SSet(tuple(z3.Or(*[x == key_code(e.type.elem, v) for x in items])
                                  for v in domain_values(e.type.elem)))
        raise Unsupported(f"expression {type(e).__name__}")

    def coerce(self, src: Type, dst: Type, s: Sym) -> Sym:
        """Implicit `some`: a T where an option T is expected."""
        if isinstance(dst, TOption) and not isinstance(src, TOption):
            if isinstance(s, SOpt):
                return s
            return SOpt(z3.BoolVal(True), s)
        return s

    def binop(self, e: ir.Binop, env: SEnv, pc: z3.BoolRef) -> Any:
        op = e.op
        if op in ("&&", "||", "==>"):
            a = self.enc(e.left, env, pc)
            rpc = _and(pc, a) if op in ("&&", "==>") else _and(pc, z3.Not(a))
            b = self.enc(e.right, env, rpc)
            if op == "&&":
                return z3.And(a, b)
            if op == "||":
                return z3.Or(a, b)
            return z3.Implies(a, b)
        a = self.enc(e.left, env, pc)
        if op == "in" and isinstance(e.right, ir.SetLit):
            # membership of a literal: one equality per item, any element type
            t = e.right.type.elem if isinstance(e.right.type, TSet) else e.left.type
            return z3.Or(*[eq(t, self.coerce(e.left.type, t, a),
                              self.coerce(i.type, t, self.enc(i, env, pc)))
                           for i in e.right.items]) if e.right.items else z3.BoolVal(False)
        b = self.enc(e.right, env, pc)
        lt, rt = e.left.type, e.right.type
        if op in ("==", "!="):
            t = lt if isinstance(lt, TOption) else rt
            r = eq(t, self.coerce(lt, t, a), self.coerce(rt, t, b))
            return r if op == "==" else z3.Not(r)
        if op == "in":
            if isinstance(b, SSet):
                assert isinstance(rt, TSet)
                vals = domain_values(rt.elem)
                return z3.Or(*[z3.And(a == key_code(rt.elem, v), m)
                               for v, m in zip(vals, b.members, strict=True)])
            assert isinstance(b, SList) and isinstance(rt, TList)
            vals = domain_values(rt.elem)
            return z3.Or(*[z3.And(a == key_code(rt.elem, v), p >= 0)
                           for v, p in zip(vals, b.pos, strict=True)])
        if isinstance(a, SSet):
            assert isinstance(b, SSet)
            f = {"+": z3.Or, "&": z3.And, "-": lambda x, y: z3.And(x, z3.Not(y))}[op]
            return SSet(tuple(f(x, y) for x, y in zip(a.members, b.members, strict=True)))
        match op:
            case "+":
                return a + b
            case "-":
                return a - b
            case "*":
                return a * b
            case "<":
                return a < b
            case "<=":
                return a <= b
            case ">":
                return a > b
            case ">=":
                return a >= b
            case "/" | "%":
                self.fault(env, pc, b == 0, "arith", "division by zero", e.span)
                return num.div(a, b) if op == "/" else num.mod(a, b)
            case "<<" | ">>":
                w = num.current().width
                too_far = b > MAX_SHIFT if w is None or (1 << (w - 1)) - 1 > MAX_SHIFT else \
                    z3.BoolVal(False)  # a `w`-bit amount cannot exceed MAX_SHIFT
                self.fault(env, pc, z3.simplify(z3.Or(b < 0, too_far)), "arith",
                           "shift by a negative amount or too far", e.span)
                r = num.shift(op, a, b)
                if r is None:
                    raise Unsupported(f"shift by a non-constant amount at {e.span} (needs "
                                      "bit-vectors)")
                return r
            case "&" | "|" | "^":
                r = num.bitwise(op, a, b)
                if r is None:
                    raise Unsupported(f"operator `{op}` at {e.span} (needs bit-vectors)")
                return r
        raise Unsupported(f"operator `{op}` at {e.span}")

    def quant(self, e: ir.Quant, env: SEnv, pc: z3.BoolRef) -> Any:
        saved = env.locals.get(e.var)
        results: list[tuple[Any, z3.BoolRef, Any]] = []
        reach = pc
        try:
            for v, member, sv in self.domain(env, pc, e.domain):
                env.locals[e.var] = sv
                body = self.enc(e.body, env, _and(reach, member))
                results.append((v, member, body))
                if e.kind == "forall":
                    reach = _and(reach, z3.Implies(member, body))
                elif e.kind in ("exists", "find"):
                    reach = _and(reach, z3.Not(z3.And(member, body)))
        finally:
            if saved is None:
                env.locals.pop(e.var, None)
            else:
                env.locals[e.var] = saved
        if e.kind == "forall":
            return z3.And(*[z3.Implies(m, b) for _, m, b in results]) if results else \
                z3.BoolVal(True)
        if e.kind == "exists":
            return z3.Or(*[z3.And(m, b) for _, m, b in results]) if results else \
                z3.BoolVal(False)
        if e.kind == "count":
            return num.count([z3.And(m, b) for _, m, b in results])
        assert isinstance(e.type, TOption)
        out: Sym = SOpt(z3.BoolVal(False), default(e.type.inner))
        for v, m, b in reversed(results):
            out = ite(e.type, z3.And(m, b), SOpt(z3.BoolVal(True), const(e.var_type, v)), out)
        return out

    def fn_call(self, e: ir.FnCall, env: SEnv, pc: z3.BoolRef) -> Any:
        fn = self.fns[e.fn]
        args = [self.coerce(a.type, pt, self.enc(a, env, pc))
                for a, (_, pt) in zip(e.args, fn.params, strict=True)]
        for (pname, ptype), a in zip(fn.params, args, strict=True):
            if isinstance(ptype, TInt) and (ptype.lo is not None or ptype.hi is not None):
                bad = z3.Or(*([a < ptype.lo] if ptype.lo is not None else []),
                            *([a > ptype.hi] if ptype.hi is not None else []))
                self.fault(env, pc, bad, "range",
                           f"argument {pname} of {fn.name} is outside {ptype}", e.span)
        inner = SEnv(env.globals, dict(zip((p for p, _ in fn.params), args, strict=True)),
                     env.self_id, env.locks, env.frames, env.faults)
        return self.enc(fn.body, inner, pc)

    def builtin(self, e: ir.Builtin, env: SEnv, pc: z3.BoolRef) -> Any:
        n = e.name
        if n == "held":
            return env.locks[int(e.names[1])] == env.self_id
        if n == "holder":
            h = env.locks[int(e.names[1])]
            return SOpt(h >= 0, z3.If(h >= 0, h, num.val(0)))
        if n in ("at", "local", "idle"):
            if env.frames is None:
                raise Unsupported(f"`{n}` outside an invariant or requires clause")
            t = z3.simplify(self.enc(e.args[0], env, pc))
            if not num.is_val(t):
                raise Unsupported(f"`{n}` of a symbolic thread at {e.span}")
            proc, name = (*e.names, "", "")[:2]
            value, defined = env.frames(num.as_int(t), proc, n, name)
            self.fault(env, pc, z3.Not(defined), "scope", f"`{proc}.{name}` has no value",
                       e.span)
            return value
        args = [self.enc(a, env, pc) for a in e.args]
        sp = e.span
        if n in ("min", "max"):
            out = args[0]
            for x in args[1:]:
                out = z3.If(x < out, x, out) if n == "min" else z3.If(x > out, x, out)
            return out
        if n == "unwrap":
            o = args[0]
            assert isinstance(o, SOpt)
            self.fault(env, pc, z3.Not(o.some), "unwrap", "unwrap of none", sp)
            return o.value
        if n == "is_some":
            return args[0].some
        if n == "len":
            x = args[0]
            if isinstance(x, SList):
                return x.length
            assert isinstance(x, SSet)
            return num.count(list(x.members))
        lst = args[0]
        assert isinstance(lst, SList) and isinstance(e.args[0].type, TList)
        et = e.args[0].type.elem
        vals = domain_values(et)
        codes = [key_code(et, v) for v in vals]
        if n == "list_empty":
            return lst.length == 0
        if n in ("list_first", "list_last"):
            self.fault(env, pc, lst.length == 0, "list", f"{n} of an empty list", sp)
            want = 0 if n == "list_first" else lst.length - 1
            found: Any = num.val(codes[-1])
            for c, p in zip(reversed(codes[:-1]), reversed(lst.pos[:-1]), strict=True):
                found = z3.If(p == want, c, found)
            return found
        x = args[1]
        is_x = [x == c for c in codes]
        x_pos = self.select(TInt(), is_x, lst.pos)
        if n in ("list_add", "list_add_tail"):
            self.fault(env, pc, x_pos >= 0, "list", f"{n}: element already on the list", sp)
            if n == "list_add":
                pos = tuple(z3.If(h, 0, z3.If(p >= 0, p + 1, p))
                            for h, p in zip(is_x, lst.pos, strict=True))
            else:
                pos = tuple(z3.If(h, lst.length, p) for h, p in zip(is_x, lst.pos, strict=True))
            return SList(pos, lst.length + 1)
        if n == "list_del":
            self.fault(env, pc, x_pos < 0, "list", "list_del: element not on the list", sp)
            pos = tuple(z3.If(h, -1, z3.If(p > x_pos, p - 1, p))
                        for h, p in zip(is_x, lst.pos, strict=True))
            return SList(pos, lst.length - 1)
        if n == "list_replace":
            y = args[2]
            is_y = [y == c for c in codes]
            y_pos = self.select(TInt(), is_y, lst.pos)
            self.fault(env, pc, x_pos < 0, "list", "list_replace: element not on the list", sp)
            self.fault(env, pc, z3.And(x_pos >= 0, y_pos >= 0), "list",
                       "list_replace: element already on the list", sp)
            pos = tuple(z3.If(hy, x_pos, z3.If(hx, -1, p))
                        for hx, hy, p in zip(is_x, is_y, lst.pos, strict=True))
            return SList(pos, lst.length)
        raise Unsupported(f"builtin {n}")


def is_bool(t: Type) -> bool:
    return t == BOOL


__all__ = ["Encoder", "Fault", "SEnv", "TEnum"]
