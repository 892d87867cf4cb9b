"""Cut a procedure's structured body into step trees, one per label.

The step of label L is everything a thread runs from L, following the structure (falling out
of `if` branches, back to a `while` head, out to the caller's continuation) until it reaches
another label (`Goto`), returns, or calls a multi-step procedure (`CallStep`, resuming at the
label that must follow the call). A `while` whose body can loop without passing a label would
make a step that never ends: that is ZB024.
"""

from __future__ import annotations

from collections.abc import Callable

from zbudspec.diagnostics import Diagnostic, error, warning
from zbudspec.semantics import ir
from zbudspec.semantics.structured import SCall, SEither, SFor, SIf, SLabelled, SStmt, SWhile
from zbudspec.semantics.types import Type
from zbudspec.syntax.ast import Span

Cont = tuple[tuple[SStmt, ...], "Cont"] | None


class StepBuilder:
    def __init__(self, proc: str, multi: set[str], end_span: Span,
                 resolve_call: Callable[[SCall], ir.Stmt]) -> None:
        self.proc = proc
        self.multi = multi
        self.end_span = end_span
        self.resolve_call = resolve_call
        self.steps: dict[str, ir.Step] = {}
        self.pending: list[tuple[SLabelled, tuple[SStmt, ...], Cont]] = []
        self.diagnostics: list[Diagnostic] = []
        self.falls_off = False

    # ---- atomic statements (no label, loop or multi-step call inside)
    def atomic(self, s: SStmt, where: str) -> ir.Stmt:
        if isinstance(s, SLabelled):
            self.diagnostics.append(error(
                "ZB023", f"label `{s.label}` inside {where}: a step cannot start there",
                s.span, "move the label out, or turn the `for` into a `while` with a counter"))
            return self.atomic(s.stmt, where)
        if isinstance(s, SWhile):
            self.diagnostics.append(error(
                "ZB024", f"`while` inside {where}", s.span,
                "use `for (x in lo..hi)` for a bounded loop inside one step"))
            return ir.Assert(ir.Lit(True, ir_bool(), s.span), "", s.span)
        if isinstance(s, SCall):
            if s.proc in self.multi:
                self.diagnostics.append(error(
                    "ZB023", f"call of multi-step procedure `{s.proc}` inside {where}", s.span))
            return self.resolve_call(s)
        if isinstance(s, SIf):
            return ir.If(s.cond, self.atomics(s.then, where), self.atomics(s.else_, where),
                         s.span)
        if isinstance(s, SEither):
            return ir.Either(tuple(self.atomics(b, where) for b in s.branches), s.span)
        if isinstance(s, SFor):
            return ir.For(s.var, s.var_type, s.domain, self.atomics(s.body, "a `for` loop"),
                          s.span)
        return s

    def atomics(self, ss: tuple[SStmt, ...], where: str) -> tuple[ir.Stmt, ...]:
        return tuple(self.atomic(s, where) for s in ss)

    # ---- step trees
    def emit(self, stmts: tuple[SStmt, ...], k: Cont, loops: frozenset[int]) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, SLabelled):
                out.append(ir.Goto(s.label, s.span))
                self.pending.append((s, rest, k))
                return out
            if isinstance(s, SWhile):
                out.extend(self.emit_while(s, s, rest, k, loops))
                return out
            if isinstance(s, SIf) and self.yields(s):
                out.append(ir.If(s.cond, tuple(self.emit(s.then + rest, k, loops)),
                                 tuple(self.emit(s.else_ + rest, k, loops)), s.span))
                return out
            if isinstance(s, SEither) and self.yields(s):
                out.append(ir.Either(tuple(tuple(self.emit(b + rest, k, loops))
                                           for b in s.branches), s.span))
                return out
            if isinstance(s, SCall) and s.proc in self.multi:
                out.append(self.call_step(s, rest, k))
                return out
            if isinstance(s, ir.Return):
                out.append(s)
                return out
            out.append(self.atomic(s, "this step"))
            if always_returns((out[-1],)):
                return out
        if k is None:
            self.falls_off = True
            out.append(ir.Return(None, self.end_span))
            return out
        kstmts, knext = k
        out.extend(self.emit(kstmts, knext, loops))
        return out

    def emit_while(self, w: SWhile, head: SStmt, rest: tuple[SStmt, ...], k: Cont,
                   loops: frozenset[int]) -> list[ir.Stmt]:
        if id(head) in loops:
            self.diagnostics.append(error(
                "ZB024", "this loop can go round without passing a label, so one step "
                "would never end", w.span,
                "put a label in the loop body on every path, or use a bounded `for`"))
            return [ir.Return(None, w.span)]
        body_k: Cont = ((head, *rest), k)
        inner = self.emit(w.body, body_k, loops | {id(head)})
        after = self.emit(rest, k, loops)
        return [ir.If(w.cond, tuple(inner), tuple(after), w.span)]

    def call_step(self, s: SCall, rest: tuple[SStmt, ...], k: Cont) -> ir.Stmt:
        while not rest and k is not None:  # the call ends a block: resume after it
            rest, k = k
        if not rest or not isinstance(rest[0], SLabelled):
            self.diagnostics.append(error(
                "ZB026", f"the statement after a call of multi-step procedure `{s.proc}` must "
                "be labelled: the thread resumes there when the call returns", s.span,
                "add a label, e.g. `R2: ...`, after the call"))
            return ir.Return(None, s.span)
        nxt = rest[0]
        self.pending.append((nxt, rest[1:], k))
        return ir.CallStep(s.proc, s.args, s.target, nxt.label, s.span)

    def yields(self, s: SStmt) -> bool:
        from zbudspec.semantics.structured import yields

        return yields(s, self.multi)

    def build(self, body: tuple[SStmt, ...]) -> str | None:
        """Build every reachable step; returns the entry label."""
        if not body or not isinstance(body[0], SLabelled):
            return None
        first = body[0]
        self.pending.append((first, body[1:], None))
        while self.pending:
            s, rest, k = self.pending.pop()
            if s.label in self.steps:
                continue
            self.steps[s.label] = ir.Step(self.proc, s.label, (), s.span)  # reserve
            if isinstance(s.stmt, SWhile):
                tree = self.emit_while(s.stmt, s, rest, k, frozenset())
            else:
                tree = self.emit((s.stmt, *rest), k, frozenset())
            self.steps[s.label] = ir.Step(self.proc, s.label, tuple(tree), s.span)
        return first.label

    def unreachable(self, labels: list[tuple[str, Span]]) -> None:
        for label, span in labels:
            if label not in self.steps:
                self.diagnostics.append(warning(
                    "ZB020", f"step `{label}` of `{self.proc}` is unreachable", span))


def always_returns(stmts: tuple[ir.Stmt, ...]) -> bool:
    """Does every path through these atomic statements end in `return`?"""
    for s in stmts:
        if isinstance(s, ir.Return):
            return True
        if isinstance(s, ir.If) and always_returns(s.then) and always_returns(s.else_):
            return True
        if isinstance(s, ir.Either) and all(always_returns(b) for b in s.branches):
            return True
    return False


def ir_bool() -> Type:
    from zbudspec.semantics.types import BOOL

    return BOOL
