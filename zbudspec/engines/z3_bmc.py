"""Bounded model checking with z3: every interleaving up to depth K at once.

The state at depth k is a set of z3 variables: the globals, the lock holders, and for each
thread and each procedure that can be on its stack (no procedure is ever on a stack twice:
the checker forbids recursion) whether it is active, its label, the call it waits on, and its
locals. One transition picks, through a selector variable, one *case*: a thread starting an
operation, or a thread running the step at its top frame, ending through one of the step's
exits (z3_step.py). Each variable's next value is the value the firing case gives it, or its
old value. A violation at depth k is a fault of the k-th transition or a false invariant in
the state after it; depths are checked in order, so the first one found is shortest.

Every counterexample is replayed through the interpreter state by state before it is
reported; a disagreement is an internal error (`EngineDisagreement`), never a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from zbudspec.engines import z3_num as num
from zbudspec.engines.explicit import Coverage, SearchResult, TraceStep, Verdict
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import Frame, State, Transition, Violation
from zbudspec.engines.z3_exprs import SEnv, _and
from zbudspec.engines.z3_step import Exit, StepEncoder
from zbudspec.engines.z3_values import (
    Sym,
    Unsupported,
    atoms,
    concrete,
    const,
    default,
    fits,
    fresh,
    ite,
    leaves,
    remap,
    substitute_all,
    wf,
)
from zbudspec.engines.z3_width import required_width
from zbudspec.semantics import ir
from zbudspec.semantics.lower import zero
from zbudspec.semantics.types import Type
from zbudspec.syntax.ast import Span

# while a depth's property queries take less than this, the next depth first asks whether
# any property fails there at all (one query instead of one per property, D14)
CHEAP_DEPTH_S = 0.25


@dataclass
class Stop:
    """Why a bounded check ended before its bound: a violation, or z3 gave up."""

    verdict: Verdict
    reached: int
    trace: list[TraceStep] = field(default_factory=list)
    violation: Violation | None = None
    reason: str = ""


@dataclass(frozen=True)
class DepthStats:
    """What a live progress line shows after each depth."""

    depth: int
    seconds: float  # since the start
    depth_seconds: float  # this depth alone
    queries: int
    conflicts: int  # the SAT solver's, cumulative
    memory_mib: float


class EngineDisagreement(Exception):
    """z3 and the interpreter disagree: a bug in zbudspec, reported as an internal error."""


@dataclass
class SymThread:
    active: dict[str, Any]
    label: dict[str, Any]
    waiting: dict[str, Any]
    locals: dict[str, dict[str, Sym]]


@dataclass
class SymState:
    globals: list[Sym]
    locks: list[Any]
    threads: list[SymThread]


@dataclass
class Case:
    """One way a transition can go, with what it writes (everything else stays)."""

    cond: Any
    thread: int
    proc: str
    label: str  # the step that runs
    op: str | None  # the operation started, if the step starts one
    args: tuple[Sym, ...]
    globals: dict[int, Sym] = field(default_factory=dict)
    locks: dict[int, Any] = field(default_factory=dict)
    frames: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (proc, what, name)


@dataclass
class StepFault:
    cond: Any
    kind: str
    message: str
    span: Span
    thread: int
    proc: str
    label: str
    op: str | None
    args: tuple[Sym, ...]


class BMC:
    # the transition template (`template`)
    picks: list[Any]
    tpl: SymState
    tpl_cases: list[Case]
    tpl_faults: list[StepFault]
    tpl_pick_leaves: list[Any]
    tpl_bad: list[tuple[str, Any]]
    tpl_leaves: list[Any]

    def __init__(self, program: ir.Program, timeout_ms: int = 60_000,
                 rlimit: int = 0, width: int | str | None = "auto") -> None:
        self.p = program
        self.interp = Interpreter(program)
        self.stack_procs = [n for n, pr in program.procs.items() if pr.multi_step]
        self._check_acyclic()
        self.label_ids = {n: {label: i for i, label in enumerate(program.procs[n].steps)}
                          for n in self.stack_procs}
        self.cs_index = {id(cs): i for i, cs in enumerate(self.interp.call_sites)}
        # the procedure each call site is in
        self.callers = {i: next(pn for pn, pr in program.procs.items()
                                if any(x is cs for st in pr.steps.values()
                                       for x in _calls(st.body)))
                        for i, cs in enumerate(self.interp.call_sites)}
        self.resting = {n: _resting_labels(program.procs[n]) for n in self.stack_procs}
        nlabels = max((len(v) for v in self.label_ids.values()), default=1)
        w = required_width(program, extra=((-1, nlabels), (-1, len(self.cs_index))))\
            if width == "auto" else width
        assert w is None or isinstance(w, int)
        self.num = num.Num(w)
        with num.use(self.num):
            self.enc = StepEncoder(program)
            self.ltypes = self.enc.local_types
        # bit-blasting decides our queries an order of magnitude faster than arithmetic
        self.solver = z3.SolverFor("QF_FD") if self.num.bv else z3.Solver()
        self.timeout_ms = timeout_ms
        self.rlimit = rlimit
        self.last_check_started = 0.0
        self.solver.set("timeout", timeout_ms)
        if rlimit:
            self.solver.set("rlimit", rlimit)
        self.states: list[SymState] = []
        self.sels: list[Any] = []
        self.cases: list[list[Case]] = []
        self.faults: list[list[StepFault]] = []
        self.queries = 0
        self.check_deadlock = True
        self.trace_queries: Callable[[str, Any, float], None] | None = None
        self.on_depth: Callable[[DepthStats], None] | None = None
        self.shared: BMC | None = None  # whose template to reuse (induction's step case)
        # --jobs: the properties this BMC checks ("fault" = faults and deadlocks; None: all)
        self.only: frozenset[str] | None = None
        self.stop: Callable[[int], bool] | None = None  # checked before each query
        # Houdini (z3_houdini): the time it may take; None: no strengthening
        self.strengthen_budget_s: float | None = None
        self.proved: frozenset[str] = frozenset()  # properties that hold at every depth
        self.last_depth_s = 0.0  # the time the last depth's property queries took
        self.strengthening_note = ""

    def mine(self, prop: str) -> bool:
        return self.only is None or prop in self.only

    def _check_acyclic(self) -> None:
        from zbudspec.engines.interpreter import _call_steps

        graph = {n: {cs.proc for st in self.p.procs[n].steps.values()
                     for cs in _call_steps(st.body)} for n in self.stack_procs}
        seen: set[str] = set()
        active: set[str] = set()

        def visit(n: str) -> None:
            if n in active:
                raise Unsupported(f"procedure `{n}` can call itself: the z3 engine needs a "
                                  "bounded stack")
            if n in seen:
                return
            active.add(n)
            for m in graph[n]:
                visit(m)
            active.discard(n)
            seen.add(n)

        for n in graph:
            visit(n)

    # ---- symbolic states
    def new_state(self, k: int | str, constrain: bool = True) -> SymState:
        gs = [fresh(g.type, f"{g.name}@{k}") for g in self.p.globals]
        if constrain:
            for g, s in zip(self.p.globals, gs, strict=True):
                self.solver.add(wf(g.type, s))
        nthreads = self.p.client.threads
        locks = [num.var(f"lock:{name}@{k}", -1, nthreads - 1) for name in self.p.locks]
        threads = []
        for t in range(self.p.client.threads):
            th = SymThread({}, {}, {}, {})
            for n in self.stack_procs:
                th.active[n] = z3.Bool(f"t{t}.{n}.active@{k}")
                th.label[n] = num.var(f"t{t}.{n}.label@{k}", 0,
                                      max(len(self.label_ids[n]) - 1, 0))
                th.waiting[n] = num.var(f"t{t}.{n}.waiting@{k}", -1,
                                        max(len(self.cs_index) - 1, 0))
                th.locals[n] = {name: fresh(ty, f"t{t}.{n}.{name}@{k}")
                                for name, ty in self.ltypes[n].items()}
            threads.append(th)
        return SymState(gs, locks, threads)

    def assert_initial(self, s: SymState) -> None:
        for g, x in zip(self.p.globals, s.globals, strict=True):
            self.solver.add(self._eq(g.type, x, const(g.type, g.init)))
        for lk in s.locks:
            self.solver.add(lk == -1)
        for th in s.threads:
            for n in self.stack_procs:
                self.solver.add(z3.Not(th.active[n]))
                self.solver.add(th.label[n] == 0, th.waiting[n] == -1)
                for name, ty in self.ltypes[n].items():
                    self.solver.add(self._eq(ty, th.locals[n][name], default(ty)))

    @staticmethod
    def _eq(t: Type, a: Sym, b: Sym) -> Any:
        from zbudspec.engines.z3_values import eq

        return eq(t, a, b)

    def frames_wf(self, s: SymState) -> Any:
        """What every reachable state satisfies by construction, whatever the spec: values
        within their types; per thread at most one operation, a procedure active exactly
        when its caller waits on a call of it, a waiting frame at the call's resume label,
        labels within their procedure; a lock held only by a thread inside an operation.
        The start of an induction path is any state satisfying this (and the invariants)."""
        callers = self.callers
        parts: list[Any] = []
        ops = [n for n in self.stack_procs if self.p.procs[n].is_op]
        for t, th in enumerate(s.threads):
            if ops:
                parts.append(z3.AtMost(*[th.active[n] for n in ops], 1))
            for n in self.stack_procs:
                mine = [i for i, c in callers.items() if c == n]
                parts.append(z3.Implies(th.active[n], z3.Or(
                    *[th.label[n] == self.label_ids[n][lb] for lb in self.resting[n]])))
                parts.append(z3.Implies(z3.Not(th.active[n]), th.waiting[n] == -1))
                waits = [th.waiting[n] == -1]
                for i in mine:
                    cs = self.interp.call_sites[i]
                    waits.append(z3.And(th.waiting[n] == i,
                                        th.label[n] == self.label_ids[n][cs.resume]))
                parts.append(z3.Or(*waits))
                for name, ty in self.ltypes[n].items():
                    parts.append(z3.Implies(th.active[n], wf(ty, th.locals[n][name])))
                if not self.p.procs[n].is_op:
                    calls = [z3.And(th.active[callers[i]], th.waiting[callers[i]] == i)
                             for i, cs in enumerate(self.interp.call_sites) if cs.proc == n]
                    parts.append(th.active[n] == z3.Or(*calls) if calls else
                                 z3.Not(th.active[n]))
            inside = z3.Or(*[th.active[n] for n in ops]) if ops else z3.BoolVal(False)
            for lk in s.locks:
                parts.append(z3.Implies(lk == t, inside))
        for lk in s.locks:
            parts.append(z3.And(lk >= -1, lk < self.p.client.threads))
        return z3.And(*parts)

    def frames_query(self, s: SymState) -> Callable[[int, str, str, str], tuple[Sym, Any]]:
        def q(t: int, proc: str, what: str, name: str) -> tuple[Sym, Any]:
            th = s.threads[t]
            yes = z3.BoolVal(True)
            if what == "idle":
                return z3.Not(z3.Or(*[th.active[n] for n in self.stack_procs])), yes
            if proc not in th.active:
                return (z3.BoolVal(False), yes) if what == "at" else \
                    (default(self.ltypes[proc][name]), z3.BoolVal(False))
            if what == "at":
                lid = self.label_ids[proc].get(name)
                if lid is None:
                    return z3.BoolVal(False), yes
                return z3.And(th.active[proc], th.label[proc] == lid), yes
            return th.locals[proc][name], th.active[proc]

        return q

    def env(self, s: SymState, t: int, locals_: dict[str, Sym]) -> SEnv:
        return SEnv(list(s.globals), dict(locals_), t, list(s.locks), self.frames_query(s))

    @staticmethod
    def flat(s: SymState) -> list[Any]:
        """The state's z3 variables (what a substitution replaces), in a fixed order."""
        out: list[Any] = [x for g in s.globals for x in atoms(g)]
        out.extend(num.atom(x) for x in s.locks)
        for th in s.threads:
            for n in th.active:
                out.extend((th.active[n], num.atom(th.label[n]), num.atom(th.waiting[n])))
                for v in th.locals[n].values():
                    out.extend(atoms(v))
        return out

    def template(self) -> None:
        """Encode one transition and the invariants once, over template variables; each
        depth then instantiates them by substitution (cheap, inside z3). A BMC given
        another's template (`share_template`) reuses it: z3 terms belong to no solver."""
        if self.shared is not None:
            o = self.shared
            self.picks, self.tpl, self.tpl_cases = o.picks, o.tpl, o.tpl_cases
            self.tpl_faults, self.tpl_pick_leaves = o.tpl_faults, o.tpl_pick_leaves
            self.tpl_bad, self.tpl_leaves = o.tpl_bad, o.tpl_leaves
            return
        self.picks = []
        self.tpl = self.new_state("tpl", constrain=False)
        cases, faults = self.transition(0, self.tpl)
        self.tpl_cases = self.merge_exits(self.tpl, cases)
        self.tpl_faults = _group_faults(faults)
        self.tpl_pick_leaves = [x for p in self.picks for x in atoms(p)]
        self.tpl_bad = self.bad_parts(self.tpl)
        self.tpl_leaves = self.flat(self.tpl)

    def pairs(self, s: SymState, k: int) -> list[tuple[Any, Any]]:
        """Template variables -> state `s`'s, and fresh picks for transition k."""
        pairs = list(zip(self.tpl_leaves, self.flat(s), strict=True))
        picks = [(x, z3.FreshConst(x.sort(), f"pick@{k}")) for x in self.tpl_pick_leaves]
        self.last_picks = [y for _, y in picks]
        return pairs + picks

    def substitution(self, s: SymState, k: int) -> Callable[[Any], Any]:
        pairs = self.pairs(s, k)

        def sub(x: Any) -> Any:
            return substitute_all([x], pairs)[0]

        return sub

    def instantiate(self, k: int, s: SymState) -> tuple[list[Case], list[StepFault]]:
        """The template transition over state `s` (one batched substitution)."""
        pairs = self.pairs(s, k)
        terms: list[Any] = []

        def put(x: Sym) -> None:
            terms.extend(leaves(x))

        for c in self.tpl_cases:
            terms.append(c.cond)
            for a in c.args:
                put(a)
            for v in c.globals.values():
                put(v)
            terms.extend(c.locks.values())
            for v in c.frames.values():
                put(v)
        for f in self.tpl_faults:
            terms.append(f.cond)
            for a in f.args:
                put(a)
        it = iter(substitute_all(terms, pairs))

        def get(x: Sym) -> Sym:
            return remap(x, lambda _t: next(it))

        cases = []
        for c in self.tpl_cases:
            cond = next(it)
            args = tuple(get(a) for a in c.args)
            gs = {i: get(v) for i, v in c.globals.items()}
            ls = {i: next(it) for i in c.locks}
            fr = {key: get(v) for key, v in c.frames.items()}
            cases.append(Case(cond, c.thread, c.proc, c.label, c.op, args, gs, ls,
                              fr))
        faults = []
        for f in self.tpl_faults:
            cond = next(it)
            args = tuple(get(a) for a in f.args)
            faults.append(StepFault(cond, f.kind, f.message, f.span, f.thread, f.proc,
                                    f.label, f.op, args))
        return cases, faults

    # ---- one transition (over the template state)
    def transition(self, k: int, s: SymState) -> tuple[list[Case], list[StepFault]]:
        cases: list[Case] = []
        faults: list[StepFault] = []
        for t in range(self.p.client.threads):
            th = s.threads[t]
            idle = z3.Not(z3.Or(*[th.active[n] for n in self.stack_procs])) if \
                self.stack_procs else z3.BoolVal(True)
            for op in self.p.ops_for(t):
                self._start_cases(k, s, t, op, idle, cases, faults)
            for n in self.stack_procs:
                for label, lid in self.label_ids[n].items():
                    if label not in self.resting[n]:
                        continue  # no frame ever waits there: no case
                    base = z3.And(th.active[n], th.waiting[n] == -1, th.label[n] == lid)
                    env = self.env(s, t, th.locals[n])
                    self._step_cases(s, t, n, label, None, (), base, env, cases, faults)
        return cases, faults

    def merge_exits(self, s: SymState, cases: list[Case]) -> list[Case]:
        """One case per step (per thread, and operation started): the step's exits, whose
        conditions exclude each other, merged into one next state by `ite` on what each
        writes. Fewer, wider cases: the selector ranges over steps, not paths, and each
        variable's next value is a chain over steps."""
        groups: dict[tuple[Any, ...], list[Case]] = {}
        for c in cases:
            key = (c.thread, c.proc, c.label, c.op, tuple(id(a) for a in c.args))
            groups.setdefault(key, []).append(c)
        out = []
        for group in groups.values():
            merged = group[-1]
            for c in reversed(group[:-1]):
                merged = self._merge2(s, c, merged)
            out.append(merged)
        return out

    def _merge2(self, s: SymState, a: Case, b: Case) -> Case:
        th = s.threads[a.thread]

        def old_frame(key: tuple[str, str, str]) -> tuple[Sym, Type | None]:
            n, what, name = key
            if what == "local":
                return th.locals[n][name], self.ltypes[n][name]
            return {"active": th.active, "label": th.label, "waiting": th.waiting}[what][n], \
                None

        def pick(t: Type | None, x: Sym, y: Sym) -> Sym:
            if x is y:
                return x
            x, y = (num.val(v) if isinstance(v, int) else v for v in (x, y))
            return z3.If(a.cond, x, y) if t is None else ite(t, a.cond, x, y)

        gs = {i: pick(self.p.globals[i].type, a.globals.get(i, s.globals[i]),
                      b.globals.get(i, s.globals[i]))
              for i in a.globals.keys() | b.globals.keys()}
        ls = {i: pick(None, a.locks.get(i, s.locks[i]), b.locks.get(i, s.locks[i]))
              for i in a.locks.keys() | b.locks.keys()}
        fr = {}
        for key in a.frames.keys() | b.frames.keys():
            old, t = old_frame(key)
            fr[key] = pick(t, a.frames.get(key, old), b.frames.get(key, old))
        return Case(z3.Or(a.cond, b.cond), a.thread, a.proc, a.label, a.op, a.args, gs, ls, fr)

    def _start_cases(self, k: int, s: SymState, t: int, op: str, idle: Any,
                     cases: list[Case], faults: list[StepFault]) -> None:
        proc = self.p.procs[op]
        args = tuple(fresh(pt, f"t{t}.{op}.{pn}") for pn, pt in proc.params)
        self.picks.extend(args)
        base = _and(idle, *[wf(pt, a) for (_, pt), a in zip(proc.params, args, strict=True)])
        env = self.env(s, t, dict(zip((pn for pn, _ in proc.params), args, strict=True)))
        for name, ty, init in proc.locals:
            env.locals[name] = const(ty, zero(ty)) if init is None else \
                self.enc.x.coerce(init.type, ty, self.enc.x.enc(init, env, base))
            self.enc.x.fault(env, base, z3.Not(fits(ty, env.locals[name])), "range",
                             f"`{name}` is outside {ty}", proc.span)
        for req in proc.requires:
            base = _and(base, self.enc.x.enc(req, env, base))
        assert proc.entry is not None
        self._step_cases(s, t, op, proc.entry, op, args, base, env, cases, faults)

    def _step_cases(self, s: SymState, t: int, n: str, label: str, op: str | None,
                    args: tuple[Sym, ...], base: Any, env: SEnv, cases: list[Case],
                    faults: list[StepFault]) -> None:
        mark = len(env.faults)
        res = self.enc.step(n, label, env)
        self.picks.extend(res.picks)
        for f in env.faults[:mark]:  # faults while starting the operation (locals, requires)
            faults.append(StepFault(f.cond, f.kind, f.message, f.span, t, n, label, op, args))
        for f in env.faults[mark:]:
            faults.append(StepFault(_and(base, f.cond), f.kind, f.message, f.span, t, n, label,
                                    op, args))
        for ex in res.exits:
            self._exit_cases(s, t, n, label, op, args, _and(base, ex.cond), ex, cases, faults)

    def _exit_cases(self, s: SymState, t: int, n: str, label: str, op: str | None,
                    args: tuple[Sym, ...], cond: Any, ex: Exit, cases: list[Case],
                    faults: list[StepFault]) -> None:
        th = s.threads[t]
        c = Case(cond, t, n, label, op, args)
        for i, (old, new) in enumerate(zip(s.globals, ex.env.globals, strict=True)):
            if new is not old:
                c.globals[i] = new
        for i, (old, new) in enumerate(zip(s.locks, ex.env.locks, strict=True)):
            if new is not old:
                c.locks[i] = new
        own = {name: ex.env.locals[name] for name in self.ltypes[n]}
        if ex.kind == "goto":
            c.frames.update({(n, "label", ""): self.label_ids[n][ex.label],
                             (n, "active", ""): z3.BoolVal(True),
                             (n, "waiting", ""): -1})
            c.frames.update({(n, "local", name): v for name, v in own.items()})
            cases.append(c)
            return
        if ex.kind == "call":
            assert ex.call is not None
            q = ex.call.proc
            callee = self.p.procs[q]
            c.frames.update({(n, "label", ""): self.label_ids[n][ex.label],
                             (n, "active", ""): z3.BoolVal(True),
                             (n, "waiting", ""): self.cs_index[id(ex.call)]})
            c.frames.update({(n, "local", name): v for name, v in own.items()})
            cenv = SEnv(list(ex.env.globals), {}, t, list(ex.env.locks), ex.env.frames,
                        ex.env.faults)
            mark = len(cenv.faults)
            for (pn, pt), a in zip(callee.params, ex.args, strict=True):
                a = self.enc.x.coerce(pt, pt, a)
                self.enc.x.fault(cenv, cond, z3.Not(fits(pt, a)), "range",
                                 f"argument `{pn}` of `{q}` is outside {pt}", ex.call.span)
                cenv.locals[pn] = a
            for name, ty, init in callee.locals:
                cenv.locals[name] = const(ty, zero(ty)) if init is None else \
                    self.enc.x.coerce(init.type, ty, self.enc.x.enc(init, cenv, cond))
            for f in cenv.faults[mark:]:
                faults.append(StepFault(f.cond, f.kind, f.message, f.span, t, n, label, op,
                                        args))
            ok = _and(cond, *[z3.Not(f.cond) for f in cenv.faults[mark:]])
            c.cond = ok
            assert callee.entry is not None
            c.frames.update({(q, "active", ""): z3.BoolVal(True),
                             (q, "label", ""): self.label_ids[q][callee.entry],
                             (q, "waiting", ""): -1})
            c.frames.update({(q, "local", name): cenv.locals[name] for name in self.ltypes[q]})
            cases.append(c)
            return
        # return
        c.frames[(n, "active", "")] = z3.BoolVal(False)
        if self.p.procs[n].is_op:
            held = z3.Or(*[lk == t for lk in ex.env.locks]) if ex.env.locks else \
                z3.BoolVal(False)
            faults.append(StepFault(_and(cond, held), "lock",
                                    f"operation `{n}` ends holding a lock",
                                    self.p.procs[n].span, t, n, label, op, args))
            c.cond = _and(cond, z3.Not(held))
            cases.append(c)
            return
        for cs_id, cs in enumerate(self.interp.call_sites):
            if cs.proc != n:
                continue
            caller = self.callers[cs_id]
            sub = Case(_and(cond, th.active[caller], th.waiting[caller] == cs_id), t, n, label,
                       op, args, dict(c.globals), dict(c.locks), dict(c.frames))
            sub.frames[(caller, "waiting", "")] = -1
            if cs.target is not None:
                assert ex.value is not None
                rt = self.p.procs[n].result
                assert rt is not None
                cenv = SEnv(list(ex.env.globals), dict(th.locals[caller]), t,
                            list(ex.env.locks), ex.env.frames, ex.env.faults)
                mark = len(cenv.faults)
                cenv2, live = self.enc.assign(cenv, sub.cond, cs.target, ex.value, rt)
                for f in cenv.faults[mark:]:
                    faults.append(StepFault(f.cond, f.kind, f.message, f.span, t, n, label,
                                            op, args))
                sub.cond = live
                for name in self.ltypes[caller]:
                    if cenv2.locals[name] is not th.locals[caller][name]:
                        sub.frames[(caller, "local", name)] = cenv2.locals[name]
            cases.append(sub)

    # ---- the next state
    def link(self, k: int, s: SymState, cases: list[Case], faults: list[StepFault],
             sel: Any) -> tuple[SymState, Any]:
        """Define the state after transition k; returns it and the condition that the
        transition is a fault (selector values past the cases name the faults)."""
        nxt = self.new_state(k + 1)
        for i, c in enumerate(cases):
            c.cond = _and(sel == i, c.cond)
        faulted = z3.Or(*[_and(sel == len(cases) + j, f.cond)
                          for j, f in enumerate(faults)]) if faults else z3.BoolVal(False)
        # some step runs: a successor case, or a fault (which ends the trace: a fault found
        # at depth k+1 stops the search, so later depths never extend it); asserted by the
        # caller after it has looked for a deadlock at depth k
        self.moves.append(z3.Or(faulted, *[c.cond for c in cases]))

        def chain(default_v: Any, items: list[tuple[Any, Any]], t: Type | None) -> Any:
            out = default_v
            for cond, v in reversed(items):
                if t is None:
                    out = z3.If(cond, v, out)
                else:
                    from zbudspec.engines.z3_values import ite

                    out = ite(t, cond, v, out)
            return out

        for i, g in enumerate(self.p.globals):
            items = [(c.cond, c.globals[i]) for c in cases if i in c.globals]
            self.solver.add(self._eq(g.type, nxt.globals[i], chain(s.globals[i], items, g.type)))
        for i in range(len(self.p.locks)):
            items = [(c.cond, c.locks[i]) for c in cases if i in c.locks]
            self.solver.add(nxt.locks[i] == chain(s.locks[i], items, None))
        for t, (th, th2) in enumerate(zip(s.threads, nxt.threads, strict=True)):
            mine = [c for c in cases if c.thread == t]
            for n in self.stack_procs:
                for what, old, new in (("active", th.active[n], th2.active[n]),
                                       ("label", th.label[n], th2.label[n]),
                                       ("waiting", th.waiting[n], th2.waiting[n])):
                    items = [(c.cond, c.frames[(n, what, "")]) for c in mine
                             if (n, what, "") in c.frames]
                    self.solver.add(new == chain(old, items, None))
                for name, ty in self.ltypes[n].items():
                    items = [(c.cond, c.frames[(n, "local", name)]) for c in mine
                             if (n, "local", name) in c.frames]
                    self.solver.add(self._eq(ty, th2.locals[n][name],
                                             chain(th.locals[n][name], items, ty)))
        return nxt, faulted

    # ---- violations
    def bad_parts(self, s: SymState) -> list[tuple[str, Any]]:
        """Per invariant, the condition that it is false in `s` or cannot be evaluated."""
        parts: list[tuple[str, Any]] = []
        for inv in self.p.invariants:
            env = SEnv(list(s.globals), {}, None, list(s.locks), self.frames_query(s))
            value = self.enc.x.enc(inv.expr, env, z3.BoolVal(True))
            parts.append((inv.name, z3.Or(z3.Not(value), *[f.cond for f in env.faults])))
        return parts

    def can_block(self) -> bool:
        """Whether any step can be disabled (a lock, an await, a choose): else no deadlock."""
        def blocking(stmts: tuple[ir.Stmt, ...]) -> bool:
            for st in stmts:
                if isinstance(st, ir.Lock | ir.Await | ir.Choose):
                    return True
                for sub in _children(st):
                    if blocking(sub):
                        return True
            return False

        return any(blocking(pr.body) or any(blocking(st.body) for st in pr.steps.values())
                   for pr in self.p.procs.values())

    # ---- the search
    def run(self, depth: int, progress: Callable[[int, float], None] | None = None
            ) -> SearchResult:
        with num.use(self.num):
            return self._run(depth, progress)

    def begin(self, initial: bool = True) -> None:
        """Encode the transition template and the state at depth 0: the initial state, or
        (for induction) any well-formed state."""
        self.template()
        s0 = self.new_state(0)
        if initial:
            self.assert_initial(s0)
        else:
            self.solver.add(self.frames_wf(s0))
        self.states = [s0]
        self.known_picks: list[list[Any]] = []  # pick values that let a step run (deadlock)
        self.enabled: list[Any] = []  # per depth: some step can run (for deadlocks)
        self.step_picks: list[list[Any]] = []
        self.faulted: list[Any] = []
        self.fires: list[list[Any]] = []
        self.moves: list[Any] = []
        self.deadlock_possible = self.check_deadlock and self.can_block() and \
            self.mine("fault")

    def unroll(self) -> None:
        """Add one transition after the last state."""
        k = len(self.states) - 1
        s = self.states[-1]
        sel = self._selector(k)
        cases, faults = self.instantiate(k, s)
        self.step_picks.append(self.last_picks)
        self.enabled.append(z3.Or(*[c.cond for c in cases], *[f.cond for f in faults]))
        nxt, faulted = self.link(k, s, cases, faults, sel)
        self.fires.append([c.cond for c in cases])
        self.states.append(nxt)
        self.sels.append(sel)
        self.cases.append(cases)
        self.faults.append(faults)
        self.faulted.append(faulted)

    def state_props(self, k: int) -> list[tuple[str, Any]]:
        """Per invariant, the condition that it fails in the state at depth k."""
        sub = self.substitution(self.states[k], k)
        return [(n, sub(c)) for n, c in self.tpl_bad]

    def step_props(self, k: int) -> list[tuple[str, Any]]:
        """The violations at depth k+1: transition k faults, or an invariant fails after."""
        f = self.faulted[k]
        return [("fault", f)] + [(n, z3.And(z3.Not(f), c)) for n, c in self.state_props(k + 1)]

    def _run(self, depth: int, progress: Callable[[int, float], None] | None
             ) -> SearchResult:
        t0 = time.perf_counter()
        self.begin()
        cov = Coverage()
        init_state = self.interp.initial()

        def result(verdict: Verdict, reached: int, trace: list[TraceStep] | None = None,
                   violation: Violation | None = None, reason: str = "") -> SearchResult:
            return SearchResult(verdict, depth, reached, 0, 0, time.perf_counter() - t0, cov,
                                init_state, trace or [], violation, reason=reason)

        for name, cond in self.state_props(0):
            if not self.mine(name):
                self.solver.add(z3.Not(cond))
                continue
            r = self._check(cond, f"{name}@0")
            if r == z3.unknown:
                return result(Verdict.UNKNOWN, 0, reason=self._unknown(0))
            if r == z3.sat:
                v = self.interp.check_invariants(init_state)
                if v is None:
                    raise EngineDisagreement("z3 finds the initial state bad; the "
                                             "interpreter does not")
                return result(Verdict.VIOLATED, 0, violation=v)
            self.solver.add(z3.Not(cond))  # a lemma for every later query
        if self.strengthen_budget_s is not None:
            self._strengthen(self.strengthen_budget_s)
        t_depth = time.perf_counter()
        for k in range(depth):
            stop = self.extend(k)
            if stop is not None:
                return result(stop.verdict, stop.reached, stop.trace, stop.violation,
                              stop.reason)
            now = time.perf_counter()
            if progress is not None:
                progress(k + 1, now - t0)
            if self.on_depth is not None:
                st = self.solver.statistics()
                stats = {key: st.get_key_value(key) for key in st.keys()}  # noqa: SIM118
                self.on_depth(DepthStats(k + 1, now - t0, now - t_depth, self.queries,
                                         int(stats.get("sat conflicts",
                                                       stats.get("conflicts", 0))),
                                         float(stats.get("memory", 0.0))))
            t_depth = now
        verdict = Verdict.PROVED if self.proves_all() else Verdict.NO_VIOLATION
        return result(verdict, depth, reason=self.strengthening_note)

    def _strengthen(self, budget_s: float) -> None:
        from zbudspec.engines.z3_houdini import strengthen

        h = strengthen(self, budget_s)
        self.proved = h.proved
        self.queries += h.queries
        props = [i.name for i in self.p.invariants]
        held = [n for n in props if n in h.proved]
        not_held = [n for n in props if n not in h.proved]
        self.strengthening_note = (
            f"inductive, so true at every depth (Houdini, {h.queries} queries, "
            f"{h.seconds:.1f}s): " + (", ".join(held) if held else "no invariant")
            + ("; no step faults" if "fault" in h.proved else "")
            + ("; no deadlock" if "deadlock" in h.proved and self.deadlock_possible else "")
            + (f"; {h.note}" if h.note else "")
            + (f"; not shown inductive (checked to the bound only; `--induction` shows a "
               f"counterexample to induction): {', '.join(not_held)}" if not_held else ""))

    def proves_all(self) -> bool:
        """Houdini proved every property this run checks: the bound does not matter."""
        props = {"fault", "deadlock", *(i.name for i in self.p.invariants)}
        return all(n in self.proved for n in props if self.mine(n) or
                   (n == "deadlock" and self.mine("fault")))

    def extend(self, k: int) -> Stop | None:
        """Add transition k and check depth k+1: a deadlock at depth k, then each property
        (its own query; once refuted, a lemma). None when nothing is found."""
        self.unroll()
        if self.deadlock_possible and "deadlock" not in self.proved:
            r = self._deadlock(k)
            if r == z3.unknown:
                return Stop(Verdict.UNKNOWN, k, reason=self._unknown(k))
            if r == z3.sat:
                steps, stuck = self.deadlock_trace(k)
                return Stop(Verdict.VIOLATED, k, steps, stuck)
        self.solver.add(self.moves[k])
        t0 = time.perf_counter()
        asked = []
        for name, cond in self.step_props(k):
            if name in self.proved or not self.mine(name):
                # a theorem (it holds at every depth), or another job's property (a path
                # breaking it holds a shorter violation, the other job's to find)
                self.solver.add(z3.Not(cond))
            else:
                asked.append((name, cond))
        if len(asked) > 1 and self.last_depth_s < CHEAP_DEPTH_S:
            # shallow depths are cheap: one query says that nothing fails here
            if self.stop is not None and self.stop(k + 1):
                return self._stopped(k)
            r = self._check(z3.Or(*[c for _, c in asked]), f"any@{k + 1}")
            if r == z3.unsat:
                for _, cond in asked:
                    self.solver.add(z3.Not(cond))
                asked = []
        for name, cond in asked:
            if self.stop is not None and self.stop(k + 1):
                return self._stopped(k)
            r = self._check(cond, f"{name}@{k + 1}")
            if r == z3.unknown:
                return Stop(Verdict.UNKNOWN, k, reason=self._unknown(k + 1))
            if r == z3.sat:
                trace, violation = self.counterexample(k + 1)
                return Stop(Verdict.VIOLATED, k, trace, violation)
            self.solver.add(z3.Not(cond))
        self.last_depth_s = time.perf_counter() - t0
        return None

    @staticmethod
    def _stopped(k: int) -> Stop:
        return Stop(Verdict.UNKNOWN, k, reason="stopped: another job found a violation at "
                    "a smaller depth")

    def _selector(self, k: int) -> Any:
        return num.var(f"sel@{k}") if not self.num.bv else \
            z3.BitVec(f"sel@{k}", max(len(self.tpl_cases) + len(self.tpl_faults), 2)
                      .bit_length() + 1)

    def _unknown(self, k: int) -> str:
        """Why z3 answered unknown: its own reason, and which of our limits it met."""
        reason = self.solver.reason_unknown() or "no reason given"
        took = time.perf_counter() - self.last_check_started
        if "resource" in reason or (self.rlimit and took * 1000 < self.timeout_ms * 0.9):
            limit = f"the resource limit (--rlimit {self.rlimit}) of a query"
        elif "timeout" in reason or took * 1000 >= self.timeout_ms * 0.9:
            limit = f"the time limit (--timeout {self.timeout_ms // 1000}) of a query"
        else:
            limit = "no limit of ours"
        return f"z3 gave up at depth {k}: {reason}; it met {limit}"

    def _deadlock(self, k: int) -> Any:
        """Is some state at depth k a deadlock: a thread inside an operation, and no step
        can run, whatever the nondeterministic picks? Decided without quantifiers: find a
        state in which *these* picks run nothing; ask whether other picks run something
        there; if so, those picks refute every state in which they run something (a
        refinement), and ask again. `self.model` is the deadlocked state on sat."""
        s = self.states[k]
        busy = [th.active[n] for th in s.threads for n in self.stack_procs]
        if not busy:
            return z3.unsat
        can_run, picks = self.enabled[k], self.step_picks[k]
        refuted = [z3.Not(z3.substitute(can_run, *zip(picks, vals, strict=True)))
                   for vals in self.known_picks]
        state_leaves = self.flat(s)
        for _ in range(64):
            r = self._check(z3.And(z3.Or(*busy), z3.Not(can_run), *refuted), f"deadlock@{k}")
            if r != z3.sat:
                return r
            fixed = [(x, self.model.eval(x, model_completion=True)) for x in state_leaves]
            probe = z3.SolverFor("QF_FD") if self.num.bv else z3.Solver()
            probe.set("timeout", self.timeout_ms)
            probe.add(z3.substitute(can_run, *fixed))
            self.queries += 1
            pr = probe.check()
            if pr == z3.unsat:
                return z3.sat
            if pr == z3.unknown:
                return z3.unknown
            pm = probe.model()
            vals = [pm.eval(x, model_completion=True) for x in picks]
            self.known_picks.append(vals)
            refuted.append(z3.Not(z3.substitute(can_run, *zip(picks, vals, strict=True))))
        return z3.unknown

    def _check(self, bad: Any, what: str = "", assume: list[Any] | None = None) -> Any:
        """Is `bad` satisfiable with everything asserted so far (and `assume`)? Asked under
        a fresh assumption literal rather than push/pop, so the solver keeps what it learnt;
        the literal is switched off afterwards."""
        self.queries += 1
        q = z3.Bool(f"query!{self.queries}!{id(self)}")
        self.solver.add(z3.Implies(q, bad))
        t0 = self.last_check_started = time.perf_counter()
        r = self.solver.check(q, *(assume or []))
        if self.trace_queries is not None:
            self.trace_queries(what, r, time.perf_counter() - t0)
        if r == z3.sat:
            self.model = self.solver.model()
        self.solver.add(z3.Not(q))
        return r

    # ---- coverage: witnesses that steps are reachable within the bound
    def witnesses(self, depth: int, budget_s: float) -> tuple[Coverage, str]:
        """Which operations and labelled steps some path of `depth` steps runs: ask z3 for a
        path running a step not yet covered, replay it in the interpreter, count what the
        interpreter ran, repeat. A step for which z3 finds no path is unreachable within
        the bound; one it gives up on is reported as undecided."""
        cov = Coverage()
        t0 = time.perf_counter()
        undecided: list[str] = []
        while True:
            targets = [(k, c.proc, c.label, fire) for k in range(depth)
                       for c, fire in zip(self.cases[k], self.fires[k], strict=True)
                       if (c.proc, c.label) not in cov.steps
                       and f"{c.proc}.{c.label}" not in undecided]
            if not targets:
                break
            if time.perf_counter() - t0 > budget_s:
                undecided.extend(sorted({f"{p}.{lb}" for _, p, lb, _ in targets}))
                break
            r = self._check(z3.Or(*[f for *_, f in targets]), "cover")
            if r == z3.unsat:
                break
            if r == z3.unknown:
                undecided.extend(sorted({f"{p}.{lb}" for _, p, lb, _ in targets}))
                break
            before = len(cov.steps)
            for st in self.witness_trace(depth):
                tr = st.transition
                cov.steps.add((tr.proc, tr.label))
                if tr.started:
                    cov.ops.add(tr.op)
            if len(cov.steps) == before:
                raise EngineDisagreement("a z3 coverage witness runs no new step in the "
                                         "interpreter")
        note = f"z3 witnesses, each replayed by the interpreter ({self.queries} queries)"
        if undecided:
            note += "; undecided (z3 gave up or ran out of time): " + ", ".join(undecided)
        return cov, note

    def witness_trace(self, depth: int) -> list[TraceStep]:
        m = self.model
        want = [self.concrete_state(s, m) for s in self.states[: depth + 1]]
        state = self.interp.initial()
        trace: list[TraceStep] = []
        for k in range(depth):
            sel = m.eval(self.sels[k], model_completion=True).as_long()
            if sel >= len(self.cases[k]):
                break  # the path ends in a fault (excluded by the lemmas: never happens)
            outcome = self._replay_step(state, k, sel, want[k + 1], m, False)
            trace.append(TraceStep(outcome.transition, outcome.state))
            assert outcome.state is not None
            state = outcome.state
        return trace

    # ---- counterexamples, replayed through the interpreter
    def concrete_state(self, s: SymState, m: Any) -> State:
        g = tuple(concrete(gd.type, x, m) for gd, x in zip(self.p.globals, s.globals,
                                                          strict=True))
        locks = tuple(None if (h := num.as_int(m.eval(x, model_completion=True))) < 0 else h
                      for x in s.locks)
        threads = []
        for th in s.threads:
            active = [n for n in self.stack_procs
                      if z3.is_true(m.eval(th.active[n], model_completion=True))]
            frames: list[Frame] = []
            bottom = [n for n in active if self.p.procs[n].is_op]
            cur = bottom[0] if bottom else None
            while cur is not None:
                lid = num.as_int(m.eval(th.label[cur], model_completion=True))
                label = list(self.label_ids[cur])[lid]
                w = num.as_int(m.eval(th.waiting[cur], model_completion=True))
                names = self.interp.local_names[cur]
                locs = tuple(concrete(self.ltypes[cur][nm], th.locals[cur][nm], m)
                             for nm in names)
                frames.append(Frame(cur, label, locs, w))
                cur = self.interp.call_sites[w].proc if w >= 0 else None
            threads.append(tuple(frames))
        return State(g, locks, tuple(threads))

    def counterexample(self, depth: int, start: State | None = None
                       ) -> tuple[list[TraceStep], Violation | None]:
        """Replay the model's first `depth` steps in the interpreter, from the initial state
        (or `start`, for induction); the result is the interpreter's, never z3's."""
        m = self.model
        want = [self.concrete_state(s, m) for s in self.states[: depth + 1]]
        state = self.interp.initial() if start is None else start
        if state != want[0]:
            raise EngineDisagreement("z3's initial state differs from the interpreter's")
        trace: list[TraceStep] = []
        for k in range(depth):
            sel = m.eval(self.sels[k], model_completion=True).as_long()
            last = k == depth - 1
            outcome = self._replay_step(state, k, sel, want[k + 1], m, last)
            trace.append(TraceStep(outcome.transition, outcome.state))
            if outcome.violation is not None:
                if not last:
                    raise EngineDisagreement(f"the interpreter faults at step {k + 1} of a "
                                             f"{depth}-step z3 trace")
                return trace, outcome.violation
            assert outcome.state is not None
            state = outcome.state
        v = self.interp.check_invariants(state)
        if v is None:
            raise EngineDisagreement(f"z3 reports a violation after {depth} steps; the "
                                     "interpreter replays the trace and finds none")
        return trace, v

    def deadlock_trace(self, depth: int, start: State | None = None
                       ) -> tuple[list[TraceStep], Violation]:
        m = self.model
        want = [self.concrete_state(s, m) for s in self.states[: depth + 1]]
        state = self.interp.initial() if start is None else start
        trace: list[TraceStep] = []
        for k in range(depth):
            sel = m.eval(self.sels[k], model_completion=True).as_long()
            outcome = self._replay_step(state, k, sel, want[k + 1], m, False)
            trace.append(TraceStep(outcome.transition, outcome.state))
            assert outcome.state is not None
            state = outcome.state
        if not self.interp.deadlocked(state):
            raise EngineDisagreement(f"z3 reports a deadlock after {depth} steps; the "
                                     "interpreter can still move")
        stuck = [t for t, fr in enumerate(state.threads) if fr]
        where = ", ".join(f"thread {t} at {state.threads[t][-1].proc}."
                          f"{state.threads[t][-1].label}" for t in stuck)
        return trace, Violation("deadlock", f"deadlock: no thread can move ({where})",
                                self.p.procs[state.threads[stuck[0]][-1].proc].span)

    def _replay_step(self, state: State, k: int, sel: int, want: State, m: Any,
                     last: bool) -> Any:
        cases = self.cases[k]
        if 0 <= sel < len(cases):
            c = cases[sel]
            t, op = c.thread, c.op
            args = tuple(concrete(pt, a, m) for (_, pt), a in
                         zip(self.p.procs[op].params, c.args, strict=True)) if op else ()
        else:
            f = self.faults[k][sel - len(cases)]
            t, op = f.thread, f.op
            args = tuple(concrete(pt, a, m) for (_, pt), a in
                         zip(self.p.procs[op].params, f.args, strict=True)) if op else ()
        outs = self.interp.step_outcomes(state, t, op, args)
        for o in outs:
            if o.violation is not None and last and not (0 <= sel < len(cases)):
                return o
            if o.state is not None and o.state == want:
                if last and o.violation is None and not (0 <= sel < len(cases)):
                    continue
                return o
        raise EngineDisagreement(f"step {k + 1} of the z3 trace (thread {t}) has no matching "
                                 "interpreter outcome")


