"""The interpreter: the reference semantics of zbudspec steps, threads and locks.

One transition is one thread's next atomic step. A step runs on a private copy of the state;
it is *enabled* when it runs to its end without a false `await`, a busy lock or an empty
`choose` (a disabled step changes nothing). Every nondeterministic pick (operation arguments,
`choose`, `either`) is enumerated: `successors` returns every outcome of every enabled step.
Run-time errors (failed assertions, lock misuse, out-of-range values, list corruption,
`unwrap` of none) are violations, reported with the transition that hit them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn

from zbudspec.engines.state import Frame, Outcome, Pick, State, Transition, Violation
from zbudspec.semantics import ir
from zbudspec.semantics.compile import Compiler
from zbudspec.semantics.evaluate import EvalError, FrameView, map_key
from zbudspec.semantics.lower import zero
from zbudspec.semantics.typecheck import Check, checker
from zbudspec.semantics.types import (
    TMap,
    TRecord,
    Type,
    Value,
    domain_values,
    show_value,
)
from zbudspec.syntax.ast import Span


class Blocked(Exception):
    """The step is not enabled in this state (or under these picks)."""


class Fault(Exception):
    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message)
        self.violation = violation


@dataclass(frozen=True, slots=True)
class _Term:
    kind: str  # goto return call
    label: str = ""
    value: Value = None
    call: ir.CallStep | None = None
    args: tuple[Value, ...] = ()


class _Chooser:
    """Replays a prefix of pick indices, then takes option 0 and records what it did."""

    def __init__(self, prefix: Sequence[int]) -> None:
        self.prefix = prefix
        self.log: list[tuple[int, int]] = []
        self.picks: list[Pick] = []

    def pick(self, what: str, options: Sequence[str]) -> int:
        n = len(options)
        if n == 0:
            raise Blocked
        i = len(self.log)
        k = self.prefix[i] if i < len(self.prefix) else 0
        if k >= n:
            raise Blocked
        self.log.append((k, n))
        self.picks.append(Pick(what, options[k], k))
        return k


class Interpreter:
    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.local_names: dict[str, tuple[str, ...]] = {
            name: tuple(n for n, _ in proc.params) + tuple(n for n, _, _ in proc.locals)
            for name, proc in program.procs.items()
        }
        self.call_sites: list[ir.CallStep] = []
        self.call_index: dict[int, int] = {}
        for proc in program.procs.values():
            for step in proc.steps.values():
                for cs in _call_steps(step.body):
                    self.call_index[id(cs)] = len(self.call_sites)
                    self.call_sites.append(cs)
        self.n_threads = program.client.threads
        self.cx = Compiler(program.fns)
        self.invariants = [(inv, self.cx.compile(inv.expr)) for inv in program.invariants]
        self.arg_domains: dict[str, list[tuple[Value, ...]]] = {}
        for name, proc in program.procs.items():
            if proc.is_op:
                doms = [domain_values(t) for _, t in proc.params]
                self.arg_domains[name] = list(itertools.product(*doms))
        # built once, looked up by the id of an IR node or type (kept alive in `_keep`)
        self._keep: dict[int, object] = {}
        self.checks: dict[int, Check] = {}
        self.zeros: dict[int, Value] = {}
        self.shown: dict[tuple[int, type, Value], str] = {}
        self.arg_picks: dict[tuple[str, tuple[Value, ...]], tuple[Pick, ...]] = {}
        self.branches: dict[int, list[str]] = {}
        # procedures whose locals start from constants (no initialiser, or a literal), and
        # those initial values once computed (they do not depend on the arguments)
        self.const_locals = {name for name, proc in program.procs.items()
                             if all(i is None or isinstance(i, ir.Lit) for _, _, i in proc.locals)}
        self.local_consts: dict[str, tuple[Value, ...]] = {}

    def check(self, t: Type) -> Check:
        c = self.checks.get(id(t))
        if c is None:
            c = self.checks[id(t)] = checker(t)
            self._keep[id(t)] = t
        return c

    def zero(self, t: Type) -> Value:
        if id(t) not in self.zeros:
            self.zeros[id(t)] = zero(t)
            self._keep[id(t)] = t
        return self.zeros[id(t)]

    def show(self, t: Type, v: Value) -> str:
        key = (id(t), v.__class__, v)
        got = self.shown.get(key)
        if got is None:
            got = self.shown[key] = show_value(t, v)
            self._keep[id(t)] = t
        return got

    # ---- states
    def initial(self) -> State:
        g = tuple(d.init for d in self.p.globals)
        return State(g, (None,) * len(self.p.locks), ((),) * self.n_threads)

    def frames_view(self, state: State, t: int) -> list[FrameView]:
        if not 0 <= t < len(state.threads):
            return []
        return [(f.proc, f.label, dict(zip(self.local_names[f.proc], f.locals, strict=True)))
                for f in state.threads[t]]

    def frames_of(self, state: State) -> Callable[[int], list[FrameView]]:
        cache: dict[int, list[FrameView]] = {}

        def frames(t: int) -> list[FrameView]:
            got = cache.get(t)
            if got is None:
                got = cache[t] = self.frames_view(state, t)
            return got

        return frames

    def check_invariants(self, state: State) -> Violation | None:
        fr = self.frames_of(state)
        for k in range(len(self.invariants)):
            bad = self.check_invariant(k, state, fr)
            if bad is not None:
                return bad
        return None

    def check_invariant(self, k: int, state: State,
                        frames: Callable[[int], list[FrameView]]) -> Violation | None:
        """The k-th invariant in `state` (`frames`: `frames_of(state)`)."""
        inv, fn = self.invariants[k]
        try:
            ok = fn(state.globals, {}, None, state.locks, frames)
        except EvalError as exc:
            return Violation(exc.kind, f"invariant `{inv.name}` cannot be evaluated: "
                             f"{exc.message}", exc.span, inv.name)
        if not ok:
            return Violation("invariant", f"invariant `{inv.name}` is violated", inv.span,
                             inv.name)
        return None

    # ---- transitions
    def successors(self, state: State, invariants: bool = True) -> list[Outcome]:
        """Every outcome of every enabled step. With `invariants=False` the caller checks
        the invariants of the new states itself (the explicit engine, once per state)."""
        out: list[Outcome] = []
        for t in range(self.n_threads):
            out.extend(self.thread_successors(state, t, invariants))
        return out

    def thread_successors(self, state: State, t: int,
                          invariants: bool = True) -> Iterator[Outcome]:
        if state.threads[t]:
            yield from self._enumerate(state, t, None, (), invariants)
            return
        for op in self.p.ops_for(t):
            yield from self.start_successors(state, t, op, invariants)

    def start_successors(self, state: State, t: int, op: str,
                         invariants: bool = True) -> Iterator[Outcome]:
        """Every outcome of idle thread t starting `op`, with every argument tuple."""
        for args in self.arg_domains[op]:
            yield from self._enumerate(state, t, op, args, invariants)

    def _enumerate(self, state: State, t: int, op: str | None,
                   args: tuple[Value, ...], invariants: bool) -> Iterator[Outcome]:
        stack: list[list[int]] = [[]]
        while stack:
            prefix = stack.pop()
            chooser = _Chooser(prefix)
            outcome = self.run_step(state, t, op, args, chooser, invariants=invariants)
            for i in range(len(prefix), len(chooser.log)):
                k, n = chooser.log[i]
                base = [c for c, _ in chooser.log[:i]]
                stack.extend([*base, alt] for alt in range(n - 1, k, -1))
            if outcome is not None:
                yield outcome

    def step_outcomes(self, state: State, t: int, op: str | None = None,
                      args: tuple[Value, ...] = ()) -> list[Outcome]:
        """Every outcome of thread t's next step: starting `op(args)` if it is idle."""
        return list(self._enumerate(state, t, op, args, True))

    def replay_step(self, state: State, t: int, op: str | None, args: tuple[Value, ...],
                    picks: Sequence[int]) -> Outcome | None:
        """Run one step with the given pick indices (a trace being replayed)."""
        return self.run_step(state, t, op, args, _Chooser(picks), exact=True)

    def run_step(self, state: State, t: int, op: str | None, args: tuple[Value, ...],
                 chooser: _Chooser, exact: bool = False,
                 invariants: bool = True) -> Outcome | None:
        run = _StepRun(self, state, t, chooser)
        try:
            if op is not None:
                run.start(op, args)
            trans = run.execute()
        except Blocked:
            return None
        except Fault as f:
            return Outcome(run.transition(), None, f.violation)
        if exact and len(chooser.log) != len(chooser.prefix):
            return None
        new = run.commit()
        return Outcome(trans, new, self.check_invariants(new) if invariants else None)

    def deadlocked(self, state: State) -> bool:
        """No thread can move although some thread is inside an operation."""
        return any(state.threads) and not self.successors(state)


