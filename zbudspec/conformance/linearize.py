"""Linearizability of a recorded history against the spec's sequential semantics (WGL).

A history is a list of completed operations, each with its thread, arguments, result and
the logical times of its invocation and response. Wing & Gong's search, with Lowe's
memoisation of (spec state, set of linearized operations): repeatedly pick an operation no
pending operation precedes in real time, run it atomically in the spec under every
environment choice, and keep the branches whose result equals the recorded one. The search
is bounded (`budget` nodes): past it the answer is `unknown`, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zbudspec.conformance.protocol import Json
from zbudspec.conformance.spec_model import SpecModel
from zbudspec.engines.state import State


@dataclass(frozen=True, slots=True)
class HistOp:
    thread: int
    op: str
    args: Mapping[str, Json]
    result: Json
    invoke: int
    response: int

    def render(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args.items())
        return (f"[{self.invoke:>3}..{self.response:>3}] thread {self.thread}: "
                f"{self.op}({args}) -> {self.result}")


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # linearizable | not linearizable | unknown
    order: tuple[int, ...] = ()  # a witness: indices into the history
    final: State | None = None
    nodes: int = 0


def check(model: SpecModel, start: State, history: Sequence[HistOp],
          budget: int = 200_000) -> Verdict:
    n = len(history)
    before = [frozenset(j for j in range(n) if history[j].response < history[i].invoke)
              for i in range(n)]
    cache: dict[tuple[State, int], list[tuple[Json, State]]] = {}
    failed: set[tuple[State, frozenset[int]]] = set()
    nodes = 0

    def outcomes(state: State, i: int) -> list[tuple[Json, State]]:
        key = (state, i)
        got = cache.get(key)
        if got is None:
            h = history[i]
            got = cache[key] = model.outcomes(state, h.op, h.args)
        return got

    class _Budget(Exception):
        pass

    def search(state: State, done: frozenset[int], order: list[int]) -> State | None:
        nonlocal nodes
        if len(done) == n:
            return state
        if (state, done) in failed:
            return None
        nodes += 1
        if nodes > budget:
            raise _Budget
        # candidates: pending ops whose real-time predecessors are all linearized
        for i in sorted(set(range(n)) - done, key=lambda k: history[k].invoke):
            if not before[i] <= done:
                continue
            h = history[i]
            seen: set[State] = set()
            for result, nxt in outcomes(state, i):
                if result != h.result or nxt in seen:
                    continue
                seen.add(nxt)
                order.append(i)
                final = search(nxt, done | {i}, order)
                if final is not None:
                    return final
                order.pop()
        failed.add((state, done))
        return None

    order: list[int] = []
    try:
        final = search(start, frozenset(), order)
    except _Budget:
        return Verdict("unknown", nodes=nodes)
    if final is None:
        return Verdict("not linearizable", nodes=nodes)
    return Verdict("linearizable", tuple(order), final, nodes)
