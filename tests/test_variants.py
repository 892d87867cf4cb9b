"""What each design does, shown on the spec: scenarios run through the interpreter."""

from __future__ import annotations

from pathlib import Path

from conftest import NO_MAPCOUNT, ROOT, SpecFactory, bundled, run_op

from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.replay import replay_file

ACCEPT_DUP = ROOT / "spec" / "variants" / "accept-duplicates.zspec"
ONE_PAGE_LIMIT = (("POOL_LIMIT", "1"),)


def _expect(program, state, offset: int):  # type: ignore[no-untyped-def]
    idx = next(i for i, g in enumerate(program.globals) if g.name == "expect")
    return state.globals[idx][offset]


def test_v3_refuses_a_duplicate_store_and_keeps_the_old_data() -> None:
    p = bundled(defines=ONE_PAGE_LIMIT, threads=1)
    interp = Interpreter(p)
    s = interp.initial()
    s, r, v = run_op(p, s, 0, "zswap_frontswap_store", (0, 1, 0), interp=interp)
    assert (r, v) == ("OK", None)
    s, r, v = run_op(p, s, 0, "zswap_frontswap_store", (0, 1, 1), interp=interp)
    assert (r, v) == ("EEXIST", None)
    s, r, v = run_op(p, s, 0, "zswap_frontswap_load", (0,), interp=interp)
    assert (r, v) == (0, None)


def test_accept_duplicates_replaces_the_old_data() -> None:
    p = bundled(path=ACCEPT_DUP, defines=ONE_PAGE_LIMIT, threads=1)
    interp = Interpreter(p)
    s = interp.initial()
    s, r, _ = run_op(p, s, 0, "zswap_frontswap_store", (0, 1, 0), interp=interp)
    s, r, v = run_op(p, s, 0, "zswap_frontswap_store", (0, 1, 1), interp=interp)
    assert (r, v) == ("OK", None)
    assert _expect(p, s, 0) == 1
    s, r, v = run_op(p, s, 0, "zswap_frontswap_load", (0,), interp=interp)
    assert (r, v) == (1, None)


def test_accept_duplicates_has_no_violation_at_small_bounds() -> None:
    p = bundled(path=ACCEPT_DUP, defines=ONE_PAGE_LIMIT, threads=1)
    res = search(p, depth=14)
    assert res.verdict is Verdict.NO_VIOLATION
    assert ("zswap_frontswap_store", "D1") in res.coverage.steps


def test_without_map_counts_compaction_migrates_a_mapped_page(spec: SpecFactory) -> None:
    """No-mapcount with compaction as an actor: the first race is migration, not reclaim."""
    text = f'variant of "{NO_MAPCOUNT}";\nclient {{ ops zswap_frontswap_store, ' \
           'zswap_frontswap_load, zswap_frontswap_invalidate_page, zbud_migrate_page; }\n'
    path = spec.path(text)
    p = bundled(path=path)
    res = search(p, depth=8)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.name == "no_free_while_mapped"
    assert res.trace[-1].transition.proc == "zbud_migrate_page"


def test_v3_load_hits_bug_on_in_the_writeback_window() -> None:
    """A finding about v3 under D7: between writeback's issued write (W3) and its free (W4)
    a load can map the offset; W4's free is then deferred and the load's own unmap does it,
    returning -EFAULT, which v3's load treats as a BUG. Found by `prove --depth 13`."""
    trace = Path(__file__).parent / "traces" / "v3-load-bug-in-writeback-window.json"
    rep = replay_file(trace, ROOT / "spec" / "zswap.zspec")
    assert rep.violation is not None
    assert "load's unmap succeeds (BUG_ON)" in rep.violation.message
    labels = [(t.transition.proc, t.transition.label) for t in rep.trace]
    assert labels.index(("zbud_evict", "W3")) < labels.index(("zswap_frontswap_load", "L1")) \
        < labels.index(("zbud_evict", "W4"))
