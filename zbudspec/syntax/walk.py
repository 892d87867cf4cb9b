"""Walking statement trees of the AST (shared by the loader and the checker)."""

from __future__ import annotations

from collections.abc import Iterator

from zbudspec.syntax import ast as A


def statements(block: A.Block) -> Iterator[A.Stmt]:
    """Every statement inside a block, at any depth, in source order (a labelled statement
    and the statement it labels are both yielded)."""
    for s in block.stmts:
        yield from _walk(s)


def _walk(s: A.Stmt) -> Iterator[A.Stmt]:
    yield s
    if isinstance(s, A.Labelled):
        yield from _walk(s.stmt)
    elif isinstance(s, A.Block):
        yield from statements(s)
    elif isinstance(s, A.If):
        yield from statements(s.then)
        if s.else_:
            yield from statements(s.else_)
    elif isinstance(s, A.While | A.For):
        yield from statements(s.body)
    elif isinstance(s, A.Either):
        for b in s.branches:
            yield from statements(b)


def blocks(block: A.Block) -> Iterator[A.Block]:
    """The block and every block nested in it."""
    yield block
    for s in statements(block):
        if isinstance(s, A.Block):
            yield s
        elif isinstance(s, A.If):
            yield s.then
            if s.else_:
                yield s.else_
        elif isinstance(s, A.While | A.For):
            yield s.body
        elif isinstance(s, A.Either):
            yield from s.branches
