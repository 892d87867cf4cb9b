"""The global symbol table of a loaded spec: what each top-level name is."""

from __future__ import annotations

from dataclasses import dataclass, field

from zbudspec.semantics import ir
from zbudspec.semantics.types import Type, Value
from zbudspec.syntax import ast as A


@dataclass
class Const:
    decl: A.ConstDecl
    value: Value = None
    type: Type | None = None
    state: str = "new"  # new, busy, done, failed


@dataclass
class TypeAlias:
    decl: A.TypeDecl | A.EnumDecl | A.RecordDecl | None
    type: Type | None = None
    state: str = "new"


@dataclass
class Var:
    decl: A.VarDecl
    index: int
    type: Type | None = None


@dataclass
class Symbols:
    consts: dict[str, Const] = field(default_factory=dict)
    types: dict[str, TypeAlias] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # enum member -> enum name
    vars: dict[str, Var] = field(default_factory=dict)
    locks: dict[str, int] = field(default_factory=dict)
    fns: dict[str, A.FnDecl] = field(default_factory=dict)
    procs: dict[str, A.ProcDecl] = field(default_factory=dict)
    invariants: list[A.InvariantDecl] = field(default_factory=list)
    clients: list[A.ClientDecl] = field(default_factory=list)
    configs: dict[str, A.ConfigDecl] = field(default_factory=dict)
    lowered_fns: dict[str, ir.Fn] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def all_names(self) -> list[str]:
        return [*self.consts, *self.types, *self.members, *self.vars, *self.locks, *self.fns,
                *self.procs]
