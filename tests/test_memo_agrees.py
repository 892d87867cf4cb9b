"""The explicit engine's memoised successors and invariants (engines/memo.py, D60) agree
with the interpreter exactly: on every state breadth-first search reaches to a small depth,
on random walks (hypothesis), and in whole searches (verdict, counts, coverage, trace)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import ROOT, SpecFactory, bfs_layers, bundled
from hypothesis import given, settings
from hypothesis import strategies as st

from zbudspec.engines.explicit import search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.memo import Memo
from zbudspec.engines.state import State
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options
from zbudspec.semantics.reads import Reads, expr_reads

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.zspec"))
VARIANTS = ROOT / "spec" / "variants"
BM1 = ROOT / "benchmarks" / "bm1.zspec"

# Steps that read `self` and locks, a requires that reads other threads' frames, calls
# (an outer frame under an inner one), choose and either; invariants reading locks, the
# innermost frame of a procedure; and (FEATURES_BAD) invariants that fail for some locks or
# idle threads only, and one that cannot be evaluated.
FEATURES = """
lock m;
var x: 0..3 = 0;
var owner: option Thread = none;
proc inner(a: 0..3) -> 0..3 {
  local r: 0..3 = 0;
I1:
  r = a;
I2:
  spin_lock(m);
  x = r;
  spin_unlock(m);
  return r;
}
op outer(v: 0..3) requires (forall t in Thread: t == self || idle(t) || !at(t, outer.O2)) {
  local got: 0..3 = 0;
O1:
  spin_lock(m);
  owner = self;
  if (held(m)) { spin_unlock(m); }
  got = inner(v);
O2:
  choose got in 0..3 where got >= x;
  either { x = got; } or { skip; }
  return;
}
op hold() {
H1:
  spin_lock(m);
H2:
  spin_unlock(m);
  return;
}
op reset() requires (forall t in Thread: t == self || idle(t)) {
R1:
  x = 0;
  return;
}
client { threads 3; ops outer, reset, hold; }
invariant held_only_at_h2:
  holder(m) == none || at(unwrap(holder(m)), hold.H2);
invariant inner_r_fits: forall t in Thread: at(t, inner.I2) ==> local(t, inner.r) <= 3;
invariant outer_resumes_at_o2:
  forall t in Thread: at(t, inner.I2) ==> at(t, outer.O2) && local(t, outer.v) <= 3;
"""
FEATURES_BAD = FEATURES + """
invariant not_held_at_x3: holder(m) == none || x != 3;
invariant two_idle_unless_x0: (count t in Thread: idle(t)) >= 2 || x != 0;
invariant no_inner_after_o2:
  forall t in Thread: !at(t, outer.O2) || local(t, inner.r) >= 0;
