"""Symbolic execution of one step tree: the z3 engine's transition relation for one step.

`StepEncoder.step(proc, label, env)` runs the step symbolically from the environment `env`
(globals, the frame's locals, lock holders) and returns its *exits*: for each way the step
can end (reaching a label, returning, calling a multi-step procedure) the condition under
which it ends that way and the environment it ends with, plus its *faults* (each run-time
error with the condition under which it is the first one). Paths merge at every join
(`ite` on each variable), so the encoding grows with the step's size, not its paths.

Nondeterminism becomes fresh variables: an `either` picks a branch index, a `choose` a value
constrained to the candidates; a path whose `await` is false, whose lock is taken, or whose
`choose` has no candidate simply has no exit (the step is not enabled there). This module
must agree with `interpreter.py` step for step; tests/test_z3_step.py checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from zbudspec.engines import z3_num as num
from zbudspec.engines.z3_exprs import Encoder, SEnv, _and
from zbudspec.engines.z3_terms import if_, is_false, is_true, or_
from zbudspec.engines.z3_values import SMap, SRec, Sym, Unsupported, const, fits, fresh, ite
from zbudspec.semantics import ir
from zbudspec.semantics.lower import zero
from zbudspec.semantics.types import TMap, TRecord, Type, within
from zbudspec.syntax.ast import Span


@dataclass
class Exit:
    cond: z3.BoolRef
    kind: str  # goto return call
    env: SEnv
    label: str = ""  # goto: the next label; call: the caller's resume label
    value: Sym | None = None  # return: the value
    call: ir.CallStep | None = None
    args: tuple[Sym, ...] = ()


@dataclass
class StepResult:
    exits: list[Exit] = field(default_factory=list)
    picks: list[Any] = field(default_factory=list)  # the fresh pick variables


def _or(*xs: Any) -> z3.BoolRef:
    return or_(*xs)


class StepEncoder:
    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.x = Encoder(program.fns)
        self.gtypes = [g.type for g in program.globals]
        self.local_types: dict[str, dict[str, Type]] = {
            name: {**dict(proc.params), **{n: t for n, t, _ in proc.locals}}
            for name, proc in program.procs.items()
        }

    # ---- merging
    def merge(self, proc: str, c: z3.BoolRef, a: SEnv, b: SEnv) -> SEnv:
        """The environment that is `a` where `c` holds and `b` elsewhere."""
        if is_true(c):
            return a
        if is_false(c):
            return b
        g = [ite(t, c, x, y) if x is not y else x
             for t, x, y in zip(self.gtypes, a.globals, b.globals, strict=True)]
        lt = self.local_types[proc]
        loc = {}
        for name in a.locals.keys() | b.locals.keys():
            if name in a.locals and name in b.locals:
                x, y = a.locals[name], b.locals[name]
                loc[name] = x if x is y else ite(self.ltype(lt, name), c, x, y)
            else:
                loc[name] = a.locals.get(name, b.locals.get(name))
        locks = [x if x is y else if_(c, x, y) for x, y in zip(a.locks, b.locks, strict=True)]
        return SEnv(g, loc, a.self_id, locks, a.frames, a.faults)

    def ltype(self, lt: dict[str, Type], name: str) -> Type:
        t = lt.get(name)
        if t is None:
            t = self.bound_types[name]
        return t

    # ---- faults bookkeeping
    def _since(self, env: SEnv, mark: int, live: z3.BoolRef) -> z3.BoolRef:
        new = [f.cond for f in env.faults[mark:]]
        return _and(live, *(z3.Not(c) for c in new)) if new else live

    def fault(self, env: SEnv, live: z3.BoolRef, cond: Any, kind: str, msg: str,
              span: Span) -> z3.BoolRef:
        mark = len(env.faults)
        self.x.fault(env, live, cond, kind, msg, span)
        return self._since(env, mark, live)

    # ---- statements
    def block(self, proc: str, stmts: tuple[ir.Stmt, ...], env: SEnv, live: z3.BoolRef,
              res: StepResult) -> tuple[SEnv, z3.BoolRef]:
        for s in stmts:
            if z3.is_false(live):
                break
            mark = len(env.faults)
            env.stmt_mark = mark
            env, live = self.stmt(proc, s, env, live, res)
            live = self._since(env, mark, live)
        return env, live

    def stored(self, proc: str, e: ir.Expr) -> bool:
        """`e` reads a stored value (a global, a parameter or local of `proc`, or a field or
        map entry of one), which is always within its declared type: every write is
        range-checked, and every state the engines start from is well-formed."""
        if isinstance(e, ir.GlobalVar):
            return True
        if isinstance(e, ir.LocalVar):
            return e.name in self.local_types[proc] and e.name not in self.bound_types
        if isinstance(e, ir.FieldGet | ir.MapGet):
            return self.stored(proc, e.base)
        return False

    def checked(self, proc: str, e: ir.Expr, target: Type) -> bool:
        """Whether writing `e` to a place of type `target` needs a range check: not when it
        is a stored value of a type within `target` (the interpreter's check always passes
        there, and the condition would only cost the solver)."""
        return not (self.stored(proc, e) and within(e.type, target))

    def assign(self, env: SEnv, live: z3.BoolRef, lv: ir.LVal, value: Sym,
               vtype: Type, check: bool = True) -> tuple[SEnv, z3.BoolRef]:
        value = self.x.coerce(vtype, lv.type, value)
        if check:
            live = self.fault(env, live, z3.Not(fits(lv.type, value)), "range",
                              f"`{lv.name}` is outside {lv.type}", lv.span)
        env = env.copy()
        old = env.globals[lv.index] if lv.is_global else env.locals[lv.name]
        new = self.update(env, live, old, lv.path, value)
        if lv.is_global:
            env.globals[lv.index] = new
        else:
            env.locals[lv.name] = new
        return env, live

    def update(self, env: SEnv, live: z3.BoolRef, old: Sym,
               path: tuple[tuple[str, Any, Type], ...], value: Sym) -> Sym:
        if not path:
            return value
        kind, sel, container = path[0]
        if kind == "f":
            assert isinstance(old, SRec) and isinstance(container, TRecord)
            fields = list(old.fields)
            fields[sel] = self.update(env, live, fields[sel], path[1:], value)
            return SRec(tuple(fields))
        assert isinstance(old, SMap) and isinstance(container, TMap)
        k = self.x.enc(sel, env, live)
        hits = self.x.key_pos(env, live, container.key, k, sel.span, len(old.items))
        return SMap(tuple(ite(container.value, h,
                              self.update(env, live, item, path[1:], value), item)
                          for h, item in zip(hits, old.items, strict=True)))

    def stmt(self, proc: str, s: ir.Stmt, env: SEnv, live: z3.BoolRef,
             res: StepResult) -> tuple[SEnv, z3.BoolRef]:
        x = self.x
        match s:
            case ir.Assign():
                v = x.enc(s.value, env, live)
                return self.assign(env, live, s.target, v, s.value.type,
                                   self.checked(proc, s.value, s.target.type))
            case ir.If():
                mark = len(env.faults)
                c = x.enc(s.cond, env, live)
                live = self._since(env, mark, live)  # a fault in the condition comes first
                e1, l1 = self.block(proc, s.then, env.copy(), _and(live, c), res)
                e2, l2 = self.block(proc, s.else_, env.copy(), _and(live, z3.Not(c)), res)
                return self.merge(proc, l1, e1, e2), _or(l1, l2)
            case ir.Await():
                return env, _and(live, x.enc(s.cond, env, live))
            case ir.Assert():
                c = x.enc(s.cond, env, live)
                return env, self.fault(env, live, z3.Not(c), "assertion",
                                       f"assertion failed: {s.message}", s.span)
            case ir.Lock():
                h = env.locks[s.index]
                me = env.self_id
                assert me is not None  # steps run on a thread
                live = self.fault(env, live, h == me, "lock",
                                  f"takes `{s.lock}`, which it already holds", s.span)
                env = env.copy()
                env.locks[s.index] = num.val(me)
                return env, _and(live, h == -1)
            case ir.Unlock():
                h = env.locks[s.index]
                live = self.fault(env, live, h != env.self_id, "lock",
                                  f"releases `{s.lock}`, which it does not hold", s.span)
                env = env.copy()
                env.locks[s.index] = num.val(-1)
                return env, live
            case ir.Choose():
                return self.choose(proc, s, env, live, res)
            case ir.Either():
                b = num.var(f"either@{s.span.line}:{s.span.col}!{len(res.picks)}", 0,
                            len(s.branches) - 1)
                res.picks.append(b)
                outs = [self.block(proc, br, env.copy(), _and(live, b == i), res)
                        for i, br in enumerate(s.branches)]
                out_env, out_live = outs[-1]
                for e_i, l_i in reversed(outs[:-1]):
                    out_env = self.merge(proc, l_i, e_i, out_env)
                    out_live = _or(l_i, out_live)
                return out_env, out_live
            case ir.For():
                return self.for_(proc, s, env, live, res)
            case ir.CallAtomic():
                return self.call_atomic(proc, s, env, live, res)
            case ir.Goto():
                res.exits.append(Exit(live, "goto", env, label=s.label))
                return env, z3.BoolVal(False)
            case ir.Return():
                v = None
                if s.value is not None:
                    rt = self.p.procs[proc].result
                    v = x.enc(s.value, env, live)
                    v = x.coerce(s.value.type, rt, v) if rt is not None else v
                mark_live = self._since(env, env.stmt_mark, live)
                res.exits.append(Exit(mark_live, "return", env, value=v))
                return env, z3.BoolVal(False)
            case ir.CallStep():
                args = tuple(x.enc(a, env, live) for a in s.args)
                mark_live = self._since(env, env.stmt_mark, live)
                res.exits.append(Exit(mark_live, "call", env, label=s.resume, call=s,
                                      args=args))
                return env, z3.BoolVal(False)
        raise Unsupported(f"statement {type(s).__name__}")

    def choose(self, proc: str, s: ir.Choose, env: SEnv, live: z3.BoolRef,
               res: StepResult) -> tuple[SEnv, z3.BoolRef]:
        name = s.target.name
        saved = env.locals.get(name)
        options = []
        for _v, member, sv in self.x.domain(env, live, s.domain):
            env.locals[name] = sv
            ok = member if s.where is None else _and(member, self.x.enc(s.where, env,
                                                                        _and(live, member)))
            options.append((sv, ok))
        if saved is not None:
            env.locals[name] = saved
        pick = fresh(s.var_type, f"choose.{name}")
        res.picks.append(pick)
        chosen = _or(*[z3.And(ok, pick == sv) for sv, ok in options])
        return self.assign(env, _and(live, chosen), s.target, pick, s.var_type)

    def for_(self, proc: str, s: ir.For, env: SEnv, live: z3.BoolRef,
             res: StepResult) -> tuple[SEnv, z3.BoolRef]:
        saved = env.locals.get(s.var)
        self.bound_types[s.var] = s.var_type
        mark = len(env.faults)
        candidates = self.x.domain(env, live, s.domain)
        live = self._since(env, mark, live)  # faults in the bounds come first
        for _, member, sv in candidates:
            inner = env.copy()
            inner.locals[s.var] = sv
            e1, l1 = self.block(proc, s.body, inner, _and(live, member), res)
            skip_live = _and(live, z3.Not(member))
            env = self.merge(proc, l1, e1, env)
            live = _or(l1, skip_live)
        env = env.copy()
        if saved is None:
            env.locals.pop(s.var, None)
        else:
            env.locals[s.var] = saved
        return env, live

    def call_atomic(self, proc: str, s: ir.CallAtomic, env: SEnv, live: z3.BoolRef,
                    res: StepResult) -> tuple[SEnv, z3.BoolRef]:
        callee = self.p.procs[s.proc]
        args = [self.x.coerce(a.type, pt, self.x.enc(a, env, live))
                for a, (_, pt) in zip(s.args, callee.params, strict=True)]
        for (pname, pt), a, e in zip(callee.params, args, s.args, strict=True):
            if self.checked(proc, e, pt):
                live = self.fault(env, live, z3.Not(fits(pt, a)), "range",
                                  f"argument `{pname}` of `{s.proc}` is outside {pt}", s.span)
        cenv = SEnv(list(env.globals), dict(zip((n for n, _ in callee.params), args,
                                                strict=True)),
                    env.self_id, list(env.locks), env.frames, env.faults)
        for name, t, init in callee.locals:
            cenv.locals[name] = const(t, zero(t)) if init is None else \
                self.x.coerce(init.type, t, self.x.enc(init, cenv, live))
        sub = StepResult(picks=res.picks)
        cenv, clive = self.block(s.proc, callee.body, cenv, live, sub)
        # the callee returns on its exits, or falls off its end with no value
        ret_live = clive
        out_env, value = cenv, None
        rt = callee.result
        for ex in sub.exits:
            assert ex.kind == "return"
            out_env = self.merge(s.proc, ex.cond, ex.env, out_env)
            if rt is not None and ex.value is not None:
                v = self.x.coerce(rt, rt, ex.value)
                value = v if value is None else ite(rt, ex.cond, v, value)
            ret_live = _or(ret_live, ex.cond)
        after = SEnv(out_env.globals, env.locals, env.self_id, out_env.locks, env.frames,
                     env.faults)
        if s.target is not None:
            if value is None:
                raise Unsupported(f"`{s.proc}` returns no value at {s.span}")
            assert rt is not None
            return self.assign(after, ret_live, s.target, value, rt)
        return after, ret_live

    # ---- one step
    def step(self, proc: str, label: str, env: SEnv) -> StepResult:
        """All exits of step `proc.label` from `env` (faults are in `env.faults`)."""
        self.bound_types: dict[str, Type] = {}
        res = StepResult()
        body = self.p.procs[proc].steps[label].body
        _, live = self.block(proc, body, env, z3.BoolVal(True), res)
        if not z3.is_false(z3.simplify(live)):
            raise Unsupported(f"step {proc}.{label} can fall off its end")
        return res


__all__ = ["Exit", "StepEncoder", "StepResult", "const"]
