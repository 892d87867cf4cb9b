"""Concurrent scenarios: the variants' counterexamples and v3's races, as schedules.

- The `no-mapcount` variant's shortest counterexample (found by the explicit engine, so it
  follows the spec) is replayed step for step on the v3 spec with the swap-cache pin off
  (the variant's own setting): with map counts the invalidate's free is deferred and
  writeback's unmap does it and answers EFAULT. Its own violating run (the variant's spec,
  an invariant, not a BUG) is kept as a finding.
- The bundled spec's depth-13 violation (docs/decisions.md D7: a load in writeback's W3..W4
  window hits -EFAULT from its unmap, a BUG in v3's load) is rebuilt as a schedule; it ends
  in a failed assertion, so it is a case whose load carries `expect_bug` (D54).
- Migration refused while a load has the page mapped, and for a page emptied while
  isolated; reclaim's "LRU empty" success; writeback's final free finding the offset gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zbudspec.conformance.gen_cover import Covered
from zbudspec.conformance.gen_model import Model, ModelError, Rec, Script
from zbudspec.conformance.gen_scenarios import (
    INVALIDATE,
    LOAD,
    MIGRATE,
    STORE,
    expect,
    swapcache,
)
from zbudspec.engines.explicit import Verdict, search
from zbudspec.semantics.types import Value, domain_values, show_value


@dataclass(frozen=True, slots=True)
class Race:
    name: str
    purpose: str
    build: Callable[[Script], None]
    params: tuple[tuple[str, str], ...] = ()
    finding: bool = False  # the run ends in a BUG of the spec: an `expect_bug` case


RACES: list[Race] = []


def race(name: str, purpose: str, params: tuple[tuple[str, str], ...] = (),
         finding: bool = False) -> Callable[[Callable[[Script], None]], Callable[[Script], None]]:
    def reg(fn: Callable[[Script], None]) -> Callable[[Script], None]:
        RACES.append(Race(name, purpose, fn, params, finding))
        return fn
    return reg


def finish_all(s: Script) -> None:
    for t in range(len(s.state.threads)):
        s.finish(t)


@race("migrate-while-mapped", "compaction finds a page a load has mapped: the map's "
      "reference makes page_count too high, migration is refused (EAGAIN)")
def _migrate_mapped(s: Script) -> None:
    s.call(STORE, 0, 1, 1)
    s.step(0, LOAD, (0,))
    s.run_to(0, "zswap_frontswap_load.L2")
    expect(s.call(MIGRATE, 0, t=1), "EAGAIN", "migrate")
    expect(s.finish(0), 1, "load")


@race("migrate-emptied-while-isolated", "the page's only buddy is invalidated after "
      "isolation: EAGAIN (D12), putback releases the frame")
def _migrate_emptied(s: Script) -> None:
    s.call(STORE, 0, 1, 1)
    s.step(1, MIGRATE, (0,))
    s.run_to(1, "zbud_migrate_page.M2")
    expect(s.call(INVALIDATE, 0), "OK", "invalidate")
    expect(s.finish(1), "EAGAIN", "migrate")


@race("reclaim-lru-empty", "reclaim evicts the only page while compaction holds an isolation "
      "reference: the frame is not released, but the LRU is empty, so reclaim returns 0",
      params=(("POOL_LIMIT", "0"), ("NPAGES", "3")))
def _reclaim_lru_empty(s: Script) -> None:
    s.call(STORE, 0, 1, 1)
    s.step(1, MIGRATE, (0,))
    s.run_to(1, "zbud_migrate_page.M2")
    expect(s.call(STORE, 1, 1, 0), "OK", "store with reclaim")
    expect(s.finish(1), "EAGAIN", "migrate of the emptied page")


@race("writeback-free-finds-offset-gone", "after writeback issued its write (W3) an "
      "invalidate frees the offset; writeback's own free (W4) answers ENOENT, so the evict "
      "fails and reclaim tries again", params=(("POOL_LIMIT", "0"),))
def _w4_enoent(s: Script) -> None:
    s.call(STORE, 0, 1, 1)
    s.step(0, STORE, (1, 1, 0))
    s.run_to(0, "zbud_evict.W4")
    expect(s.call(INVALIDATE, 0, t=1), "OK", "invalidate in the window")
    expect(s.finish(0), "OK", "store")


@race("two-reclaimers-one-page", "two stores reclaim the same single page; the first to "
      "evict writes it back, the other's writeback finds the offset gone (map: ENOENT) and "
      "returns 0; the first reclaim sees the LRU empty", params=(("POOL_LIMIT", "0"),
                                                                 ("NPAGES", "3"),
                                                                 ("NOFFSETS", "3")))
def _two_reclaimers(s: Script) -> None:
    s.call(STORE, 0, 1, 1)
    s.step(0, STORE, (1, 1, 0))
    s.run_to(0, "zbud_evict.W1")
    expect(s.call(STORE, 2, 1, 0, t=1), "OK", "second store, reclaim wins")
    expect(s.finish(0), "OK", "first store")


@race("load-in-writeback-window", "v3's finding (D7, tests/traces): a load maps the offset "
      "between writeback's write and its free; the free is deferred and the load's unmap "
      "does it and returns EFAULT, which v3's load treats as BUG", finding=True)
def _load_bug(s: Script) -> None:
    s.call(STORE, 0, 1, 0)
    s.step(0, STORE, (1, 1, 0))
    s.run_to(0, "zbud_evict.W4")
    s.step(1, LOAD, (0,))
    s.step(0)
    s.step(1)


def no_mapcount_counterexample(variant: Path) -> list[tuple[int, str | None, tuple[str, ...],
                                                             tuple[int, ...]]]:
    """The variant's shortest counterexample as (thread, op or None, spelled args, picks)."""
    model = Model(variant)
    res = search(model.program, model.program.depth or 10)
    if res.verdict is not Verdict.VIOLATED:
        raise ModelError(f"{variant}: no counterexample within depth {model.program.depth}")
    out = []
    for ts in res.trace:
        tr = ts.transition
        args = tuple(p.value for p in tr.picks if p.what.startswith("arg "))
        picks = tuple(p.index for p in tr.picks if not p.what.startswith("arg "))
        out.append((tr.thread, tr.op if tr.started else None, args, picks))
    return out


def replay_schedule(s: Script, schedule: list[tuple[int, str | None, tuple[str, ...],
                                                    tuple[int, ...]]]) -> list[Rec]:
    """Run a schedule of another spec on this one, pick for pick; then finish every thread."""
    for t, op, spelled, picks in schedule:
        args: tuple[Value, ...] = ()
        if op is not None:
            proc = s.model.program.procs[op]
            args = tuple(next(v for v in domain_values(ty) if show_value(ty, v) == a)
                         for (_, ty), a in zip(proc.params, spelled, strict=True))
        s.step(t, op, args, pick=_by_picks(picks))
    finish_all(s)
    return s.steps


def _by_picks(picks: tuple[int, ...]) -> Callable[[list[Covered]], Covered]:
    def choose(outs: list[Covered]) -> Covered:
        for c in outs:
            got = tuple(p.index for p in c.outcome.transition.picks
                        if not p.what.startswith("arg "))
            if got == picks:
                return c
        raise ModelError(f"no outcome takes the picks {picks}")
    return choose


__all__ = ["RACES", "Race", "no_mapcount_counterexample", "replay_schedule", "swapcache"]