"""


def _program(path: Path, threads: int | None = None,
             defines: tuple[tuple[str, str], ...] = (), config: str | None = None
             ) -> ir.Program:
    program = frontend(path, Options(defines, config, threads)).program
    assert program is not None
    return program


def _reachable(interp: Interpreter, depth: int, limit: int) -> list[State]:
    """States breadth-first search reaches within `depth` steps, in BFS order (the
    interpreter alone), at most `limit`."""
    return [st for layer in bfs_layers(interp, depth, limit) for st in layer][:limit]


def _assert_agree(interp: Interpreter, memo: Memo, s: State) -> None:
    assert memo.successors(s) == interp.successors(s, invariants=False)
    assert memo.check_invariants(s) == interp.check_invariants(s)


def _cases(tmp: Path) -> list[tuple[str, ir.Program, int]]:
    feats = tmp / "features.zspec"
    feats.write_text(FEATURES)
    bad = tmp / "features-bad.zspec"
    bad.write_text(FEATURES_BAD)
    return [
        *((p.stem, _program(p), 8) for p in CORPUS),
        ("features", _program(feats), 8),
        ("features-bad", _program(bad), 8),
        ("zswap", bundled(), 5),
        ("zswap T=3", bundled(threads=3), 3),
        ("no-mapcount", bundled(path=VARIANTS / "no-mapcount.zspec"), 5),
        ("accept-duplicates", bundled(threads=1, defines=(("POOL_LIMIT", "1"),),
                                      path=VARIANTS / "accept-duplicates.zspec"), 8),
        ("bm1 c1 MAXC=2", _program(BM1, defines=(("MAXC", "2"),), config="c1"), 4),
    ]


def test_every_reached_state_has_the_interpreters_successors_and_invariants(
        tmp_path: Path) -> None:
    for name, program, depth in _cases(tmp_path):
        interp = Interpreter(program)
        memo = Memo(interp)
        states = _reachable(interp, depth, 1500)
        for s in states:
            _assert_agree(interp, memo, s)
        if name.startswith("zswap"):
            assert memo.hits > memo.misses, name  # the memo was used, not bypassed


def test_a_small_step_memo_gives_the_same_answers(tmp_path: Path) -> None:
    """Emptying the memo when it is full changes nothing but speed."""
    interp = Interpreter(bundled())
    memo = Memo(interp, limit=3)
    for s in _reachable(interp, 4, 400):
        _assert_agree(interp, memo, s)
    assert len(memo.steps) <= 3


@pytest.mark.parametrize("name", ["corpus", "features", "features-bad", "zswap",
                                  "no-mapcount", "bm1"])
def test_searches_with_and_without_the_memo_agree(name: str, tmp_path: Path) -> None:
    runs: list[tuple[ir.Program, int]]
    if name == "corpus":
        runs = [(_program(p), 10) for p in CORPUS]
    elif name.startswith("features"):
        f = tmp_path / "f.zspec"
        f.write_text(FEATURES if name == "features" else FEATURES_BAD)
        runs = [(_program(f), 9)]
    elif name == "zswap":
        runs = [(bundled(), 6)]
    elif name == "no-mapcount":
        runs = [(bundled(path=VARIANTS / "no-mapcount.zspec"), 9)]
    else:
        runs = [(_program(BM1, defines=(("MAXC", "4"),), config="c1"), 5)]
    for program, depth in runs:
        a = search(program, depth)
        b = search(program, depth, memo=False)
        assert (a.verdict, a.depth_reached, a.states, a.transitions, a.reason) == \
            (b.verdict, b.depth_reached, b.states, b.transitions, b.reason)
        assert a.violation == b.violation
        assert a.trace == b.trace
        assert (a.coverage.ops, a.coverage.steps) == (b.coverage.ops, b.coverage.steps)
        assert a.initial == b.initial


@functools.cache
def _walker(which: str) -> tuple[Interpreter, Memo]:
    if which == "zswap":
        program = bundled()
    elif which == "no-mapcount":
        program = bundled(path=VARIANTS / "no-mapcount.zspec")
    elif which == "bm1":
        program = _program(BM1, defines=(("MAXC", "3"),), config="c2")
    else:
        program = _program(Path(__file__).parent / "corpus" / f"{which}.zspec")
    interp = Interpreter(program)
    return interp, Memo(interp)


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(["zswap", "no-mapcount", "bm1", "calls-and-returns",
                              "await-handoff", "lock-counter"]),
       picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=40))
def test_random_walks_agree(which: str, picks: list[int]) -> None:
    """A random walk (the interpreter's successors, one picked per step); in every state on
    it the memo, warm from earlier walks, answers as the interpreter does."""
    interp, memo = _walker(which)
    s = interp.initial()
    for k in picks:
        _assert_agree(interp, memo, s)
        nxt = [o.state for o in interp.successors(s, invariants=False) if o.state is not None]
        if not nxt:
            return
        s = nxt[k % len(nxt)]


def test_reads_follows_calls_and_names_procedures(spec: SpecFactory) -> None:
    p = spec.program(FEATURES)
    by_name = {inv.name: expr_reads(inv.expr, p.fns) for inv in p.invariants}
    assert by_name["held_only_at_h2"] == Reads(locks=True, frames=True,
                                               procs=frozenset({"hold"}))
    assert by_name["outer_resumes_at_o2"].procs == {"inner", "outer"}
    req = p.procs["reset"].requires[0]
    assert expr_reads(req, p.fns) == Reads(frames=True, self_=True, idle=True)
    z = bundled()
    zr = {inv.name: expr_reads(inv.expr, z.fns) for inv in z.invariants}
    assert zr["chunk_bounds"] == Reads()  # through fn calls: globals only
    assert zr["page_count_accounting"].procs == {"zbud_reclaim_page", "zbud_migrate_page",
                                                  "zbud_alloc"}
