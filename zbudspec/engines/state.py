"""The global state of a running spec and the record of one transition.

States are plain nested tuples so that they hash fast in the explicit engine:
`State(globals, locks, threads)`, a thread being a tuple of `Frame`s (empty when idle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from zbudspec.semantics.types import Value
from zbudspec.syntax.ast import Span


class Frame(NamedTuple):
    proc: str
    label: str
    locals: tuple[Value, ...]  # parameters then locals, in declaration order
    call_site: int  # index of the CallStep this frame waits on (-1: none)


class State(NamedTuple):
    globals: tuple[Value, ...]
    locks: tuple[int | None, ...]
    threads: tuple[tuple[Frame, ...], ...]


@dataclass(frozen=True, slots=True)
class Pick:
    """One nondeterministic decision taken during a step."""

    what: str  # "arg offset", "choose outcome", "either"
    value: str  # as the spec writes it
    index: int  # position among the options, for replay


@dataclass(frozen=True, slots=True)
class Transition:
    thread: int
    op: str  # the operation the thread is running
    proc: str  # the procedure whose step ran
    label: str
    picks: tuple[Pick, ...]
    started: bool  # the step began the operation
    result: Value  # the operation's result when the step ended it
    finished: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str  # assertion invariant lock range list unwrap deadlock arith scope
    message: str
    span: Span
    name: str | None = None  # the invariant's name


@dataclass(frozen=True, slots=True)
class Outcome:
    """A step that ran: the next state, or the violation it hit."""

    transition: Transition
    state: State | None
    violation: Violation | None
