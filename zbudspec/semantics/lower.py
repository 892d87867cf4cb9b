"""The checker: names, scopes, types, arity, locks, steps; produces the IR `Program`.

`check(loaded, options)` collects every diagnostic it can (only a parse error stops early)
and returns the program only when there is no error. Parameters are resolved first
(defaults < the selected config < `-D`), so the IR holds concrete ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zbudspec.diagnostics import Diagnostic, did_you_mean, error, warning
from zbudspec.semantics import ir
from zbudspec.semantics.exprs import ERR, ExprLowerer, Scope, bad
from zbudspec.semantics.loader import Loaded
from zbudspec.semantics.scope import Const, Symbols, TypeAlias, Var
from zbudspec.semantics.steps import StepBuilder, always_returns
from zbudspec.semantics.structured import (
    SCall,
    SEither,
    SFor,
    SIf,
    SLabelled,
    SStmt,
    SWhile,
    yields,
)
from zbudspec.semantics.types import (
    BOOL,
    ERRNO,
    INT,
    TBool,
    TEmpty,
    TEnum,
    TInt,
    TList,
    TMap,
    TOption,
    TRecord,
    TSet,
    Type,
    Value,
    assignable,
    domain_values,
    in_type,
    is_finite,
    is_key_type,
    show_value,
)
from zbudspec.syntax import ast as A
from zbudspec.syntax.walk import statements

DEFAULT_THREADS = 2
RESERVED = ("forall", "exists", "count", "find")


@dataclass(frozen=True)
class Options:
    overrides: tuple[tuple[str, str], ...] = ()  # -D NAME=VALUE, in order
    config: str | None = None
    threads: int | None = None


@dataclass
class CheckResult:
    program: ir.Program | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.program is not None


def zero(t: Type) -> Value:
    """The default value of a type (a `local` without an initialiser)."""
    if isinstance(t, TBool):
        return False
    if isinstance(t, TInt):
        return t.lo if t.lo is not None and t.lo > 0 else (0 if t.hi is None or t.hi >= 0
                                                            else t.hi)
    if isinstance(t, TEnum):
        return t.members[0] if t.members else None
    if isinstance(t, TOption):
        return None
    if isinstance(t, TSet):
        return frozenset()
    if isinstance(t, TList):
        return ()
    if isinstance(t, TMap):
        return (zero(t.value),) * len(domain_values(t.key))
    if isinstance(t, TRecord):
        return tuple(zero(ft) for _, ft in t.fields)
    return None


class Checker:
    def __init__(self, loaded: Loaded, options: Options) -> None:
        self.loaded = loaded
        self.opts = options
        self.diags: list[Diagnostic] = []
        self.syms = Symbols()
        self.spans: dict[str, A.Span] = {}
        self.threads = DEFAULT_THREADS
        self.thread_type: Type = TInt(0, DEFAULT_THREADS - 1, "Thread")
        self.config: A.ConfigDecl | None = None
        self.overrides: dict[str, tuple[A.Expr | str, A.Span | None]] = {}
        self.multi: set[str] = set()
        self.x = ExprLowerer(self.syms, self.diags, self.const_value, self.resolve_type,
                             self.thread_type)
        self.x.lower_fn = self.lower_fn

    # ---- declarations
    def declare(self, name: str, span: A.Span, table: dict[str, object]) -> bool:
        if name in RESERVED:
            self.diags.append(error("ZB011", f"`{name}` is a reserved word (a quantifier)",
                                    span))
            return False
        if name in self.spans or name in ("Thread", "Errno") or name in ERRNO.members:
            first = self.spans.get(name)
            where = f"first declared at {first}" if first else "a built-in name"
            self.diags.append(error("ZB011", f"`{name}` is declared twice ({where})", span))
            return False
        self.spans[name] = span
        return True

    def collect(self) -> None:
        s = self.syms
        for m in ERRNO.members:
            s.members[m] = "Errno"
        s.types["Errno"] = TypeAlias(None, ERRNO, "done")
        for d in self.loaded.decls:
            match d:
                case A.ConstDecl():
                    if self.declare(d.name, d.span, s.consts):  # type: ignore[arg-type]
                        s.consts[d.name] = Const(d)
                case A.TypeDecl() | A.RecordDecl():
                    if self.declare(d.name, d.span, s.types):  # type: ignore[arg-type]
                        s.types[d.name] = TypeAlias(d)
                case A.EnumDecl():
                    if self.declare(d.name, d.span, s.types):  # type: ignore[arg-type]
                        s.types[d.name] = TypeAlias(d)
                    for mem in d.members:
                        if self.declare(mem.name, mem.span, s.members):  # type: ignore[arg-type]
                            s.members[mem.name] = d.name
                case A.VarDecl():
                    if self.declare(d.name, d.span, s.vars):  # type: ignore[arg-type]
                        s.vars[d.name] = Var(d, len(s.vars))
                case A.LockDecl():
                    if self.declare(d.name, d.span, s.locks):  # type: ignore[arg-type]
                        s.locks[d.name] = len(s.locks)
                case A.FnDecl():
                    if self.declare(d.name, d.span, s.fns):  # type: ignore[arg-type]
                        s.fns[d.name] = d
                case A.ProcDecl():
                    if self.declare(d.name, d.span, s.procs):  # type: ignore[arg-type]
                        s.procs[d.name] = d
                case A.InvariantDecl():
                    if any(i.name == d.name for i in s.invariants):
                        self.diags.append(error("ZB011", f"invariant `{d.name}` declared "
                                                "twice", d.span))
                    s.invariants.append(d)
                case A.ClientDecl():
                    s.clients.append(d)
                case A.ConfigDecl():
                    if d.name in s.configs:
                        self.diags.append(error("ZB011", f"config `{d.name}` declared twice",
                                                d.span))
                    s.configs[d.name] = d

    # ---- parameters and constants
    def select_config(self) -> None:
        name = self.opts.config
        if name is None:
            return
        if name not in self.syms.configs:
            self.diags.append(error(
                "ZB004", f"no config named `{name}` in {self.loaded.root}",
                A.Span(self.loaded.root, 1, 1, 1, 1),
                did_you_mean(name, list(self.syms.configs)) or
                f"configs: {', '.join(self.syms.configs) or 'none'}"))
            return
        self.config = self.syms.configs[name]
        for cs in self.config.sets:
            self.overrides[cs.name] = (cs.value, cs.span)

    def validate_configs(self) -> None:
        """Every config names parameters only, with values of their types (checked for all
        configs, not only the one selected)."""
        for cfg in self.syms.configs.values():
            if cfg is self.config:
                continue
            for cs in cfg.sets:
                c = self.syms.consts.get(cs.name)
                if c is None or not c.decl.is_param:
                    what = "a const" if c is not None else "not a parameter"
                    params = [n for n, k in self.syms.consts.items() if k.decl.is_param]
                    self.diags.append(error("ZB030", f"config `{cfg.name}` sets `{cs.name}`, "
                                            f"{what}", cs.span, did_you_mean(cs.name, params)))
                    continue
                want = self.resolve_type(c.decl.type) if c.decl.type is not None else None
                got = self.x.const_eval(cs.value, want)
                if got is not None and want is not None and not in_type(want, got[0]):
                    self.diags.append(error("ZB030", f"config `{cfg.name}` sets `{cs.name}` to "
                                            f"{show_value(want, got[0])}, outside {want}",
                                            cs.span))

    def apply_cli_overrides(self) -> None:
        for name, text in self.opts.overrides:
            self.overrides[name] = (text, None)

    def check_override_names(self) -> None:
        for name, (_, span) in self.overrides.items():
            c = self.syms.consts.get(name)
            where = span or A.Span("<command line>", 1, 1, 1, 1)
            how = f"config `{self.config.name}` sets" if span and self.config else "-D"
            if c is None:
                params = [n for n, k in self.syms.consts.items() if k.decl.is_param]
                self.diags.append(error("ZB004", f"{how} `{name}`: no parameter named "
                                        f"`{name}`", where, did_you_mean(name, params)))
            elif not c.decl.is_param:
                self.diags.append(error("ZB004", f"{how} `{name}`, a const; only `param`s can "
                                        "be set from a config or -D", where))

    def parse_cli_value(self, name: str, text: str, want: Type) -> Value:
        """A `-D NAME=VALUE` value, read as the parameter's type."""
        t = text.strip()
        if isinstance(want, TBool):
            if t in ("true", "false"):
                return t == "true"
            raise ValueError(f"`-D {name}={text}`: `{name}` is a bool: expected true or false")
        if isinstance(want, TEnum):
            if t in want.members:
                return t
            raise ValueError(f"`-D {name}={text}`: `{name}` is a {want.name}: expected one of "
                             + ", ".join(want.members))
        if isinstance(want, TInt):
            try:
                return int(t, 0)
            except ValueError:
                raise ValueError(f"`-D {name}={text}`: `{name}` is an integer") from None
        raise ValueError(f"`-D {name}`: a parameter of type {want} cannot be set from the "
                         "command line")

    def const_value(self, name: str, at: A.Span) -> tuple[Value, Type] | None:
        c = self.syms.consts[name]
        if c.state == "done":
            assert c.type is not None
            return c.value, c.type
        if c.state == "failed":
            return None
        if c.state == "busy":
            self.diags.append(error("ZB017", f"`{name}` is defined in terms of itself", at))
            c.state = "failed"
            return None
        c.state = "busy"
        d = c.decl
        want = self.resolve_type(d.type) if d.type is not None else None
        if want is not None and bad(want):
            c.state = "failed"
            return None
        ov = self.overrides.get(name) if d.is_param else None
        result: tuple[Value, Type] | None
        if ov is not None and isinstance(ov[0], str):
            if want is None:  # an untyped param takes the type of its default value
                default = self.x.const_eval(d.value, None)
                if default is None:
                    c.state = "failed"
                    return None
                want = default[1]
            try:
                v = self.parse_cli_value(name, ov[0], want)
            except ValueError as exc:
                self.diags.append(error("ZB004", str(exc), A.Span("<command line>", 1, 1, 1, 1)))
                c.state = "failed"
                return None
            result = (v, want)
        else:
            expr = ov[0] if ov is not None else d.value
            assert not isinstance(expr, str)
            result = self.x.const_eval(expr, want)
        if result is None:
            c.state = "failed"
            return None
        v, t = result
        if want is not None:
            if not in_type(want, v):
                span = ov[1] if ov and ov[1] else (d.span if ov is None else
                                                    A.Span("<command line>", 1, 1, 1, 1))
                self.diags.append(error("ZB004" if ov else "ZB012",
                                        f"`{name}` = {show_value(want, v)} is outside its "
                                        f"type {want}", span))
                c.state = "failed"
                return None
            t = want
        c.value, c.type, c.state = v, t, "done"
        return v, t

    # ---- types
    def resolve_type(self, te: A.TypeExpr | None) -> Type:
        if te is None:
            return ERR
        match te:
            case A.BoolType():
                return BOOL
            case A.IntType():
                return INT
            case A.RangeType():
                return self.range_type(te, None)
            case A.OptionType():
                inner = self.resolve_type(te.inner)
                return ERR if bad(inner) else TOption(inner)
            case A.SetType():
                inner = self.resolve_type(te.elem)
                return ERR if bad(inner) else TSet(inner)
            case A.ListType():
                inner = self.resolve_type(te.elem)
                if not bad(inner) and not is_key_type(inner):
                    self.diags.append(error("ZB016", f"list elements must be of a finite key "
                                            f"type, not {inner}", te.span))
                    return ERR
                return ERR if bad(inner) else TList(inner)
            case A.MapType():
                k = self.resolve_type(te.key)
                v = self.resolve_type(te.value)
                if bad(k) or bad(v):
                    return ERR
                if not is_key_type(k):
                    self.diags.append(error("ZB016", f"map keys must be bool, an enum or a "
                                            f"bounded range, not {k}", te.key.span))
                    return ERR
                return TMap(k, v)
            case A.NamedType():
                return self.named_type(te)

    def range_type(self, te: A.RangeType, name: str | None) -> Type:
        lo = self.x.const_eval(te.lo, INT)
        hi = self.x.const_eval(te.hi, INT)
        if lo is None or hi is None:
            return ERR
        a, b = lo[0], hi[0]
        assert isinstance(a, int) and isinstance(b, int)
        if a > b:
            self.diags.append(error("ZB018", f"empty range {a}..{b}", te.span))
            return ERR
        return TInt(a, b, name)

    def named_type(self, te: A.NamedType) -> Type:
        if te.name == "Thread":
            return self.thread_type
        if te.name == "bool":
            return BOOL
        alias = self.syms.types.get(te.name)
        if alias is None:
            self.diags.append(error("ZB010", f"unknown type `{te.name}`", te.span,
                                    did_you_mean(te.name, [*self.syms.types, "Thread"])))
            return ERR
        self.syms.used.add(te.name)
        if alias.state == "done":
            assert alias.type is not None
            return alias.type
        if alias.state == "busy":
            self.diags.append(error("ZB016", f"type `{te.name}` is defined in terms of itself",
                                    te.span))
            return ERR
        alias.state = "busy"
        d = alias.decl
        t: Type
        if isinstance(d, A.EnumDecl):
            t = TEnum(d.name, tuple(m.name for m in d.members))
        elif isinstance(d, A.RecordDecl):
            fields: list[tuple[str, Type]] = []
            for f in d.fields:
                if any(n == f.name for n, _ in fields):
                    self.diags.append(error("ZB011", f"field `{f.name}` declared twice",
                                            f.span))
                fields.append((f.name, self.resolve_type(f.type)))
            t = ERR if any(bad(ft) for _, ft in fields) else TRecord(d.name, tuple(fields))
        else:
            assert isinstance(d, A.TypeDecl)
            if isinstance(d.type, A.RangeType):
                t = self.range_type(d.type, d.name)
            else:
                t = self.resolve_type(d.type)
        alias.type, alias.state = t, "done"
        return t

    # ---- multi-step analysis
    def find_multi(self) -> None:
        calls: dict[str, set[str]] = {}
        for name, p in self.syms.procs.items():
            labels, called = _scan(p.body)
            calls[name] = called & set(self.syms.procs)
            if labels or p.is_op:
                self.multi.add(name)
        changed = True
        while changed:
            changed = False
            for name, called in calls.items():
                if name not in self.multi and called & self.multi:
                    self.multi.add(name)
                    changed = True

    # ---- globals
    def lower_globals(self) -> list[ir.GlobalDecl]:
        out: list[ir.GlobalDecl] = []
        for name, v in self.syms.vars.items():
            d = v.decl
            t = v.type if v.type is not None else self.resolve_type(d.type)
            v.type = t
            if bad(t):
                out.append(ir.GlobalDecl(name, t, None, d.ghost, d.span))
                continue
            if not is_finite(t):
                self.diags.append(error("ZB016", f"state variable `{name}` has an unbounded "
                                        f"type {t}", d.type.span,
                                        "use a range type such as `0..NCHUNKS`"))
            val = self.x.const_eval(d.init, t)
            if val is not None and not in_type(t, val[0]):
                self.diags.append(error("ZB012", f"initial value of `{name}` is outside {t}",
                                        d.init.span))
            out.append(ir.GlobalDecl(name, t, val[0] if val else None, d.ghost, d.span))
        return out

    # ---- functions
    def lower_fns(self) -> None:
        for name in self.syms.fns:
            self.lower_fn(name)

    def lower_fn(self, name: str) -> None:
        """Lower one function (on first use, so constants may call functions)."""
        if name in self.syms.lowered_fns or name in self.x.fn_busy:
            return
        d = self.syms.fns[name]
        self.check_params(d.params)
        self.x.fn_busy.add(name)
        try:
            params = tuple((p.name, self.resolve_type(p.type)) for p in d.params)
            rt = self.resolve_type(d.result)
            sc = Scope({n: (t, "param") for n, t in params})
            body = self.x.expect(self.x.expr(d.body, sc, rt), rt, d.body.span,
                                 f"result of `{name}`")
        finally:
            self.x.fn_busy.discard(name)
        self.syms.lowered_fns[name] = ir.Fn(name, params, rt, body, d.span)

    # ---- statements
    def lvalue(self, lv: A.LValue, sc: Scope, pl: ProcLowering) -> ir.LVal | None:
        if lv.name in sc.names:
            t, kind = sc.names[lv.name]
            if kind == "bound":
                self.diags.append(error("ZB014", f"cannot assign to `{lv.name}`: it is a loop "
                                        "or quantifier variable", lv.span))
                return None
            sc.used.add(lv.name)
            pl.assigned.add(lv.name)
            is_global, index = False, -1
        elif lv.name in self.syms.vars:
            v = self.syms.vars[lv.name]
            self.syms.used.add(lv.name)
            t = v.type or ERR
            is_global, index = True, v.index
        elif lv.name in self.syms.locks or lv.name in self.syms.fns or \
                lv.name in self.syms.procs or lv.name in self.syms.types:
            kind = ("lock" if lv.name in self.syms.locks else "function" if lv.name in
                    self.syms.fns else "procedure" if lv.name in self.syms.procs else "type")
            self.diags.append(error("ZB014", f"cannot assign to {kind} `{lv.name}`", lv.span))
            return None
        elif lv.name in self.syms.consts or lv.name in self.syms.members:
            kind = "enum member" if lv.name in self.syms.members else (
                "parameter" if self.syms.consts[lv.name].decl.is_param else "constant")
            self.diags.append(error("ZB014", f"cannot assign to {kind} `{lv.name}`", lv.span))
            return None
        else:
            cands = [*sc.names, *self.syms.vars]
            self.diags.append(error("ZB010", f"unknown name `{lv.name}`", lv.span,
                                    did_you_mean(lv.name, cands)))
            return None
        path: list[tuple[str, int | ir.Expr, Type]] = []
        for sel in lv.path:
            if bad(t):
                return None
            if isinstance(sel, A.FieldSel):
                if not isinstance(t, TRecord):
                    self.diags.append(error("ZB012", f"`.{sel.name}` on {t}, not a record",
                                            sel.span))
                    return None
                pos = t.field_index(sel.name)
                if pos is None:
                    self.diags.append(error("ZB015", f"record {t.name} has no field "
                                            f"`{sel.name}`", sel.span,
                                            did_you_mean(sel.name, [n for n, _ in t.fields])))
                    return None
                path.append(("f", pos, t))
                t = t.fields[pos][1]
            else:
                if not isinstance(t, TMap):
                    self.diags.append(error("ZB012", f"indexing {t}, not a map", sel.span))
                    return None
                k = self.x.expect(self.x.expr(sel.index, sc, t.key), t.key, sel.index.span,
                                  "map key")
                path.append(("k", k, t))
                t = t.value
        return ir.LVal(lv.name, is_global, index, tuple(path), t, lv.span)

    def block(self, b: A.Block, sc: Scope, pl: ProcLowering) -> tuple[SStmt, ...]:
        out: list[SStmt] = []
        for ld in b.locals:
            t = self.resolve_type(ld.type)
            if ld.name in RESERVED:
                self.diags.append(error("ZB011", f"`{ld.name}` is a reserved word (a "
                                        "quantifier)", ld.span))
                continue
            if ld.name in sc.names or ld.name in pl.local_types:
                self.diags.append(error("ZB011", f"local `{ld.name}` declared twice in "
                                        f"`{pl.name}`", ld.span))
                continue
            if ld.name in self.syms.vars or ld.name in self.syms.consts:
                self.diags.append(warning("ZB011", f"local `{ld.name}` shadows a global",
                                          ld.span))
            if not bad(t) and not is_finite(t):
                self.diags.append(error("ZB016", f"local `{ld.name}` has an unbounded type "
                                        f"{t}", ld.type.span, "use a range type"))
            sc.names[ld.name] = (t, "local")
            pl.local_types[ld.name] = t
            pl.local_spans[ld.name] = ld.span
            init: ir.Expr | None = None
            if ld.init is not None:
                init = self.x.expect(self.x.expr(ld.init, sc, t), t, ld.init.span,
                                     f"initial value of `{ld.name}`")
            if pl.depth == 0:
                pl.locals.append((ld.name, t, init))
            else:
                pl.locals.append((ld.name, t, None))
                value = init if init is not None else ir.Lit(zero(t), t, ld.span)
                out.append(ir.Assign(ir.LVal(ld.name, False, -1, (), t, ld.span), value,
                                     ld.span))
        pl.depth += 1
        for s in b.stmts:
            out.extend(self.stmt(s, sc, pl))
        pl.depth -= 1
        return tuple(out)

    def stmt(self, s: A.Stmt, sc: Scope, pl: ProcLowering) -> list[SStmt]:
        match s:
            case A.Block():
                return list(self.block(s, sc, pl))
            case A.Labelled():
                if s.label in pl.labels:
                    self.diags.append(error("ZB019", f"label `{s.label}` used twice in "
                                            f"`{pl.name}`", s.span))
                pl.labels[s.label] = s.span
                inner = self.stmt(s.stmt, sc, pl)
                first: SStmt = inner[0] if len(inner) == 1 else SIf(
                    ir.Lit(True, BOOL, s.span), tuple(inner), (), s.span)
                if not inner:
                    first = ir.Assert(ir.Lit(True, BOOL, s.span), "", s.span)
                return [SLabelled(s.label, first, s.span)]
            case A.Assign():
                if isinstance(s.value, A.Call) and s.value.func in self.syms.procs:
                    target = self.lvalue(s.target, sc, pl)
                    call = self.proc_call(s.value, sc, target, s.span)
                    return [call] if call else []
                target = self.lvalue(s.target, sc, pl)
                if target is None:
                    self.x.expr(s.value, sc)
                    return []
                v = self.x.expect(self.x.expr(s.value, sc, target.type), target.type,
                                  s.value.span, f"assignment to `{s.target.name}`")
                return [ir.Assign(target, v, s.span)]
            case A.CallStmt():
                if s.call.func in self.syms.procs:
                    call = self.proc_call(s.call, sc, None, s.span)
                    return [call] if call else []
                before = len(self.diags)
                self.x.expr(s.call, sc)
                if len(self.diags) == before:
                    self.diags.append(warning("ZB022", f"the value of `{s.call.func}(...)` is "
                                              "discarded", s.span))
                return []
            case A.Await():
                return [ir.Await(self.cond(s.cond, sc, "`await`"), s.span)]
            case A.Assert():
                msg = s.message or _source_text(self.loaded.sources, s.cond.span)
                return [ir.Assert(self.cond(s.cond, sc, "`assert`"), msg, s.span)]
            case A.LockStmt() | A.UnlockStmt():
                if s.lock not in self.syms.locks:
                    self.diags.append(error("ZB027", f"unknown lock `{s.lock}`", s.span,
                                            did_you_mean(s.lock, list(self.syms.locks))))
                    return []
                self.syms.used.add(s.lock)
                idx = self.syms.locks[s.lock]
                if isinstance(s, A.LockStmt):
                    return [ir.Lock(s.lock, idx, s.span)]
                return [ir.Unlock(s.lock, idx, s.span)]
            case A.Choose():
                return self.choose(s, sc, pl)
            case A.Return():
                return [self.ret(s, sc, pl)]
            case A.Skip():
                return []
            case A.If():
                c = self.cond(s.cond, sc, "`if`")
                then = self.block(s.then, sc, pl)
                else_ = self.block(s.else_, sc, pl) if s.else_ else ()
                return [SIf(c, then, else_, s.span)]
            case A.While():
                c = self.cond(s.cond, sc, "`while`")
                return [SWhile(c, self.block(s.body, sc, pl), s.span)]
            case A.For():
                dom, vt = self.x.domain(s.domain, sc)
                loop_sc = sc.child(s.var, vt)
                body = self.block(s.body, loop_sc, pl)
                for k, kv in loop_sc.names.items():
                    if k != s.var and k not in sc.names:
                        sc.names[k] = kv
                return [SFor(s.var, vt, dom, body, s.span)]
            case A.Either():
                return [SEither(tuple(self.block(b, sc, pl) for b in s.branches), s.span)]

    def cond(self, e: A.Expr, sc: Scope, what: str) -> ir.Expr:
        return self.x.expect(self.x.expr(e, sc, BOOL), BOOL, e.span, f"condition of {what}")

    def choose(self, s: A.Choose, sc: Scope, pl: ProcLowering) -> list[SStmt]:
        if s.target.path or s.target.name not in sc.names:
            self.diags.append(error("ZB014", "`choose` picks into a local variable of the "
                                    "procedure", s.target.span,
                                    "declare `local x: T;` and `choose x in D;`"))
            return []
        target = self.lvalue(s.target, sc, pl)
        dom, vt = self.x.domain(s.domain, sc)
        if target is None or bad(vt):
            return []
        if not assignable(vt, target.type):
            self.diags.append(error("ZB012", f"`choose` of a {vt} into `{s.target.name}` of "
                                    f"type {target.type}", s.span))
        where = self.cond(s.where, sc, "`where`") if s.where is not None else None
        return [ir.Choose(target, dom, vt, where, s.span)]

    def ret(self, s: A.Return, sc: Scope, pl: ProcLowering) -> ir.Return:
        if s.value is None:
            if pl.result is not None and not bad(pl.result):
                self.diags.append(error("ZB028", f"`{pl.name}` returns {pl.result}: `return` "
                                        "needs a value", s.span))
            return ir.Return(None, s.span)
        if pl.result is None:
            self.diags.append(error("ZB028", f"`{pl.name}` has no result type, so `return` "
                                    "takes no value", s.span, "declare `-> T` after the "
                                    "parameters"))
            return ir.Return(None, s.span)
        v = self.x.expect(self.x.expr(s.value, sc, pl.result), pl.result, s.value.span,
                          "returned value")
        return ir.Return(v, s.span)

    def proc_call(self, c: A.Call, sc: Scope, target: ir.LVal | None,
                  span: A.Span) -> SCall | None:
        callee = self.syms.procs[c.func]
        self.syms.used.add(c.func)
        if callee.is_op:
            self.diags.append(error("ZB022", f"`{c.func}` is an operation (a thread entry "
                                    "point); declare it `proc` to call it", c.span))
            return None
        if len(c.args) != len(callee.params):
            self.diags.append(error("ZB013", f"`{c.func}` takes {len(callee.params)} "
                                    f"argument(s), {len(c.args)} given", c.span))
            return None
        args = []
        for p, a in zip(callee.params, c.args, strict=True):
            pt = self.resolve_type(p.type)
            args.append(self.x.expect(self.x.expr(a, sc, pt), pt, a.span,
                                      f"argument `{p.name}` of `{c.func}`"))
        if target is not None:
            rt = self.resolve_type(callee.result) if callee.result else None
            if rt is None:
                self.diags.append(error("ZB028", f"`{c.func}` returns no value", c.span))
            elif not bad(rt) and not bad(target.type) and not assignable(rt, target.type):
                self.diags.append(error("ZB012", f"`{c.func}` returns {rt}, assigned to "
                                        f"{target.type}", span))
        return SCall(c.func, tuple(args), target, span)

    def check_params(self, params: tuple[A.ParamDecl, ...]) -> None:
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                self.diags.append(error("ZB011", f"parameter `{p.name}` declared twice",
                                        p.span))
            if p.name in RESERVED:
                self.diags.append(error("ZB011", f"`{p.name}` is a reserved word (a "
                                        "quantifier)", p.span))
            seen.add(p.name)

    def lower_proc(self, d: A.ProcDecl) -> ir.Proc:
        self.check_params(d.params)
        params = tuple((p.name, self.resolve_type(p.type)) for p in d.params)
        for (pn, pt), p in zip(params, d.params, strict=True):
            if not bad(pt) and not is_finite(pt):
                self.diags.append(error("ZB016", f"parameter `{pn}` has an unbounded type "
                                        f"{pt}", p.type.span, "use a range type"))
        result = self.resolve_type(d.result) if d.result is not None else None
        sc = Scope({n: (t, "param") for n, t in params}, thread=True)
        pl = ProcLowering(d.name, result)
        env_sc = Scope(dict(sc.names), thread=True, invariant=True, used=sc.used)
        requires = tuple(self.cond(r, env_sc, "`requires`") for r in d.requires)
        body = self.block(d.body, sc, pl)
        end = A.Span(d.span.file, d.span.end_line, max(1, d.span.end_col - 1), d.span.end_line,
                     d.span.end_col)
        builder = StepBuilder(d.name, self.multi, end, self.atomic_call)
        locals_ = tuple(pl.locals)
        if d.name in self.multi:
            entry = builder.build(body)
            if entry is None:
                what = "operation" if d.is_op else "multi-step procedure"
                self.diags.append(error("ZB025", f"{what} `{d.name}` must start with a "
                                        "label (its first step)", d.body.span,
                                        "write e.g. `S1: spin_lock(pool_lock);`"))
            if not any(x.is_error for x in builder.diagnostics) and entry is not None:
                builder.unreachable(list(pl.labels.items()))
            steps = builder.steps
            atomic_body: tuple[ir.Stmt, ...] = ()
        else:
            entry, steps = None, {}
            atomic_body = builder.atomics(body, "an atomic procedure")
            builder.falls_off = not always_returns(atomic_body)
        self.diags.extend(builder.diagnostics)
        if builder.falls_off and result is not None and not bad(result):
            self.diags.append(error("ZB028", f"`{d.name}` can reach its end without returning "
                                    f"a {result}", end))
        if self.warns_unused(d.span):
            for name, span in pl.local_spans.items():
                if name not in sc.used and name not in pl.assigned:
                    self.diags.append(warning("ZB021", f"local `{name}` is never used", span))
            for (pn, _), p in zip(params, d.params, strict=True):
                if pn not in sc.used:
                    self.diags.append(warning("ZB021", f"parameter `{pn}` of `{d.name}` is "
                                              "never used", p.span))
        return ir.Proc(d.name, d.is_op, params, locals_, result, requires, d.name in self.multi,
                       entry, steps, atomic_body, tuple(pl.labels), d.span)

    def atomic_call(self, c: SCall) -> ir.Stmt:
        return ir.CallAtomic(c.proc, c.args, c.target, c.span)

    # ---- invariants, client
    def lower_invariants(self) -> list[ir.Invariant]:
        out = []
        for d in self.syms.invariants:
            sc = Scope(invariant=True)
            out.append(ir.Invariant(d.name, self.cond(d.expr, sc, "an invariant"), d.span,
                                    lemma=d.lemma))
        return out

    def lower_client(self, procs: dict[str, ir.Proc]) -> ir.Client:
        ops = tuple(n for n, p in procs.items() if p.is_op)
        per: dict[int, tuple[str, ...]] = {}
        for c in self.syms.clients:
            names = list(c.ops or ()) + [n for _, ns in c.per_thread for n in ns]
            where = dict(c.name_spans)
            for n in names:
                if n not in procs or not procs[n].is_op:
                    self.diags.append(error("ZB030", f"client names `{n}`, which is not an "
                                            "operation", where.get(n, c.span),
                                            did_you_mean(n, [k for k, p in procs.items()
                                                             if p.is_op])))
            if c.ops is not None:
                ops = c.ops
            for t, ns in c.per_thread:
                if t >= self.threads:
                    self.diags.append(warning("ZB030", f"client restricts thread {t}, but only "
                                              f"{self.threads} thread(s) run", c.span))
                per[t] = ns
        return ir.Client(self.threads, ops, per)

    def warns_unused(self, span: A.Span) -> bool:
        """Unused names are reported for the root file only, and not when it is a library
        (a file without a `client` declaration exports what it declares)."""
        root = self.loaded.root
        return span.file == root and any(c.span.file == root for c in self.syms.clients)

    def unused(self) -> None:
        self.diags.extend(d for d in self._unused() if self.warns_unused(d.span))

    def _unused(self) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for name, c in self.syms.consts.items():
            if name not in self.syms.used and not c.decl.is_param:
                out.append(warning("ZB021", f"constant `{name}` is never used",
                                          c.decl.span))
        for name, a in self.syms.types.items():
            if name not in self.syms.used and a.decl is not None:
                out.append(warning("ZB021", f"type `{name}` is never used", a.decl.span))
        for name, f in self.syms.fns.items():
            if name not in self.syms.used:
                out.append(warning("ZB021", f"function `{name}` is never used", f.span))
        for name, p in self.syms.procs.items():
            if name not in self.syms.used and not p.is_op:
                out.append(warning("ZB021", f"procedure `{name}` is never called",
                                          p.span))
        for name, v in self.syms.vars.items():
            if name not in self.syms.used:
                out.append(warning("ZB021", f"state variable `{name}` is never used",
                                          v.decl.span))
        for name in self.syms.locks:
            if name not in self.syms.used:
                out.append(warning("ZB021", f"lock `{name}` is never used",
                                          self.spans[name]))
        return out

    # ---- driver
    def run(self) -> CheckResult:
        self.collect()
        self.select_config()
        self.apply_cli_overrides()
        self.check_override_names()
        client_threads = None
        for c in self.syms.clients:  # a later client block overrides what it sets
            if c.threads is not None:
                client_threads = c.threads
        decls: list[A.ClientDecl | A.ConfigDecl] = [*self.syms.clients,
                                                     *self.syms.configs.values()]
        for decl in decls:
            if decl.threads is not None and decl.threads < 1:
                self.diags.append(error("ZB030", "`threads` must be at least 1",
                                        decl.threads_span or decl.span))
        cfg_threads = self.config.threads if self.config else None
        self.threads = self.opts.threads or cfg_threads or client_threads or DEFAULT_THREADS
        self.thread_type = TInt(0, self.threads - 1, "Thread")
        self.x.thread_type = self.thread_type
        for name in self.syms.consts:
            self.const_value(name, self.syms.consts[name].decl.span)
        self.validate_configs()
        for name in self.syms.types:
            was_used = name in self.syms.used
            self.named_type(A.NamedType(name, self.spans.get(name, A.NO_SPAN)))
            if not was_used:
                self.syms.used.discard(name)
        for v in self.syms.vars.values():
            v.type = self.resolve_type(v.decl.type)
        self.lower_fns()
        globals_ = self.lower_globals()
        self.find_multi()
        procs = {name: self.lower_proc(d) for name, d in self.syms.procs.items()}
        invariants = self.lower_invariants()
        client = self.lower_client(procs)
        self.unused()
        params = {n: c.value for n, c in self.syms.consts.items()}
        param_names = tuple(n for n, c in self.syms.consts.items() if c.decl.is_param)
        if self.x.silent_poison and not any(d.is_error for d in self.diags):
            self.diags.append(error("ZB999", "internal: the checker lost track of an error "
                                    "(please report this spec)", A.Span(self.loaded.root, 1,
                                                                        1, 1, 1)))
        unique: dict[tuple[str, str, str, A.Span], Diagnostic] = {}
        for dg in self.diags:  # one report per problem, however many paths reach it
            unique.setdefault((dg.code, dg.severity.value, dg.message, dg.span), dg)
        diags = sorted(unique.values(), key=lambda d: (d.span.file, d.span.line, d.span.col))
        if any(d.is_error for d in diags):
            return CheckResult(None, diags, self.loaded.sources)
        program = ir.Program(
            self.loaded.root, params, param_names, tuple(globals_), tuple(self.syms.locks),
            dict(self.syms.lowered_fns), procs, tuple(invariants), client,
            self.config.depth if self.config else None, self.thread_type,
            dict(self.loaded.sources))
        return CheckResult(program, diags, self.loaded.sources)


