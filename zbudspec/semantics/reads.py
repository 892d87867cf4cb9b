"""What an expression reads besides the global variables and its own locals.

A compiled expression is a function of the globals, the frame's locals, the running thread
(`self`), the lock holders and the threads' frames (`compile.py`). Most invariants and
`requires` clauses read only the globals; an engine that knows this may reuse a result for
every state with the same globals (D60). The analysis follows function calls (their bodies
read what the call passes them). Frames are read only through `at`, `local` and `idle`
(`compile.py`'s `_at`, `_local`, `_idle`): `at(t, P.L)` and `local(t, P.x)` see only the
innermost frame of P on thread t, `idle(t)` only whether t has frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import get_args

from zbudspec.semantics import ir

_NODES = (*get_args(ir.Expr), ir.DomRange, ir.DomType)
_FRAME_BUILTINS = frozenset({"at", "local", "idle"})
_LOCK_BUILTINS = frozenset({"held", "holder"})


@dataclass(frozen=True)
class Reads:
    locks: bool = False  # `held`, `holder`
    frames: bool = False  # `at`, `local`, `idle`: any thread's frames
    self_: bool = False  # `self`, `held` (whose lock)
    idle: bool = False  # `idle`: whether a thread has frames
    procs: frozenset[str] = frozenset()  # `at(t, P.L)`, `local(t, P.x)`: P's frames

    def __or__(self, other: Reads) -> Reads:
        return Reads(self.locks or other.locks, self.frames or other.frames,
                     self.self_ or other.self_, self.idle or other.idle,
                     self.procs | other.procs)


def expr_reads(e: ir.Expr, fns: Mapping[str, ir.Fn]) -> Reads:
    """Everything `e` may read besides globals and locals, through calls too."""
    return _Analysis(fns).expr(e)


class _Analysis:
    def __init__(self, fns: Mapping[str, ir.Fn]) -> None:
        self.fns = fns
        self.done: dict[str, Reads] = {}

    def fn(self, name: str) -> Reads:
        got = self.done.get(name)
        if got is None:
            self.done[name] = Reads()  # a recursive call adds nothing new
            got = self.done[name] = self.expr(self.fns[name].body)
        return got

    def expr(self, root: ir.Expr) -> Reads:
        out = Reads()
        todo: list[object] = [root]
        while todo:
            node = todo.pop()
            if isinstance(node, ir.SelfRef):
                out |= Reads(self_=True)
            elif isinstance(node, ir.Builtin):
                if node.name == "idle":
                    out |= Reads(frames=True, idle=True)
                elif node.name in _FRAME_BUILTINS:
                    out |= Reads(frames=True, procs=frozenset({node.names[0]}))
                elif node.name in _LOCK_BUILTINS:
                    out |= Reads(locks=True, self_=node.name == "held")
            elif isinstance(node, ir.FnCall):
                out |= self.fn(node.fn)
            todo.extend(_children(node))
        return out


def _children(node: object) -> Iterator[object]:
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        yield from _nodes(getattr(node, f.name))


def _nodes(v: object) -> Iterator[object]:
    if isinstance(v, _NODES):
        yield v
    elif isinstance(v, tuple):
        for x in v:
            yield from _nodes(x)
