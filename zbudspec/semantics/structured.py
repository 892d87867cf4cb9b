"""Structured statements: the checker's output before step trees are cut.

Atomic statements are already IR (`ir.Assign`, `ir.Await`...); these wrappers keep the
structure that may span several steps (labels, `while`, `if`/`either` around labels, calls
of multi-step procedures). `steps.py` turns them into step trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from zbudspec.semantics import ir
from zbudspec.semantics.types import Type
from zbudspec.syntax.ast import Span


@dataclass(frozen=True, slots=True, eq=False)
class SLabelled:
    label: str
    stmt: SStmt
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SWhile:
    cond: ir.Expr
    body: tuple[SStmt, ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SIf:
    cond: ir.Expr
    then: tuple[SStmt, ...]
    else_: tuple[SStmt, ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SEither:
    branches: tuple[tuple[SStmt, ...], ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SFor:
    var: str
    var_type: Type
    domain: ir.Dom
    body: tuple[SStmt, ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SCall:
    """A call of a procedure; atomic or multi-step is decided by the callee."""

    proc: str
    args: tuple[ir.Expr, ...]
    target: ir.LVal | None
    span: Span


SStmt = Union[SLabelled, SWhile, SIf, SEither, SFor, SCall, ir.Stmt]


def yields(s: SStmt, multi: set[str]) -> bool:
    """Can executing `s` end the current step (a label, a loop, a multi-step call)?"""
    if isinstance(s, SLabelled | SWhile):
        return True
    if isinstance(s, SCall):
        return s.proc in multi
    if isinstance(s, SIf):
        return any(yields(x, multi) for x in (*s.then, *s.else_))
    if isinstance(s, SEither):
        return any(yields(x, multi) for b in s.branches for x in b)
    if isinstance(s, SFor):
        return any(yields(x, multi) for x in s.body)
    return False
