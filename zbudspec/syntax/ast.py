"""The zbudspec abstract syntax tree: frozen dataclasses, a span on every node.

The parser (`parser.py`) builds these; nothing else constructs them except variant merging.
Analyses never mutate the tree: they return side tables or the lowered IR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


# ---- types


@dataclass(frozen=True, slots=True)
class BoolType:
    span: Span


@dataclass(frozen=True, slots=True)
class IntType:
    span: Span


@dataclass(frozen=True, slots=True)
class RangeType:
    lo: Expr
    hi: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class OptionType:
    inner: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class SetType:
    elem: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class ListType:
    elem: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class MapType:
    key: TypeExpr
    value: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class NamedType:
    name: str
    span: Span


TypeExpr = Union[BoolType, IntType, RangeType, OptionType, SetType, ListType, MapType, NamedType]


# ---- expressions


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class NoneLit:
    span: Span


@dataclass(frozen=True, slots=True)
class SelfLit:
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span
    func_span: Span


@dataclass(frozen=True, slots=True)
class FieldInit:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class RecordLit:
    type_name: str
    fields: tuple[FieldInit, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class SetLit:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class EmptyList:
    span: Span


@dataclass(frozen=True, slots=True)
class MapLit:
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CondExpr:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Index:
    base: Expr
    index: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Field:
    base: Expr
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    base: Expr
    fields: tuple[FieldInit, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class MapUpdate:
    base: Expr
    key: Expr
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "!" or "-"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / % << >> | & ^ == != < <= > >= && || ==> in
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class RangeDomain:
    lo: Expr
    hi: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class TypeDomain:
    name: str
    span: Span


Domain = Union[RangeDomain, TypeDomain]


@dataclass(frozen=True, slots=True)
class Quant:
    kind: str  # forall exists count find
    var: str
    domain: Domain
    body: Expr
    span: Span


Expr = Union[
    IntLit, BoolLit, NoneLit, SelfLit, Name, Call, RecordLit, SetLit, EmptyList, MapLit,
    CondExpr, Index, Field, RecordUpdate, MapUpdate, Unary, Binary, Quant,
]


# ---- statements


@dataclass(frozen=True, slots=True)
class IndexSel:
    index: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class FieldSel:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class LValue:
    name: str
    path: tuple[IndexSel | FieldSel, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class LocalDecl:
    name: str
    type: TypeExpr
    init: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Block:
    locals: tuple[LocalDecl, ...]
    stmts: tuple[Stmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Labelled:
    label: str
    stmt: Stmt
    span: Span


@dataclass(frozen=True, slots=True)
class Assign:
    target: LValue
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CallStmt:
    call: Call
    span: Span


@dataclass(frozen=True, slots=True)
class Await:
    cond: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Assert:
    cond: Expr
    message: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class LockStmt:
    lock: str
    span: Span


@dataclass(frozen=True, slots=True)
class UnlockStmt:
    lock: str
    span: Span


@dataclass(frozen=True, slots=True)
class Choose:
    target: LValue
    domain: Domain
    where: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Return:
    value: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Skip:
    span: Span


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: Block
    else_: Block | None
    span: Span


@dataclass(frozen=True, slots=True)
class While:
    cond: Expr
    body: Block
    span: Span


@dataclass(frozen=True, slots=True)
class For:
    var: str
    domain: Domain
    body: Block
    span: Span


@dataclass(frozen=True, slots=True)
class Either:
    branches: tuple[Block, ...]
    span: Span


Stmt = Union[
    Block, Labelled, Assign, CallStmt, Await, Assert, LockStmt, UnlockStmt, Choose, Return,
    Skip, If, While, For, Either,
]


# ---- declarations


@dataclass(frozen=True, slots=True)
class Import:
    path: str
    span: Span


@dataclass(frozen=True, slots=True)
class ConstDecl:
    name: str
    type: TypeExpr | None
    value: Expr
    is_param: bool
    span: Span


@dataclass(frozen=True, slots=True)
class TypeDecl:
    name: str
    type: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class EnumMember:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class EnumDecl:
    name: str
    members: tuple[EnumMember, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FieldDecl:
    name: str
    type: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class VarDecl:
    name: str
    type: TypeExpr
    init: Expr
    ghost: bool
    span: Span


@dataclass(frozen=True, slots=True)
class LockDecl:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class ParamDecl:
    name: str
    type: TypeExpr
    span: Span


@dataclass(frozen=True, slots=True)
class FnDecl:
    name: str
    params: tuple[ParamDecl, ...]
    result: TypeExpr
    body: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ProcDecl:
    is_op: bool
    name: str
    params: tuple[ParamDecl, ...]
    result: TypeExpr | None
    requires: tuple[Expr, ...]
    body: Block
    span: Span


@dataclass(frozen=True, slots=True)
class InvariantDecl:
    name: str
    expr: Expr
    span: Span
    lemma: bool = False  # declared with `lemma`: a strengthening for induction


@dataclass(frozen=True, slots=True)
class ClientDecl:
    threads: int | None
    ops: tuple[str, ...] | None
    per_thread: tuple[tuple[int, tuple[str, ...]], ...]
    span: Span
    name_spans: tuple[tuple[str, Span], ...] = ()  # where each operation is named
    threads_span: Span | None = None


@dataclass(frozen=True, slots=True)
class ConfigSet:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ConfigDecl:
    name: str
    threads: int | None
    depth: int | None
    sets: tuple[ConfigSet, ...]
    span: Span
    threads_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Override:
    decl: ConstDecl | FnDecl | ProcDecl | VarDecl | ConfigDecl
    span: Span


@dataclass(frozen=True, slots=True)
class OverrideStep:
    proc: str
    label: str
    body: Block
    span: Span


@dataclass(frozen=True, slots=True)
class DropInvariant:
    name: str
    span: Span


Decl = Union[
    Import, ConstDecl, TypeDecl, EnumDecl, RecordDecl, VarDecl, LockDecl, FnDecl, ProcDecl,
    InvariantDecl, ClientDecl, ConfigDecl, Override, OverrideStep, DropInvariant,
]


@dataclass(frozen=True, slots=True)
class Module:
    path: str
    variant_of: str | None
    variant_span: Span | None
    decls: tuple[Decl, ...]