class _StepRun:
    def __init__(self, interp: Interpreter, state: State, t: int, chooser: _Chooser) -> None:
        self.i = interp
        self.p = interp.p
        self.t = t
        self.chooser = chooser
        self.globals = list(state.globals)
        self.locks = list(state.locks)
        self.frames = list(state.threads[t])
        self.state = state
        self.started = False
        self.finished = False
        self.result: Value = None
        self.op = self.frames[0].proc if self.frames else ""
        self.proc = ""
        self.label = ""
        self.span: Span = self.p.procs[self.op].span if self.op else Span("", 0, 0, 0, 0)
        self.locals: dict[str, Value] = {}

    # ---- helpers
    def fault(self, kind: str, message: str, span: Span) -> Fault:
        return Fault(Violation(kind, message, span))

    def ev(self, e: ir.Expr, frames: Callable[[int], list[FrameView]] | None = None) -> Value:
        fn = self.i.cx.cache.get(id(e)) or self.i.cx.compile(e)
        try:
            return fn(self.globals, self.locals, self.t, self.locks, frames)
        except EvalError as exc:
            raise self.fault(exc.kind, exc.message, exc.span) from None

    def domain(self, d: ir.Dom) -> list[Value]:
        if isinstance(d, ir.DomType):
            return list(d.values)
        lo, hi = self.ev(d.lo), self.ev(d.hi)
        assert isinstance(lo, int) and isinstance(hi, int)
        return list(range(lo, hi + 1))

    def transition(self) -> Transition:
        return Transition(self.t, self.op, self.proc, self.label, tuple(self.chooser.picks),
                          self.started, self.result, self.finished, self.span)

    def new_frame(self, proc_name: str, args: Sequence[Value], span: Span) -> Frame:
        proc = self.p.procs[proc_name]
        env: dict[str, Value] = {}
        check = self.i.check
        for (name, t), v in zip(proc.params, args, strict=True):
            if not check(t)(v):
                self.range_fault(t, v, f"argument `{name}` of `{proc_name}`", span)
            env[name] = v
        known = self.i.local_consts.get(proc_name)
        if known is not None:
            return Frame(proc_name, proc.entry or "", (*args, *known), -1)
        saved = self.locals
        self.locals = env
        try:
            for name, t, init in proc.locals:
                env[name] = self.i.zero(t) if init is None else self.ev(init)
                if not check(t)(env[name]):
                    self.range_fault(t, env[name], f"`{name}`", init.span if init else span)
        finally:
            self.locals = saved
        if proc_name in self.i.const_locals:  # the same values next time
            self.i.local_consts[proc_name] = tuple(env[n] for n, _, _ in proc.locals)
        names = self.i.local_names[proc_name]
        return Frame(proc_name, proc.entry or "", tuple(env[n] for n in names), -1)

    def range_fault(self, t: Type, v: Value, what: str, span: Span) -> NoReturn:
        raise self.fault("range", f"{what} = {show_value(t, v)} is outside {t}", span)

    # ---- operation start
    def start(self, op: str, args: tuple[Value, ...]) -> None:
        proc = self.p.procs[op]
        self.op = op
        self.started = True
        self.span = proc.span
        picks = self.i.arg_picks.get((op, args))
        if picks is None:
            picks = self.i.arg_picks[(op, args)] = tuple(
                Pick(f"arg {name}", show_value(t, v), -1)
                for (name, t), v in zip(proc.params, args, strict=True))
        self.chooser.picks.extend(picks)
        frame = self.new_frame(op, args, proc.span)
        self.locals = dict(zip(self.i.local_names[op], frame.locals, strict=True))
        frames = self.i.frames_of(self.state)
        for req in proc.requires:
            if not self.ev(req, frames):
                raise Blocked
        self.frames = [frame]

    # ---- one step
    def execute(self) -> Transition:
        top = self.frames[-1]
        self.proc, self.label = top.proc, top.label
        proc = self.p.procs[top.proc]
        step = proc.steps[top.label]
        self.span = step.span
        self.locals = dict(zip(self.i.local_names[top.proc], top.locals, strict=True))
        term = self.block(step.body)
        if term is None:
            raise self.fault("internal", f"step {top.proc}.{top.label} fell off its end",
                             step.span)
        self.finish(term)
        return self.transition()

    def finish(self, term: _Term) -> None:
        top = self.frames[-1]
        names = self.i.local_names[top.proc]
        if term.kind == "goto":
            self.frames[-1] = Frame(top.proc, term.label,
                                    tuple(self.locals[n] for n in names), top.call_site)
        elif term.kind == "call":
            cs = term.call
            assert cs is not None
            self.frames[-1] = Frame(top.proc, cs.resume, tuple(self.locals[n] for n in names),
                                    self.i.call_index[id(cs)])
            self.frames.append(self.new_frame(cs.proc, term.args, cs.span))
        else:
            self.frames.pop()
            if not self.frames:
                held = [self.p.locks[i] for i, h in enumerate(self.locks) if h == self.t]
                if held:
                    raise self.fault("lock", f"operation `{top.proc}` ends holding "
                                     + ", ".join(f"`{h}`" for h in held), self.span)
                self.finished = True
                self.result = term.value
                return
            caller = self.frames[-1]
            cs = self.i.call_sites[caller.call_site]
            if cs.target is not None:
                self.locals = dict(zip(self.i.local_names[caller.proc], caller.locals,
                                       strict=True))
                self.assign(cs.target, term.value)
                cnames = self.i.local_names[caller.proc]
                caller = Frame(caller.proc, caller.label,
                               tuple(self.locals[n] for n in cnames), -1)
            self.frames[-1] = caller._replace(call_site=-1)

    def commit(self) -> State:
        threads = list(self.state.threads)
        threads[self.t] = tuple(self.frames)
        return State(tuple(self.globals), tuple(self.locks), tuple(threads))

    # ---- statements
    def block(self, stmts: Sequence[ir.Stmt]) -> _Term | None:
        for s in stmts:
            if s.__class__ is ir.Assign:  # the commonest statement, without the match
                self.assign(s.target, self.ev(s.value))
                continue
            term = self.stmt(s)
            if term is not None:
                return term
        return None

    def stmt(self, s: ir.Stmt) -> _Term | None:
        match s:
            case ir.Assign():
                self.assign(s.target, self.ev(s.value))
            case ir.If():
                return self.block(s.then if self.ev(s.cond) else s.else_)
            case ir.Await():
                if not self.ev(s.cond):
                    raise Blocked
            case ir.Assert():
                if not self.ev(s.cond):
                    raise self.fault("assertion", f"assertion failed: {s.message}", s.span)
            case ir.Lock():
                holder = self.locks[s.index]
                if holder == self.t:
                    raise self.fault("lock", f"thread {self.t} takes `{s.lock}`, which it "
                                     "already holds (self-deadlock)", s.span)
                if holder is not None:
                    raise Blocked
                self.locks[s.index] = self.t
            case ir.Unlock():
                if self.locks[s.index] != self.t:
                    raise self.fault("lock", f"thread {self.t} releases `{s.lock}`, which it "
                                     "does not hold", s.span)
                self.locks[s.index] = None
            case ir.Choose():
                self.choose(s)
            case ir.Either():
                names = self.i.branches.get(id(s))
                if names is None:
                    names = self.i.branches[id(s)] = [f"branch {i + 1}"
                                                      for i in range(len(s.branches))]
                    self.i._keep[id(s)] = s
                k = self.chooser.pick("either", names)
                return self.block(s.branches[k])
            case ir.For():
                return self.for_(s)
            case ir.CallAtomic():
                self.call_atomic(s)
            case ir.Goto():
                return _Term("goto", label=s.label)
            case ir.Return():
                return _Term("return", value=None if s.value is None else self.ev(s.value))
            case ir.CallStep():
                return _Term("call", call=s, args=tuple(self.ev(a) for a in s.args))
        return None

    def choose(self, s: ir.Choose) -> None:
        name = s.target.name
        saved = self.locals.get(name)
        options: list[Value] = []
        try:
            for v in self.domain(s.domain):
                self.locals[name] = v
                if s.where is None or self.ev(s.where):
                    options.append(v)
        finally:
            self.locals[name] = saved
        show = self.i.show
        k = self.chooser.pick(f"choose {name}", [show(s.var_type, v) for v in options])
        self.assign(s.target, options[k])

    def for_(self, s: ir.For) -> _Term | None:
        saved = self.locals.get(s.var, _UNSET)
        values = self.domain(s.domain)
        try:
            for v in values:
                self.locals[s.var] = v
                term = self.block(s.body)
                if term is not None:
                    return term
        finally:
            if saved is _UNSET:
                self.locals.pop(s.var, None)
            else:
                self.locals[s.var] = saved
        return None

    def call_atomic(self, s: ir.CallAtomic) -> None:
        proc = self.p.procs[s.proc]
        args = [self.ev(a) for a in s.args]
        frame = self.new_frame(s.proc, args, s.span)
        saved = self.locals
        self.locals = dict(zip(self.i.local_names[s.proc], frame.locals, strict=True))
        try:
            term = self.block(proc.body)
        finally:
            callee_locals = self.locals
            self.locals = saved
        del callee_locals
        value = term.value if term is not None else None
        if s.target is not None:
            self.assign(s.target, value)

    def assign(self, lv: ir.LVal, value: Value) -> None:
        # the map keys of the path, evaluated once and in order (expressions are pure)
        keys = [self.ev(sel) for kind, sel, _ in lv.path  # type: ignore[arg-type]
                if kind != "f"] if lv.path else []
        if not self.i.check(lv.type)(value):
            self.range_fault(lv.type, value, f"`{self.lv_text(lv, keys)}`", lv.span)
        old = self.globals[lv.index] if lv.is_global else self.locals[lv.name]
        new = self._update(old, lv.path, 0, iter(keys), value) if lv.path else value
        if lv.is_global:
            self.globals[lv.index] = new
        else:
            self.locals[lv.name] = new

    def lv_text(self, lv: ir.LVal, keys: Sequence[Value]) -> str:
        parts = [lv.name]
        at = iter(keys)
        for kind, sel, container in lv.path:
            if kind == "f":
                assert isinstance(container, TRecord) and isinstance(sel, int)
                parts.append("." + container.fields[sel][0])
            else:
                assert isinstance(container, TMap)
                parts.append(f"[{show_value(container.key, next(at))}]")
        return "".join(parts)

    def _update(self, old: Value, path: Sequence[tuple[str, object, Type]], i: int,
                keys: Iterator[Value], value: Value) -> Value:
        if i == len(path):
            return value
        kind, sel, container = path[i]
        assert isinstance(old, tuple)
        if kind == "f":
            assert isinstance(sel, int)
            pos = sel
        else:
            assert isinstance(container, TMap)
            key_expr: ir.Expr = sel  # type: ignore[assignment]
            try:
                pos = map_key(container.key, next(keys), key_expr.span)
            except EvalError as exc:
                raise self.fault(exc.kind, exc.message, exc.span) from None
        items = list(old)
        items[pos] = self._update(items[pos], path, i + 1, keys, value)
        return tuple(items)


_UNSET = object()


def _call_steps(stmts: Sequence[ir.Stmt]) -> Iterator[ir.CallStep]:
    for s in stmts:
        if isinstance(s, ir.CallStep):
            yield s
        elif isinstance(s, ir.If):
            yield from _call_steps(s.then)
            yield from _call_steps(s.else_)
        elif isinstance(s, ir.Either):
            for b in s.branches:
                yield from _call_steps(b)
        elif isinstance(s, ir.For):
            yield from _call_steps(s.body)
