"""The lowered, checked IR that every engine reads (never the AST, never lark trees).

Expressions and statements are frozen dataclasses carrying their source span. Operations and
multi-step procedures are lowered to *step trees*: one tree per label, holding everything a
thread does atomically from that label until it reaches the next label (`Goto`), returns
(`Return`) or calls a multi-step procedure (`CallStep`). Atomic procedures keep a plain body
that runs inline inside the caller's step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from zbudspec.semantics.types import Type, Value
from zbudspec.syntax.ast import Span

# ---- expressions


@dataclass(frozen=True, slots=True)
class Lit:
    value: Value
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class GlobalVar:
    name: str
    index: int
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class LocalVar:
    """A procedure parameter or local, a quantifier or `for` variable."""

    name: str
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class SelfRef:
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class FieldGet:
    base: Expr
    index: int
    name: str
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class MapGet:
    base: Expr
    key: Expr
    key_type: Type
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Unop:
    op: str
    operand: Expr
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Binop:
    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Cond:
    cond: Expr
    then: Expr
    else_: Expr
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class DomRange:
    lo: Expr
    hi: Expr
    static: tuple[int, int]  # bounds every value lies within, for symbolic engines
    span: Span


@dataclass(frozen=True, slots=True)
class DomType:
    values: tuple[Value, ...]
    type: Type
    span: Span


Dom = Union[DomRange, DomType]


@dataclass(frozen=True, slots=True)
class Quant:
    kind: str  # forall exists count find
    var: str
    var_type: Type
    domain: Dom
    body: Expr
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class FnCall:
    fn: str
    args: tuple[Expr, ...]
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Builtin:
    """list_add list_add_tail list_del list_first list_last list_empty len unwrap is_some
    held holder at local set_add set_del."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span
    # for at/local/held/holder: the resolved names (proc, label or variable, lock)
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordLit:
    values: tuple[Expr, ...]
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class RecordWith:
    base: Expr
    updates: tuple[tuple[int, Expr], ...]
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class MapConst:
    value: Expr
    size: int
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class MapWith:
    base: Expr
    key: Expr
    value: Expr
    key_type: Type
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class SetLit:
    items: tuple[Expr, ...]
    type: Type
    span: Span


Expr = Union[
    Lit, GlobalVar, LocalVar, SelfRef, FieldGet, MapGet, Unop, Binop, Cond, Quant, FnCall,
    Builtin, RecordLit, RecordWith, MapConst, MapWith, SetLit,
]

# ---- statements


@dataclass(frozen=True, slots=True)
class LVal:
    """`name` followed by a path of field positions (int) and map keys (Expr)."""

    name: str
    is_global: bool
    index: int  # global slot, or -1 for a local
    path: tuple[tuple[str, int | Expr, Type], ...]  # ("f", pos, container) | ("k", key, map)
    type: Type  # the type of the assigned location
    span: Span


@dataclass(frozen=True, slots=True)
class Assign:
    target: LVal
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class For:
    var: str
    var_type: Type
    domain: Dom
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Await:
    cond: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Assert:
    cond: Expr
    message: str
    span: Span


@dataclass(frozen=True, slots=True)
class Lock:
    lock: str
    index: int
    span: Span


@dataclass(frozen=True, slots=True)
class Unlock:
    lock: str
    index: int
    span: Span


@dataclass(frozen=True, slots=True)
class Choose:
    target: LVal
    domain: Dom
    var_type: Type
    where: Expr | None  # reads the chosen value through LocalVar(`__choice`)
    span: Span


@dataclass(frozen=True, slots=True)
class Either:
    branches: tuple[tuple[Stmt, ...], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CallAtomic:
    proc: str
    args: tuple[Expr, ...]
    target: LVal | None
    span: Span


@dataclass(frozen=True, slots=True)
class Goto:
    label: str
    span: Span


@dataclass(frozen=True, slots=True)
class Return:
    value: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class CallStep:
    proc: str
    args: tuple[Expr, ...]
    target: LVal | None
    resume: str
    span: Span


Stmt = Union[
    Assign, If, For, Await, Assert, Lock, Unlock, Choose, Either, CallAtomic, Goto, Return,
    CallStep,
]

CHOICE_VAR = "__choice"

# ---- program


@dataclass(frozen=True, slots=True)
class Step:
    proc: str
    label: str
    body: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Proc:
    name: str
    is_op: bool
    params: tuple[tuple[str, Type], ...]
    locals: tuple[tuple[str, Type, Expr | None], ...]
    result: Type | None
    requires: tuple[Expr, ...]
    multi_step: bool
    entry: str | None  # entry label of a multi-step procedure
    steps: dict[str, Step]  # label -> step tree (multi-step)
    body: tuple[Stmt, ...]  # atomic procedures
    labels: tuple[str, ...]  # labels in source order
    span: Span


@dataclass(frozen=True, slots=True)
class Fn:
    name: str
    params: tuple[tuple[str, Type], ...]
    result: Type
    body: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class GlobalDecl:
    name: str
    type: Type
    init: Value
    ghost: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    expr: Expr
    span: Span
    lemma: bool = False  # declared `lemma`: checked like any invariant; meant for induction


@dataclass(frozen=True, slots=True)
class Client:
    threads: int
    ops: tuple[str, ...]  # ops every thread may invoke
    per_thread: dict[int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Program:
    path: str
    params: dict[str, Value]  # resolved constants and parameters
    param_names: tuple[str, ...]  # the overridable ones
    globals: tuple[GlobalDecl, ...]
    locks: tuple[str, ...]
    fns: dict[str, Fn]
    procs: dict[str, Proc]
    invariants: tuple[Invariant, ...]
    client: Client
    depth: int | None  # from the selected config, if any
    thread_type: Type
    sources: dict[str, str] = field(default_factory=dict)

    def ops_for(self, thread: int) -> tuple[str, ...]:
        return self.client.per_thread.get(thread, self.client.ops)