@dataclass
class ProcLowering:
    name: str
    result: Type | None
    locals: list[tuple[str, Type, ir.Expr | None]] = field(default_factory=list)
    local_types: dict[str, Type] = field(default_factory=dict)
    local_spans: dict[str, A.Span] = field(default_factory=dict)
    labels: dict[str, A.Span] = field(default_factory=dict)
    assigned: set[str] = field(default_factory=set)
    depth: int = 0


def _scan(b: A.Block) -> tuple[set[str], set[str]]:
    """The labels of a body and the names it calls as statements."""
    labels: set[str] = set()
    calls: set[str] = set()
    for s in statements(b):
        if isinstance(s, A.Labelled):
            labels.add(s.label)
        elif isinstance(s, A.CallStmt):
            calls.add(s.call.func)
        elif isinstance(s, A.Assign) and isinstance(s.value, A.Call):
            calls.add(s.value.func)
    return labels, calls


def _source_text(sources: dict[str, str], span: A.Span) -> str:
    text = sources.get(span.file)
    if text is None or span.line != span.end_line:
        return "assertion"
    line = text.splitlines()[span.line - 1]
    return line[span.col - 1:span.end_col - 1]


def check(loaded: Loaded, options: Options | None = None) -> CheckResult:
    if any(d.is_error and d.code in ("ZB001", "ZB002", "ZB003") for d in loaded.diagnostics):
        return CheckResult(None, list(loaded.diagnostics), loaded.sources)
    result = Checker(loaded, options or Options()).run()
    result.diagnostics = [*loaded.diagnostics, *result.diagnostics]
    if any(d.is_error for d in loaded.diagnostics):  # e.g. a bad override: keep checking,
        result.program = None                      # but there is no program to run
    return result


__all__ = ["CheckResult", "Options", "TEmpty", "check", "yields", "zero"]
