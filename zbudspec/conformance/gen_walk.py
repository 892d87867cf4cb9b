"""Coverage-guided random walks and a breadth-first search for the targets they miss.

A walk runs random operations with random arguments (sizes biased to the geometry's
boundaries) and random environment picks; it is kept, cut at the last quiescent point after
the last operation that reached a new target, only if it reached one. Concurrent walks
interleave threads at random and end by running every thread to its end. What the walks
leave, `bfs_for` looks for breadth-first over schedules (shortest first) on a small model.
Everything is driven by one seeded `random.Random`: same spec, same cases.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from zbudspec.conformance.gen_cover import Covered
from zbudspec.conformance.gen_model import Model, ModelError, Rec, Script
from zbudspec.engines.state import State
from zbudspec.semantics.types import Type, Value, domain_values


@dataclass(frozen=True, slots=True)
class Found:
    steps: tuple[Rec, ...]
    new: tuple[str, ...]  # targets this run reached first


def boundary_sizes(model: Model) -> list[int]:
    page, chunk, limit = (model.const(n) for n in ("PAGE_SIZE", "CHUNK_SIZE", "MAX_ALLOC"))
    sizes = {1, chunk, chunk + 1, 2 * chunk, limit - chunk, limit - chunk + 1, limit,
             limit + 1, page}
    return sorted(x for x in sizes if 1 <= x <= page)


class Walker:
    def __init__(self, model: Model, rng: random.Random, fail_rate: float = 0.25) -> None:
        self.m = model
        self.rng = rng
        self.fail_rate = fail_rate
        self.sizes = boundary_sizes(model)
        self.ops = sorted(model.program.ops_for(0))

    def arg(self, name: str, t: Type) -> Value:
        if name in ("dlen", "size") and self.rng.random() < 0.5:
            return self.rng.choice(self.sizes)
        return self.rng.choice(domain_values(t))

    def args(self, op: str) -> tuple[Value, ...]:
        return tuple(self.arg(n, t) for n, t in self.m.program.procs[op].params)

    def pick(self, outs: list[Covered]) -> Covered:
        if len(outs) == 1 or self.rng.random() > self.fail_rate:
            return outs[0]
        return outs[self.rng.randrange(len(outs))]

    def start(self, s: Script, t: int) -> Rec | None:
        ops = list(self.ops)
        self.rng.shuffle(ops)
        for op in ops:
            args = self.args(op)
            if s.enabled(t, op, args):
                return s.step(t, op, args, pick=self.pick)
        return None

    def sequential(self, length: int) -> Script:
        s = Script(self.m)
        for _ in range(length):
            rec = self.start(s, 0)
            while rec is not None and not rec.finished:
                rec = s.step(0, pick=self.pick)
        return s

    def concurrent(self, length: int) -> Script | None:
        """`length` random steps on random threads, then every thread to its end; None if
        the run hit a violation or could not finish."""
        s = Script(self.m)
        n = self.m.program.client.threads
        for _ in range(length):
            t = self.rng.randrange(n)
            if not s.busy(t):
                rec = self.start(s, t)
            elif s.enabled(t):
                rec = s.step(t, pick=self.pick)
            else:
                continue
            if rec is not None and rec.violation is not None:
                return None
        for _ in range(200):
            busy = [t for t in range(n) if s.busy(t) and s.enabled(t)]
            if not busy:
                break
            rec = s.step(busy[0], pick=self.pick)
            if rec.violation is not None:
                return None
        return None if any(s.busy(t) for t in range(n)) else s


def keep(s: Script, covered: set[str]) -> Found | None:
    """The run cut after the last quiescent point that follows its last new target."""
    seen = set(covered)
    cut = 0
    new: list[str] = []
    pending = False
    n = len(s.state.threads)
    busy = [False] * n
    for i, r in enumerate(s.steps):
        fresh = [h for h in r.hits if h not in seen]
        if fresh:
            seen.update(fresh)
            new.extend(fresh)
            pending = True
        busy[r.thread] = not r.finished
        if pending and not any(busy):
            cut = i + 1
            pending = False
    if not new or pending:
        return None
    return Found(tuple(s.steps[:cut]), tuple(new))


def walks(model: Model, seed: int, count: int, length: int, concurrent: bool,
          covered: set[str]) -> Iterator[Found]:
    rng = random.Random(seed)
    w = Walker(model, rng)
    for _ in range(count):
        s = w.concurrent(length) if concurrent else w.sequential(length)
        if s is None:
            continue
        got = keep(s, covered)
        if got is not None:
            covered.update(got.new)
            yield got


def bfs_for(model: Model, missing: set[str], max_states: int,
            on_state: Callable[[int], None] | None = None) -> Iterator[Found]:
    """Shortest schedules (then run to quiescence) that reach targets in `missing`."""
    interp = model.interp
    init = interp.initial()
    parent: dict[State, tuple[State, Covered] | None] = {init: None}
    frontier = [init]
    want = set(missing)
    n = model.program.client.threads
    while frontier and want and len(parent) < max_states:
        nxt: list[State] = []
        for st in frontier:
            for t in range(n):
                for c in _thread_outcomes(model, st, t):
                    hit = [h for h in c.hits if h in want]
                    if hit and c.outcome.violation is None:
                        found = _complete(model, parent, st, c, want)
                        if found is not None:
                            want.difference_update(found.new)
                            yield found
                    new = c.outcome.state
                    if new is None or c.outcome.violation is not None or new in parent:
                        continue
                    parent[new] = (st, c)
                    nxt.append(new)
        frontier = nxt
        if on_state is not None:
            on_state(len(parent))


def _thread_outcomes(model: Model, st: State, t: int) -> list[Covered]:
    interp = model.interp
    if st.threads[t]:
        return interp.covered_outcomes(st, t, None, ())
    out: list[Covered] = []
    for op in model.program.ops_for(t):
        for args in interp.arg_domains[op]:
            out.extend(interp.covered_outcomes(st, t, op, args))
    return out


def _complete(model: Model, parent: dict[State, tuple[State, Covered] | None], st: State,
              last: Covered, want: set[str]) -> Found | None:
    path: list[Covered] = [last]
    cur = st
    while (link := parent[cur]) is not None:
        cur, c = link
        path.append(c)
    path.reverse()
    s = Script(model)
    try:
        for c in path:
            tr = c.outcome.transition
            picks = [p.index for p in tr.picks if not p.what.startswith("arg ")]
            args = tuple(_arg_values(model, tr)) if tr.started else ()
            s.step(tr.thread, tr.op if tr.started else None, args,
                   pick=_by_picks(picks))
        for _ in range(200):
            busy = [t for t in range(len(s.state.threads)) if s.busy(t) and s.enabled(t)]
            if not busy:
                break
            if s.step(busy[0]).violation is not None:
                return None
    except ModelError:
        return None
    if any(s.busy(t) for t in range(len(s.state.threads))) or s.violated is not None:
        return None
    new = sorted({h for r in s.steps for h in r.hits} & want)
    return Found(tuple(s.steps), tuple(new)) if new else None


def _arg_values(model: Model, tr: object) -> Iterator[Value]:
    from zbudspec.engines.state import Transition
    assert isinstance(tr, Transition)
    proc = model.program.procs[tr.op]
    given = {p.what[4:]: p.value for p in tr.picks if p.what.startswith("arg ")}
    from zbudspec.semantics.types import show_value
    for name, t in proc.params:
        yield next(v for v in domain_values(t) if show_value(t, v) == given[name])


def _by_picks(picks: list[int]) -> Callable[[list[Covered]], Covered]:
    def choose(outs: list[Covered]) -> Covered:
        for c in outs:
            got = [p.index for p in c.outcome.transition.picks if not p.what.startswith("arg ")]
            if got == picks:
                return c
        raise ModelError(f"no outcome with picks {picks}")
    return choose
