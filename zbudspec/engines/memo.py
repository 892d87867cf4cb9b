"""The interpreter's successors and invariants, memoised for the explicit engine (D60).

A thread's next step reads only the globals, the lock holders and its own frames (a step's
expressions cannot read other threads' frames: `compile.py` raises a scope error, whatever
the frames are), and an idle thread's start of an operation reads, besides, the other
threads' frames only where the operation's `requires` does (`reads.py`). So
`Interpreter.thread_successors` is a function of a small key, and two states that differ
only in another thread's frames share it; breadth-first search meets each key many times.
Likewise an invariant that reads only the globals (and locks) has one value per globals
(and locks) tuple. This module runs the interpreter once per key and rebuilds every
`Outcome` from the stored parts, in the interpreter's order: same transitions, states,
violations. Equal globals, locks and frames tuples are interned, so states share them, and
the keys hold their ids, which hash in constant time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import Frame, Outcome, State, Transition, Violation
from zbudspec.semantics.evaluate import FrameView
from zbudspec.semantics.reads import expr_reads

# one outcome of a thread's step: what it changes, or the violation it hit
_Part = tuple[Transition, tuple[object, ...] | None, tuple[int | None, ...] | None,
              tuple[Frame, ...] | None, Violation | None]

# Stored step keys before the step memo is emptied (bounds memory on long runs; emptying
# changes nothing but speed).
DEFAULT_LIMIT = 200_000
# After this many misses, a step memo that has had fewer hits than misses stops storing:
# where every state has globals of its own (BM-1) it would only cost memory.
TRIAL = 20_000


class Interner:
    """One canonical object per value, and its id: equal values share one object, and a
    canonical object's id (it is kept alive here) is a key that hashes in constant time."""

    def __init__(self) -> None:
        self.pool: dict[Any, Any] = {}
        self.by_id: dict[int, Any] = {}

    def __call__(self, v: Any) -> Any:
        if self.by_id.get(id(v)) is v:
            return v
        c = self.pool.setdefault(v, v)
        self.by_id[id(c)] = c
        return c


class Memo:
    """`successors(state)` and `check_invariants(state)` as the interpreter gives them
    (`successors` with `invariants=False`), each computed once per key."""

    def __init__(self, interp: Interpreter, limit: int = DEFAULT_LIMIT) -> None:
        p = interp.p
        self.i = interp
        self.limit = limit
        self.n_threads = interp.n_threads
        self.ops = [p.ops_for(t) for t in range(self.n_threads)]
        self.requires_frames = {
            op: any(expr_reads(r, p.fns).frames for r in p.procs[op].requires)
            for ops in self.ops for op in ops}
        self.inv_locks: list[bool] = []
        # per invariant reading frames: the procedures it looks into, and whether `idle`
        self.inv_view: list[tuple[tuple[str, ...], bool] | None] = []
        for inv in p.invariants:
            r = expr_reads(inv.expr, p.fns)
            self.inv_locks.append(r.locks)
            self.inv_view.append((tuple(sorted(r.procs)), r.idle) if r.frames else None)
        self.inv_memo: list[dict[Hashable, Violation | None]] = [{} for _ in p.invariants]
        # per invariant: frames id -> id of the (canonical) view the invariant has of them
        self.views: list[dict[int, int]] = [{} for _ in p.invariants]
        self.view_pool = Interner()
        self.steps: dict[Hashable, tuple[_Part, ...]] = {}
        # one pool per kind of part: a globals tuple may equal a frames tuple
        self.globals = Interner()
        self.locks = Interner()
        self.frames = Interner()
        self.storing = True
        self.hits = 0
        self.misses = 0

    # ---- invariants
    def check_invariants(self, state: State) -> Violation | None:
        frames: Callable[[int], list[FrameView]] | None = None
        gid = id(self.globals(state.globals))
        lid = id(self.locks(state.locks))
        fids: tuple[int, ...] | None = None
        for k, memo in enumerate(self.inv_memo):
            key: Hashable = (gid, lid) if self.inv_locks[k] else gid
            if self.inv_view[k] is not None:
                if fids is None:
                    fids = tuple(id(self.frames(f)) for f in state.threads)
                key = (key, self._view(k, state.threads, fids))
            if key in memo:
                bad = memo[key]
            else:
                if frames is None:
                    frames = self.i.frames_of(state)
                bad = memo[key] = self.i.check_invariant(k, state, frames)
            if bad is not None:
                return bad
        return None

    def _view(self, k: int, threads: tuple[tuple[Frame, ...], ...],
              fids: tuple[int, ...]) -> tuple[int, ...]:
        """What invariant k can see of the threads' frames: per thread, the innermost
        frame of each procedure it names (label and locals; none when absent), and
        whether the thread is idle when it asks; as ids of canonical views."""
        views = self.views[k]
        out = []
        for frames, fid in zip(threads, fids, strict=True):
            v = views.get(fid)
            if v is None:
                view = self.inv_view[k]
                assert view is not None
                procs, idle = view
                v = views[fid] = id(self.view_pool(
                    (k, *(_innermost(frames, p) for p in procs), not frames if idle else None)))
            out.append(v)
        return tuple(out)

    # ---- successors
    def successors(self, state: State) -> list[Outcome]:
        out: list[Outcome] = []
        g, locks, threads = state
        gid = id(self.globals(g))
        lid = id(self.locks(locks))
        fids: tuple[int, ...] | None = None
        for t in range(self.n_threads):
            mine = threads[t]
            if mine:
                self._add(out, state, t, (t, gid, lid, id(self.frames(mine))), None)
                continue
            for op in self.ops[t]:
                if self.requires_frames[op]:
                    if fids is None:
                        fids = tuple(id(self.frames(f)) for f in threads)
                    key: Hashable = (t, op, gid, lid, fids)
                else:
                    key = (t, op, gid, lid)
                self._add(out, state, t, key, op)
        return out

    def _add(self, out: list[Outcome], state: State, t: int, key: Hashable,
             op: str | None) -> None:
        parts = self.steps.get(key)
        if parts is None:
            self.misses += 1
            outs = self.i.thread_successors(state, t, invariants=False) if op is None else \
                self.i.start_successors(state, t, op, invariants=False)
            parts = self._parts(outs, t)
            if self.storing:
                if len(self.steps) >= self.limit:
                    self.steps.clear()
                self.steps[key] = parts
                if self.misses % TRIAL == 0 and self.hits < self.misses:
                    self.storing = False
                    self.steps.clear()
        else:
            self.hits += 1
        threads = state.threads
        for tr, g, locks, frames, bad in parts:
            if bad is not None:
                out.append(Outcome(tr, None, bad))
            else:
                assert g is not None and locks is not None and frames is not None
                new = State(g, locks, (*threads[:t], frames, *threads[t + 1:]))
                out.append(Outcome(tr, new, None))

    def _parts(self, outs: Iterable[Outcome], t: int) -> tuple[_Part, ...]:
        parts: list[_Part] = []
        for o in outs:
            if o.state is None:
                parts.append((o.transition, None, None, None, o.violation))
            else:
                s = o.state
                parts.append((o.transition, self.globals(s.globals), self.locks(s.locks),
                              self.frames(s.threads[t]), o.violation))
        return tuple(parts)


def _innermost(frames: tuple[Frame, ...], proc: str) -> tuple[str, tuple[object, ...]] | None:
    for f in reversed(frames):
        if f.proc == proc:
            return f.label, f.locals
    return None