def _group_faults(faults: list[StepFault]) -> list[StepFault]:
    """One fault case per step and start: the condition that the step faults somehow. The
    interpreter's replay tells which fault it is; z3 only has to say that one happens."""
    groups: dict[tuple[Any, ...], list[StepFault]] = {}
    for f in faults:
        key = (f.thread, f.proc, f.label, f.op, tuple(id(a) for a in f.args))
        groups.setdefault(key, []).append(f)
    out = []
    for fs in groups.values():
        f = fs[0]
        cond = z3.simplify(z3.Or(*[x.cond for x in fs])) if len(fs) > 1 else f.cond
        if not z3.is_false(cond):
            out.append(StepFault(cond, f.kind, f.message, f.span, f.thread, f.proc, f.label,
                                 f.op, f.args))
    return out


def _resting_labels(proc: ir.Proc) -> set[str]:
    """The labels at which a frame of `proc` can be between steps: those a step jumps to,
    the resume labels of its calls, and a called procedure's entry (an operation's first
    step runs in the transition that starts it, so no frame waits at its entry unless a
    step jumps back there)."""
    out: set[str] = set()
    if not proc.is_op and proc.entry is not None:
        out.add(proc.entry)

    def walk(stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            if isinstance(st, ir.Goto):
                out.add(st.label)
            elif isinstance(st, ir.CallStep):
                out.add(st.resume)
            for sub in _children(st):
                walk(sub)

    for step in proc.steps.values():
        walk(step.body)
    return out


def _children(st: ir.Stmt) -> list[tuple[ir.Stmt, ...]]:
    """The statement blocks directly inside a statement."""
    if isinstance(st, ir.If):
        return [st.then, st.else_]
    if isinstance(st, ir.Either):
        return list(st.branches)
    body = getattr(st, "body", None)
    return [body] if isinstance(body, tuple) else []


def _calls(stmts: tuple[ir.Stmt, ...]) -> list[ir.CallStep]:
    from zbudspec.engines.interpreter import _call_steps

    return list(_call_steps(stmts))


def prove_bmc(program: ir.Program, depth: int, timeout_ms: int = 60_000,
              progress: Callable[[int, float], None] | None = None,
              coverage: bool = True, coverage_budget_s: float = 120.0,
              on_depth: Callable[[DepthStats], None] | None = None,
              rlimit: int = 0, strengthen_s: float | None = 120.0) -> SearchResult:
    """Bounded check to `depth` with z3; every counterexample replayed by the interpreter.
    First, unless `strengthen_s` is None, Houdini (z3_houdini) may take that long to find
    the properties that hold at every depth; the search assumes them, and says PROVED when
    they are all. Without a violation, coverage within the bound comes from z3 witnesses
    (`BMC.witnesses`)."""
    bmc = BMC(program, timeout_ms, rlimit)
    bmc.on_depth = on_depth
    bmc.strengthen_budget_s = strengthen_s
    res = bmc.run(depth, progress)
    res.coverage_known = False
    if coverage and res.verdict in (Verdict.NO_VIOLATION, Verdict.PROVED):
        with num.use(bmc.num):
            res.coverage, res.coverage_note = bmc.witnesses(depth, coverage_budget_s)
        res.coverage_known = True
    return res


__all__ = ["BMC", "DepthStats", "EngineDisagreement", "Transition", "prove_bmc"]
