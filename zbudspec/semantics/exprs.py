"""Type-check and lower expressions, types and domains to IR."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from zbudspec.diagnostics import Diagnostic, did_you_mean, error
from zbudspec.semantics import ir
from zbudspec.semantics.evaluate import Ctx, EvalError, evaluate
from zbudspec.semantics.loader import labels_of
from zbudspec.semantics.scope import Symbols
from zbudspec.semantics.types import (
    BOOL,
    INT,
    TBool,
    TEmpty,
    TEnum,
    TInt,
    TList,
    TMap,
    TNoneLit,
    TOption,
    TRecord,
    TSet,
    Type,
    assignable,
    comparable,
    domain_values,
    is_key_type,
)
from zbudspec.syntax import ast as A
from zbudspec.syntax.walk import blocks

ERR = TEnum("<error>", ())

BUILTINS = ("list_add", "list_add_tail", "list_del", "list_replace", "list_first", "list_last",
            "list_empty", "len", "unwrap", "is_some", "held", "holder", "at", "local", "idle",
            "min", "max")


@dataclass
class Scope:
    """Local names visible to an expression, and what the context allows."""

    names: dict[str, tuple[Type, str]] = field(default_factory=dict)  # name -> (type, kind)
    thread: bool = False  # `self`, `held` allowed (inside a procedure)
    invariant: bool = False  # `at`, `local`, `holder` over other threads allowed
    const_only: bool = False  # no state variables (constants, types, initial values)
    used: set[str] = field(default_factory=set)

    def child(self, name: str, t: Type, kind: str = "bound") -> Scope:
        s = Scope(dict(self.names), self.thread, self.invariant, self.const_only, self.used)
        s.names[name] = (t, kind)
        return s


def bad(t: Type) -> bool:
    return t is ERR


class ExprLowerer:
    def __init__(self, syms: Symbols, diags: list[Diagnostic],
                 const_value: Callable[[str, A.Span], tuple[object, Type] | None],
                 resolve_type: Callable[[A.TypeExpr], Type],
                 thread_type: Type) -> None:
        self.syms = syms
        self.diags = diags
        self.const_value = const_value
        self.resolve_type = resolve_type
        self.thread_type = thread_type
        self.silent_poison = False
        self.poison_count = 0
        self.fn_busy: set[str] = set()
        self.lower_fn: Callable[[str], None] | None = None

    def err(self, code: str, msg: str, span: A.Span, hint: str | None = None) -> ir.Expr:
        self.diags.append(error(code, msg, span, hint))
        return ir.Lit(None, ERR, span)

    def poison(self, span: A.Span) -> ir.Expr:
        """A placeholder for an expression whose error was reported elsewhere. If the checker
        ever ends with no error but a placeholder in the IR, that is an internal error."""
        self.silent_poison = True
        self.poison_count += 1
        return ir.Lit(None, ERR, span)

    def expect(self, e: ir.Expr, want: Type, span: A.Span, what: str) -> ir.Expr:
        t = e.type
        if bad(t) or bad(want) or assignable(t, want):
            return e
        return self.err("ZB012", f"{what}: expected {want}, found {t}", span)

    # ---- names
    def name(self, n: A.Name, sc: Scope) -> ir.Expr:
        if n.id in sc.names:
            t, _ = sc.names[n.id]
            sc.used.add(n.id)
            return ir.LocalVar(n.id, t, n.span)
        if n.id in self.syms.members:
            enum = self.syms.members[n.id]
            et = self.resolve_type(A.NamedType(enum, n.span))
            self.syms.used.add(enum)
            return ir.Lit(n.id, et, n.span)
        if n.id in self.syms.consts:
            self.syms.used.add(n.id)
            cv = self.const_value(n.id, n.span)
            if cv is None:
                return self.poison(n.span)
            return ir.Lit(cv[0], cv[1], n.span)
        if n.id in self.syms.vars:
            self.syms.used.add(n.id)
            if sc.const_only:
                return self.err("ZB017", f"state variable `{n.id}` in a constant expression",
                                n.span)
            v = self.syms.vars[n.id]
            return ir.GlobalVar(n.id, v.index, v.type or ERR, n.span)
        kinds: dict[str, Collection[str]] = {
            "lock": self.syms.locks, "function": self.syms.fns, "procedure": self.syms.procs,
            "type": self.syms.types}
        for kind, table in kinds.items():
            if n.id in table:
                return self.err("ZB012", f"`{n.id}` is a {kind}, not a value", n.span)
        cands = [*sc.names, *self.syms.members, *self.syms.consts, *self.syms.vars]
        return self.err("ZB010", f"unknown name `{n.id}`", n.span, did_you_mean(n.id, cands))

    # ---- domains
    def interval(self, e: ir.Expr) -> tuple[int, int] | None:
        t = getattr(e, "type", None)
        if isinstance(e, ir.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool):
            return (e.value, e.value)
        if isinstance(e, ir.Binop) and e.op in "+-":
            a, b = self.interval(e.left), self.interval(e.right)
            if a is None or b is None:
                return None
            if e.op == "+":
                return (a[0] + b[0], a[1] + b[1])
            return (a[0] - b[1], a[1] - b[0])
        if isinstance(t, TInt) and t.lo is not None and t.hi is not None:
            return (t.lo, t.hi)
        return None

    def domain(self, d: A.Domain, sc: Scope) -> tuple[ir.Dom, Type]:
        if isinstance(d, A.TypeDomain):
            if d.name in self.syms.types or d.name in ("Thread", "Errno", "bool"):
                t = self.resolve_type(A.NamedType(d.name, d.span))
                if bad(t):
                    return ir.DomType((), ERR, d.span), ERR
                if not is_key_type(t):
                    self.err("ZB016", f"`{d.name}` ({t}) is not a finite domain", d.span,
                             "quantify over an enum, bool or a bounded integer range")
                    return ir.DomType((), ERR, d.span), ERR
                return ir.DomType(domain_values(t), t, d.span), t
            self.err("ZB010", f"unknown type `{d.name}`", d.span,
                     did_you_mean(d.name, [*self.syms.types, "Thread", "Errno"]))
            return ir.DomType((), ERR, d.span), ERR
        lo = self.expect(self.expr(d.lo, sc, INT), INT, d.lo.span, "range bound")
        hi = self.expect(self.expr(d.hi, sc, INT), INT, d.hi.span, "range bound")
        a, b = self.interval(lo), self.interval(hi)
        if a is None or b is None:
            if not bad(lo.type) and not bad(hi.type):
                self.err("ZB016", "range bounds must be statically bounded (constants, or "
                         "variables of a range type)", d.span)
            return ir.DomRange(lo, hi, (0, -1), d.span), ERR
        static = (a[0], b[1])
        return ir.DomRange(lo, hi, static, d.span), TInt(static[0], static[1])

    # ---- expressions
    def expr(self, e: A.Expr, sc: Scope, expected: Type | None = None) -> ir.Expr:
        match e:
            case A.IntLit():
                return ir.Lit(e.value, INT, e.span)
            case A.BoolLit():
                return ir.Lit(e.value, BOOL, e.span)
            case A.NoneLit():
                t: Type = expected if isinstance(expected, TOption) else TNoneLit()
                return ir.Lit(None, t, e.span)
            case A.SelfLit():
                if not sc.thread:
                    return self.err("ZB031", "`self` is only meaningful inside a procedure",
                                    e.span, "in an invariant, quantify: `forall t in Thread:`")
                return ir.SelfRef(self.thread_type, e.span)
            case A.Name():
                return self.name(e, sc)
            case A.Call():
                return self.call(e, sc, expected)
            case A.RecordLit():
                return self.record_lit(e, sc)
            case A.SetLit():
                return self.set_lit(e, sc, expected)
            case A.EmptyList():
                if isinstance(expected, TList):
                    return ir.Lit((), expected, e.span)
                return ir.Lit((), TEmpty("list"), e.span)
            case A.MapLit():
                if expected is not None and bad(expected):
                    return self.poison(e.span)
                if not isinstance(expected, TMap):
                    return self.err("ZB012", "`[_ -> v]` needs a map type from its context",
                                    e.span, "use it where a map is expected, e.g. `var m: "
                                    "map[K] of V = [_ -> v];`")
                v = self.expect(self.expr(e.value, sc, expected.value), expected.value,
                                e.value.span, "map element")
                size = len(domain_values(expected.key))
                return ir.MapConst(v, size, expected, e.span)
            case A.CondExpr():
                c = self.expect(self.expr(e.cond, sc, BOOL), BOOL, e.cond.span, "condition")
                a = self.expr(e.then, sc, expected)
                b = self.expr(e.else_, sc, expected or a.type)
                ta, tb = a.type, b.type
                if bad(ta) or bad(tb):
                    return self.poison(e.span)
                if assignable(tb, ta):
                    t = ta
                elif assignable(ta, tb):
                    t = tb
                else:
                    return self.err("ZB012", f"branches have different types: {ta} and {tb}",
                                    e.span)
                return ir.Cond(c, a, b, t, e.span)
            case A.Index():
                return self.index(e, sc)
            case A.Field():
                base = self.expr(e.base, sc)
                bt = base.type
                if bad(bt):
                    return self.poison(e.span)
                if not isinstance(bt, TRecord):
                    return self.err("ZB012", f"`.{e.name}` on a value of type {bt}, not a "
                                    "record", e.span)
                pos = bt.field_index(e.name)
                if pos is None:
                    return self.err("ZB015", f"record {bt.name} has no field `{e.name}`",
                                    e.span, did_you_mean(e.name, [n for n, _ in bt.fields]))
                return ir.FieldGet(base, pos, e.name, bt.fields[pos][1], e.span)
            case A.RecordUpdate():
                base = self.expr(e.base, sc, expected)
                bt = base.type
                if bad(bt):
                    return self.poison(e.span)
                if not isinstance(bt, TRecord):
                    return self.err("ZB012", f"`with {{...}}` on {bt}, not a record", e.span)
                ups = []
                for fi in e.fields:
                    pos = bt.field_index(fi.name)
                    if pos is None:
                        self.err("ZB015", f"record {bt.name} has no field `{fi.name}`",
                                 fi.span, did_you_mean(fi.name, [n for n, _ in bt.fields]))
                        continue
                    ft = bt.fields[pos][1]
                    ups.append((pos, self.expect(self.expr(fi.value, sc, ft), ft,
                                                 fi.value.span, f"field `{fi.name}`")))
                return ir.RecordWith(base, tuple(ups), bt, e.span)
            case A.MapUpdate():
                base = self.expr(e.base, sc, expected)
                bt = base.type
                if bad(bt):
                    return self.poison(e.span)
                if not isinstance(bt, TMap):
                    return self.err("ZB012", f"`with [k -> v]` on {bt}, not a map", e.span)
                k = self.expect(self.expr(e.key, sc, bt.key), bt.key, e.key.span, "map key")
                v = self.expect(self.expr(e.value, sc, bt.value), bt.value, e.value.span,
                                "map element")
                return ir.MapWith(base, k, v, bt.key, bt, e.span)
            case A.Unary():
                if e.op == "!":
                    x = self.expect(self.expr(e.operand, sc, BOOL), BOOL, e.operand.span,
                                    "operand of `!`")
                    return ir.Unop("!", x, BOOL, e.span)
                x = self.expect(self.expr(e.operand, sc, INT), INT, e.operand.span,
                                "operand of `-`")
                return ir.Unop("-", x, INT, e.span)
            case A.Binary():
                return self.binary(e, sc)
            case A.Quant():
                return self.quant(e, sc)

    def index(self, e: A.Index, sc: Scope) -> ir.Expr:
        base = self.expr(e.base, sc)
        bt = base.type
        if bad(bt):
            return self.poison(e.span)
        if not isinstance(bt, TMap):
            return self.err("ZB012", f"indexing a value of type {bt}, not a map", e.span)
        k = self.expect(self.expr(e.index, sc, bt.key), bt.key, e.index.span, "map key")
        return ir.MapGet(base, k, bt.key, bt.value, e.span)

    def binary(self, e: A.Binary, sc: Scope) -> ir.Expr:
        op = e.op
        if op in ("&&", "||", "==>"):
            a = self.expect(self.expr(e.left, sc, BOOL), BOOL, e.left.span, f"left of `{op}`")
            b = self.expect(self.expr(e.right, sc, BOOL), BOOL, e.right.span,
                            f"right of `{op}`")
            return ir.Binop(op, a, b, BOOL, e.span)
        a = self.expr(e.left, sc)
        b = self.expr(e.right, sc, a.type)
        ta, tb = a.type, b.type
        if isinstance(ta, TNoneLit | TEmpty) and not bad(tb):
            a = self.expr(e.left, sc, tb)
            ta = a.type
        if bad(ta) or bad(tb):
            return self.poison(e.span)
        if op in ("==", "!="):
            if not comparable(ta, tb):
                return self.err("ZB012", f"cannot compare {ta} with {tb}", e.span)
            return ir.Binop(op, a, b, BOOL, e.span)
        if op == "in":
            if not isinstance(tb, TSet | TList):
                return self.err("ZB012", f"`in` needs a set or list on the right, found {tb}",
                                e.right.span)
            if not assignable(ta, tb.elem):
                return self.err("ZB012", f"{ta} cannot be an element of {tb}", e.left.span)
            return ir.Binop(op, a, b, BOOL, e.span)
        if isinstance(ta, TSet) and op in ("+", "-", "&"):
            if not assignable(tb, ta):
                return self.err("ZB012", f"set operator `{op}` on {ta} and {tb}", e.span)
            return ir.Binop(op, a, b, ta, e.span)
        if not isinstance(ta, TInt) or not isinstance(tb, TInt):
            wrong = e.left if not isinstance(ta, TInt) else e.right
            found = ta if not isinstance(ta, TInt) else tb
            return self.err("ZB012", f"`{op}` needs integers, found {found}", wrong.span)
        if op in ("<", "<=", ">", ">="):
            return ir.Binop(op, a, b, BOOL, e.span)
        return ir.Binop(op, a, b, INT, e.span)

    def quant(self, e: A.Quant, sc: Scope) -> ir.Expr:
        dom, vt = self.domain(e.domain, sc)
        inner = sc.child(e.var, vt)
        body = self.expect(self.expr(e.body, inner, BOOL), BOOL, e.body.span,
                           f"body of `{e.kind}`")
        t: Type = BOOL if e.kind in ("forall", "exists") else INT if e.kind == "count" else \
            TOption(vt)
        return ir.Quant(e.kind, e.var, vt, dom, body, t, e.span)

    def set_lit(self, e: A.SetLit, sc: Scope, expected: Type | None) -> ir.Expr:
        if not e.items:
            if isinstance(expected, TSet):
                return ir.Lit(frozenset(), expected, e.span)
            return ir.Lit(frozenset(), TEmpty("set"), e.span)
        want = expected.elem if isinstance(expected, TSet) else None
        items = [self.expr(i, sc, want) for i in e.items]
        et = want or items[0].type
        items = [self.expect(x, et, i.span, "set element") for x, i in zip(items, e.items,
                                                                             strict=True)]
        return ir.SetLit(tuple(items), TSet(et), e.span)

    def record_lit(self, e: A.RecordLit, sc: Scope) -> ir.Expr:
        if e.type_name not in self.syms.types:
            return self.err("ZB010", f"unknown record type `{e.type_name}`", e.span,
                            did_you_mean(e.type_name, list(self.syms.types)))
        rt = self.resolve_type(A.NamedType(e.type_name, e.span))
        if bad(rt):
            return self.poison(e.span)
        if not isinstance(rt, TRecord):
            return self.err("ZB012", f"`{e.type_name}` is {rt}, not a record", e.span)
        given: dict[str, ir.Expr] = {}
        for fi in e.fields:
            pos = rt.field_index(fi.name)
            if pos is None:
                self.err("ZB015", f"record {rt.name} has no field `{fi.name}`", fi.span,
                         did_you_mean(fi.name, [n for n, _ in rt.fields]))
                continue
            if fi.name in given:
                self.err("ZB011", f"field `{fi.name}` given twice", fi.span)
            ft = rt.fields[pos][1]
            given[fi.name] = self.expect(self.expr(fi.value, sc, ft), ft, fi.value.span,
                                         f"field `{fi.name}`")
        missing = [n for n, _ in rt.fields if n not in given]
        if missing:
            return self.err("ZB032", f"{rt.name} literal is missing field(s) "
                            + ", ".join(f"`{m}`" for m in missing), e.span)
        return ir.RecordLit(tuple(given[n] for n, _ in rt.fields), rt, e.span)

    # ---- calls of functions and builtins
    def call(self, e: A.Call, sc: Scope, expected: Type | None) -> ir.Expr:
        if e.func in self.syms.procs:
            return self.err("ZB022", f"`{e.func}` is a procedure: call it as a statement "
                            f"(`x = {e.func}(...);`), not inside an expression", e.span)
        if e.func in self.syms.fns:
            return self.fn_call(e, sc)
        if e.func in BUILTINS:
            return self.builtin(e, sc, expected)
        cands = [*self.syms.fns, *self.syms.procs, *BUILTINS]
        return self.err("ZB010", f"unknown function `{e.func}`", e.func_span,
                        did_you_mean(e.func, cands))

    def arity(self, e: A.Call, n: int) -> bool:
        if len(e.args) != n:
            self.err("ZB013", f"`{e.func}` takes {n} argument(s), {len(e.args)} given", e.span)
            return False
        return True

    def fn_call(self, e: A.Call, sc: Scope) -> ir.Expr:
        self.syms.used.add(e.func)
        decl = self.syms.fns[e.func]
        if e.func in self.fn_busy:
            return self.err("ZB017", f"function `{e.func}` calls itself: functions must be "
                            "non-recursive so that every expression terminates", e.span)
        if e.func not in self.syms.lowered_fns and self.lower_fn is not None:
            self.lower_fn(e.func)
        if not self.arity(e, len(decl.params)):
            return self.poison(e.span)
        lowered = self.syms.lowered_fns.get(e.func)
        if lowered is None:  # its own lowering failed, or it is being lowered (recursion)
            for a in e.args:
                self.expr(a, sc)
            return self.poison(e.span)
        args = []
        for (pname, pt), a in zip(lowered.params, e.args, strict=True):
            args.append(self.expect(self.expr(a, sc, pt), pt, a.span, f"argument `{pname}`"))
        return ir.FnCall(e.func, tuple(args), lowered.result, e.span)

    def _qualified(self, a: A.Expr) -> tuple[str, str] | None:
        if isinstance(a, A.Field) and isinstance(a.base, A.Name):
            return a.base.id, a.name
        return None

    def builtin(self, e: A.Call, sc: Scope, expected: Type | None) -> ir.Expr:
        f = e.func
        if sc.const_only and f in ("held", "holder", "at", "local", "idle"):
            return self.err("ZB017", f"`{f}(...)` reads the running system: not allowed in a "
                            "constant expression", e.span)
        if f in ("held", "holder"):
            if not self.arity(e, 1):
                return self.poison(e.span)
            a = e.args[0]
            if not isinstance(a, A.Name) or a.id not in self.syms.locks:
                return self.err("ZB027", f"`{f}` takes a lock", a.span,
                                did_you_mean(getattr(a, "id", ""), list(self.syms.locks)))
            self.syms.used.add(a.id)
            if f == "held" and not sc.thread:
                return self.err("ZB031", "`held(...)` means 'held by this thread': only inside "
                                "a procedure", e.span, "in an invariant use `holder(lock)`")
            t: Type = BOOL if f == "held" else TOption(self.thread_type)
            return ir.Builtin(f, (), t, e.span, (a.id, str(self.syms.locks[a.id])))
        if f in ("at", "local"):
            if not self.arity(e, 2):
                return self.poison(e.span)
            if not sc.invariant:
                return self.err("ZB031", f"`{f}(...)` reads another thread's state: only in "
                                "invariants", e.span)
            th = self.expect(self.expr(e.args[0], sc, self.thread_type), self.thread_type,
                             e.args[0].span, "thread")
            q = self._qualified(e.args[1])
            what = "label" if f == "at" else "variable"
            if q is None or q[0] not in self.syms.procs:
                return self.err("ZB012", f"`{f}` takes a thread and `procedure.{what}`",
                                e.args[1].span)
            proc = self.syms.procs[q[0]]
            if f == "at":
                labels = labels_of(proc.body)
                if q[1] not in labels:
                    return self.err("ZB010", f"`{q[0]}` has no label `{q[1]}`",
                                    e.args[1].span, did_you_mean(q[1], labels))
                return ir.Builtin(f, (th,), BOOL, e.span, q)
            vt = _local_type(proc, q[1], self.resolve_type)
            if vt is None:
                return self.err("ZB010", f"`{q[0]}` has no parameter or local `{q[1]}`",
                                e.args[1].span)
            return ir.Builtin(f, (th,), vt, e.span, q)
        if f == "idle":
            if not self.arity(e, 1):
                return self.poison(e.span)
            if not sc.invariant:
                return self.err("ZB031", "`idle(t)` reads another thread's state: only in "
                                "invariants and `requires`", e.span)
            th = self.expect(self.expr(e.args[0], sc, self.thread_type), self.thread_type,
                             e.args[0].span, "thread")
            return ir.Builtin(f, (th,), BOOL, e.span)
        if f in ("min", "max"):
            if len(e.args) < 2:
                return self.err("ZB013", f"`{f}` takes at least 2 arguments", e.span)
            args = tuple(self.expect(self.expr(a, sc, INT), INT, a.span, f"argument of {f}")
                         for a in e.args)
            return ir.Builtin(f, args, INT, e.span)
        n = {"list_add": 2, "list_add_tail": 2, "list_del": 2, "list_replace": 3}.get(f, 1)
        if not self.arity(e, n):
            return self.poison(e.span)
        first = self.expr(e.args[0], sc, expected if n == 2 else None)
        ft = first.type
        if bad(ft):
            return self.poison(e.span)
        if f in ("unwrap", "is_some"):
            if not isinstance(ft, TOption):
                return self.err("ZB012", f"`{f}` needs an option, found {ft}", e.args[0].span)
            return ir.Builtin(f, (first,), ft.inner if f == "unwrap" else BOOL, e.span)
        if f == "len":
            if not isinstance(ft, TList | TSet):
                return self.err("ZB012", f"`len` needs a list or set, found {ft}",
                                e.args[0].span)
            return ir.Builtin(f, (first,), INT, e.span)
        if not isinstance(ft, TList):
            return self.err("ZB012", f"`{f}` needs a list, found {ft}", e.args[0].span)
        if n >= 2:
            xs = tuple(self.expect(self.expr(a, sc, ft.elem), ft.elem, a.span, "list element")
                       for a in e.args[1:])
            return ir.Builtin(f, (first, *xs), ft, e.span)
        rt: Type = BOOL if f == "list_empty" else ft.elem
        return ir.Builtin(f, (first,), rt, e.span)

    # ---- constants
    def const_eval(self, e: A.Expr, want: Type | None) -> tuple[object, Type] | None:
        sc = Scope(const_only=True)
        before = len(self.diags)
        poisoned = self.poison_count
        x = self.expr(e, sc, want)
        if want is not None:
            x = self.expect(x, want, e.span, "constant")
        if len(self.diags) > before or bad(x.type) or self.poison_count > poisoned:
            return None
        try:
            v = evaluate(x, Ctx(fns=self.syms.lowered_fns))
        except EvalError as exc:
            inside = exc.span.file == e.span.file and (
                (e.span.line, e.span.col) <= (exc.span.line, exc.span.col)
                <= (e.span.end_line, e.span.end_col))
            where = "" if inside else f" (at {exc.span})"
            self.diags.append(error("ZB017", f"cannot evaluate constant: {exc.message}{where}",
                                    exc.span if inside else e.span))
            return None
        return v, x.type


def _local_type(proc: A.ProcDecl, name: str,
                resolve: Callable[[A.TypeExpr], Type]) -> Type | None:
    for p in proc.params:
        if p.name == name:
            return resolve(p.type)
    found = [d for b in blocks(proc.body) for d in b.locals]
    for d in found:
        if d.name == name:
            return resolve(d.type)
    return None


__all__ = ["ERR", "ExprLowerer", "Scope", "TBool"]
