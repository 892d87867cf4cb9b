"""`--concurrent T`: threads issue operations on an in-process implementation at once.

Each round starts T threads on a fresh barrier; each runs K random zswap operations
(store, load, invalidate of a few offsets; no environment pins: the swap layer's model
answers writeback). Invocations and responses are stamped from one counter. After the
round (a quiescent point) the history must be linearizable against the spec's sequential
semantics (`linearize.py`), and the implementation's `inspect`, mapped into a spec state
with the ghost variables of the witness's final state, must satisfy the spec's invariants.
The next round continues from that mapped state (without `inspect`: from the witness's).

Only results are checked for linearizability, not the final state: zbud is not atomic
(zbud_alloc drops the lock around alloc_page, so two concurrent stores may each take a new
page where any sequential order shares one; zswap_is_full reads pages_nr without the lock,
so a store may reclaim, and fail, on a stale count: D25). The parameters keep these
legitimate non-atomic behaviours from changing results: a page budget no run can exhaust
and a pool limit no run reaches (so no reclaim). Checking histories against the spec's
concurrent semantics (interleavings of steps) would lift that restriction.
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from zbudspec.conformance import abstract
from zbudspec.conformance.cases import PoolConfig
from zbudspec.conformance.differential import Call
from zbudspec.conformance.linearize import HistOp, Verdict, check
from zbudspec.conformance.protocol import Implementation, Json, error_of
from zbudspec.conformance.spec_model import SpecModel
from zbudspec.engines.state import State
from zbudspec.semantics.lower import zero
from zbudspec.semantics.types import (
    TList,
    TMap,
    TOption,
    TRecord,
    TSet,
    Type,
    Value,
    domain_values,
    show_value,
)

CONCURRENT_PARAMS: dict[str, int | bool] = {
    "PAGE_SHIFT": 7, "NCHUNKS_ORDER": 6, "NPAGES": 8, "NOFFSETS": 4, "NTAGS": 2,
    "MAX_REFS": 7, "POOL_LIMIT": 8,
}


@dataclass
class ConcurrentResult:
    status: str  # pass | fail | unknown | error
    rounds: int = 0
    ops: int = 0
    message: str = ""
    history: list[HistOp] = field(default_factory=list)


def from_json(t: Type, v: Json) -> Value:
    """The inverse of `trace_json.to_json` (missing map entries and fields are empty)."""
    if v is None:
        return None if isinstance(t, TOption) else zero(t)
    if isinstance(t, TOption):
        return from_json(t.inner, v)
    if isinstance(t, TRecord):
        return tuple(from_json(ft, v.get(n)) for n, ft in t.fields)
    if isinstance(t, TMap):
        return tuple(from_json(t.value, v.get(show_value(t.key, k)))
                     for k in domain_values(t.key))
    if isinstance(t, TList):
        return tuple(from_json(t.elem, x) for x in v)
    if isinstance(t, TSet):
        return frozenset(from_json(t.elem, x) for x in v)
    return v


def impl_state(model: SpecModel, impl: Mapping[str, Json], ghosts: State) -> State:
    """The implementation's state as a spec state: pages renamed canonically, ghost
    variables (and threads) from `ghosts`."""
    canon, _ = abstract.canonical(impl)
    values = []
    for g, gv in zip(model.program.globals, ghosts.globals, strict=True):
        values.append(gv if g.ghost or g.name not in canon else from_json(g.type, canon[g.name]))
    return State(tuple(values), ghosts.locks, ghosts.threads)


def _calls(rng: random.Random, params: Mapping[str, int | bool], k: int) -> list[Call]:
    page = 1 << int(params["PAGE_SHIFT"])
    out = []
    for _ in range(k):
        o = rng.randrange(int(params["NOFFSETS"]))
        r = rng.random()
        if r < 0.5:
            out.append(Call("zswap_frontswap_store", {"offset": o, "dlen": rng.randint(1, page),
                                                      "tag": rng.randrange(int(params["NTAGS"]))}))
        elif r < 0.8:
            out.append(Call("zswap_frontswap_load", {"offset": o}))
        else:
            out.append(Call("zswap_frontswap_invalidate_page", {"offset": o}))
    return out


def run_concurrent(factory: Callable[[], Implementation], threads: int, seed: int,
                   rounds: int = 20, per_thread: int = 3,
                   params: Mapping[str, int | bool] | None = None) -> ConcurrentResult:
    params = dict(params or CONCURRENT_PARAMS)
    rng = random.Random(seed)
    impl = factory()
    try:
        features = set(impl.hello().get("features", ()))
        if "zswap" not in features:
            return ConcurrentResult("error", message="the implementation has no level zswap")
        config = PoolConfig("zswap", int(params["PAGE_SHIFT"]), int(params["NCHUNKS_ORDER"]),
                            int(params["NPAGES"]), int(params["NOFFSETS"]),
                            int(params["NTAGS"]), int(params["MAX_REFS"]),
                            int(params["POOL_LIMIT"]), "refuse").to_json()
        impl.create("zswap", {**config, "concurrent": True})
        model = SpecModel("zswap", "zswap.zspec", params)
        state = model.initial()
        total = 0
        for rnd in range(1, rounds + 1):
            plans = [_calls(rng, params, per_thread) for _ in range(threads)]
            history, err = _round(impl, plans)
            total += len(history)
            if err:
                return ConcurrentResult("error", rnd, total, err, history)
            verdict: Verdict = check(model, state, history)
            if verdict.status != "linearizable":
                return ConcurrentResult("fail" if verdict.status == "not linearizable"
                                        else "unknown", rnd, total,
                                        f"round {rnd}: the history is {verdict.status} "
                                        f"({verdict.nodes} search nodes)", history)
            assert verdict.final is not None
            state = verdict.final
            if "inspect" in features:
                # the next round starts from the implementation's own state: the witness
                # may have taken other writeback outcomes with the same results
                state = impl_state(model, impl.inspect(), state)
                bad = model.interp.check_invariants(state)
                if bad is not None:
                    return ConcurrentResult("fail", rnd, total, f"round {rnd}: at the "
                                            f"quiescent point: {bad.message}", history)
        return ConcurrentResult("pass", rounds, total)
    finally:
        impl.close()


def _round(impl: Implementation, plans: list[list[Call]]) -> tuple[list[HistOp], str]:
    clock = itertools.count()
    lock = threading.Lock()
    history: list[HistOp] = []
    errors: list[str] = []
    barrier = threading.Barrier(len(plans))

    def worker(t: int, calls: list[Call]) -> None:
        barrier.wait()
        for c in calls:
            with lock:
                inv = next(clock)
            try:
                res: Json = impl.op(t, c.op, c.args, None)
            except Exception as exc:  # an error reply ends the run with an error
                e = error_of(exc)
                with lock:
                    errors.append(f"thread {t}: {c.render()}: {e.code}: {e.message}")
                return
            with lock:
                history.append(HistOp(t, c.op, dict(c.args), res, inv, next(clock)))

    workers = [threading.Thread(target=worker, args=(t, calls), daemon=True)
               for t, calls in enumerate(plans)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: operations overlap (D25)
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                return history, "a thread did not finish within 60 s (deadlock?)"
    finally:
        sys.setswitchinterval(old)
    history.sort(key=lambda h: h.invoke)
    return history, "; ".join(errors)
