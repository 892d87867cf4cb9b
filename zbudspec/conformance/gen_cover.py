"""Coverage targets of a spec and an interpreter that reports which ones a step hit.

Targets (all read off the checked IR, for the procedures the client's operations reach):

- ``op:NAME``: the client may start operation NAME;
- ``step:PROC.LABEL``: a labelled step;
- ``branch:PROC@LINE:then|else``: each side of an ``if`` (a ``while`` head is an ``if``);
- ``either:PROC@LINE:N``: each branch of an ``either``;
- ``choose:PROC@LINE:VALUE``: each value of a ``choose`` over an enumeration or ``bool``;
- ``return:PROC@LINE``: each ``return`` statement (every error result the spec can give).

The interpreter's own ``run_step`` does not report branches; :class:`CoverInterpreter`
runs the same step with a ``_StepRun`` that records the statements it took. It changes no
semantics: the outcome is the interpreter's, and ``tests/conformance_gen`` checks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from zbudspec.engines.interpreter import (
    Blocked,
    Fault,
    Interpreter,
    _Chooser,
    _StepRun,
    _Term,
)
from zbudspec.engines.state import Outcome, State
from zbudspec.semantics import ir
from zbudspec.semantics.types import TBool, TEnum, Value, domain_values, show_value
from zbudspec.syntax.ast import Span


def _where(proc: str, span: Span) -> str:
    return f"{proc}@{span.line}"


def _stmts(stmts: Sequence[ir.Stmt]) -> Iterator[ir.Stmt]:
    for s in stmts:
        yield s
        if isinstance(s, ir.If):
            yield from _stmts(s.then)
            yield from _stmts(s.else_)
        elif isinstance(s, ir.Either):
            for b in s.branches:
                yield from _stmts(b)
        elif isinstance(s, ir.For):
            yield from _stmts(s.body)


def _proc_stmts(proc: ir.Proc) -> Iterator[ir.Stmt]:
    if proc.multi_step:
        for step in proc.steps.values():
            yield from _stmts(step.body)
    else:
        yield from _stmts(proc.body)


def reachable_procs(program: ir.Program) -> list[str]:
    """Procedures the client's operations reach through calls of either kind, sorted."""
    ops = {op for t in range(program.client.threads) for op in program.ops_for(t)}
    seen = set(ops)
    todo = sorted(ops)
    while todo:
        for s in _proc_stmts(program.procs[todo.pop()]):
            if isinstance(s, ir.CallStep | ir.CallAtomic) and s.proc not in seen:
                seen.add(s.proc)
                todo.append(s.proc)
    return sorted(seen)


def targets(program: ir.Program) -> list[str]:
    """Every coverage target of the spec, in a stable order."""
    out: list[str] = []
    ops = sorted({op for t in range(program.client.threads) for op in program.ops_for(t)})
    out += [f"op:{op}" for op in ops]
    procs = reachable_procs(program)
    for name in procs:
        proc = program.procs[name]
        out += [f"step:{name}.{label}" for label in proc.labels if label in proc.steps]
    found: set[str] = set()
    for name in procs:
        for s in _proc_stmts(program.procs[name]):
            w = _where(name, s.span)
            match s:
                case ir.If():
                    found |= {f"branch:{w}:then", f"branch:{w}:else"}
                case ir.Either():
                    found |= {f"either:{w}:{i + 1}" for i in range(len(s.branches))}
                case ir.Choose() if isinstance(s.var_type, TEnum | TBool):
                    found |= {f"choose:{w}:{show_value(s.var_type, v)}"
                              for v in domain_values(s.var_type)}
                case ir.Return():
                    found.add(f"return:{w}")
                case _:
                    pass
    return out + sorted(found, key=_target_key)


def _target_key(t: str) -> tuple[str, str, int, str]:
    kind, rest = t.split(":", 1)
    proc, _, more = rest.partition("@")
    line, _, tail = more.partition(":")
    return (kind, proc, int(line) if line.isdigit() else 0, tail)


def short(path: str) -> str:
    return Path(path).name


class _CoverRun(_StepRun):
    """A `_StepRun` that records the branches, picks and returns it takes."""

    def __init__(self, interp: Interpreter, state: State, t: int, chooser: _Chooser) -> None:
        super().__init__(interp, state, t, chooser)
        self.hits: list[str] = []
        self.proc_stack: list[str] = []

    def _cur(self) -> str:
        return self.proc_stack[-1] if self.proc_stack else self.proc

    def stmt(self, s: ir.Stmt) -> _Term | None:
        proc = self._cur()
        match s:
            case ir.If():
                taken = bool(self.ev(s.cond))
                self.hits.append(f"branch:{_where(proc, s.span)}:{'then' if taken else 'else'}")
            case ir.Either():
                n = len(self.chooser.picks)
                term = super().stmt(s)
                k = next(p.index for p in self.chooser.picks[n:] if p.what == "either")
                self.hits.append(f"either:{_where(proc, s.span)}:{k + 1}")
                return term
            case ir.Choose():
                n = len(self.chooser.picks)
                term = super().stmt(s)
                if isinstance(s.var_type, TEnum | TBool):
                    got = self.chooser.picks[n:]
                    if got:
                        self.hits.append(f"choose:{_where(proc, s.span)}:{got[0].value}")
                return term
            case ir.Return():
                self.hits.append(f"return:{_where(proc, s.span)}")
            case ir.CallAtomic():
                self.proc_stack.append(s.proc)
                try:
                    return super().stmt(s)
                finally:
                    self.proc_stack.pop()
            case _:
                pass
        return super().stmt(s)


@dataclass(frozen=True, slots=True)
class Covered:
    outcome: Outcome
    hits: tuple[str, ...]


class CoverInterpreter(Interpreter):
    """The interpreter, reporting per step the targets it hit (see module doc)."""

    def covered_step(self, state: State, t: int, op: str | None, args: tuple[Value, ...],
                     picks: Sequence[int]) -> tuple[Covered | None, list[tuple[int, int]]]:
        """Run one step with `picks` as a prefix of pick indices (then option 0); also
        return the chooser's log, so callers can enumerate the other options."""
        chooser = _Chooser(picks)
        run = _CoverRun(self, state, t, chooser)
        try:
            if op is not None:
                run.start(op, args)
            trans = run.execute()
        except Blocked:
            return None, chooser.log
        except Fault as f:
            return Covered(Outcome(run.transition(), None, f.violation),
                           tuple(run.hits)), chooser.log
        new = run.commit()
        hits = [f"step:{trans.proc}.{trans.label}"]
        if trans.started:
            hits.insert(0, f"op:{trans.op}")
        return Covered(Outcome(trans, new, self.check_invariants(new)),
                       (*hits, *run.hits)), chooser.log

    def covered_outcomes(self, state: State, t: int, op: str | None,
                         args: tuple[Value, ...]) -> list[Covered]:
        """Every outcome of thread t's next step, in the interpreter's order of picks."""
        out: list[Covered] = []
        stack: list[list[int]] = [[]]
        while stack:
            prefix = stack.pop()
            got, log = self.covered_step(state, t, op, args, prefix)
            for i in range(len(prefix), len(log)):
                k, n = log[i]
                base = [c for c, _ in log[:i]]
                stack.extend([*base, alt] for alt in range(n - 1, k, -1))
            if got is not None:
                out.append(got)
        return out
