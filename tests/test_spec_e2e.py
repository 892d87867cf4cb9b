"""End to end on the bundled spec: the promises the README makes about `zbudspec prove`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from conftest import NO_MAPCOUNT, ROOT, SPEC, bundled

from zbudspec.cli import main
from zbudspec.engines.explicit import Verdict, search
from zbudspec.replay import replay_file


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_every_bundled_spec_checks_clean() -> None:
    files = [str(SPEC), str(ROOT / "spec" / "zbud.zspec"),
             *map(str, sorted((ROOT / "spec" / "variants").glob("*.zspec")))]
    code, out, err = run(["check", "--warnings-as-errors", *files])
    assert code == 0, err
    assert out.count(": ok") == len(files)


def test_bundled_spec_has_no_violation_at_small_bounds() -> None:
    res = search(bundled(), depth=9)
    assert res.verdict is Verdict.NO_VIOLATION
    assert res.states > 10_000
    assert {"zswap_frontswap_store", "zswap_frontswap_load",
            "zswap_frontswap_invalidate_page"} <= res.coverage.ops
    assert ("zbud_reclaim_page", "R1") in res.coverage.steps
    assert ("zbud_evict", "W2") in res.coverage.steps


def test_no_mapcount_shows_the_seeds_race_at_two_threads() -> None:
    res = search(bundled(path=NO_MAPCOUNT), depth=10)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.name == "no_free_while_mapped"
    steps = [(t.transition.thread, t.transition.proc, t.transition.label) for t in res.trace]
    reclaimer = next(th for th, proc, label in steps if (proc, label) == ("zbud_reclaim_page",
                                                                          "R1"))
    order = [(proc, label) for th, proc, label in steps]
    # reclaim picks the page and drops the lock; writeback maps the buddy ...
    r1 = order.index(("zbud_reclaim_page", "R1"))
    w1 = order.index(("zbud_evict", "W1"))
    assert r1 < w1 and steps[w1][0] == reclaimer
    # ... and invalidate, on the other thread, frees it underneath: the last step
    last = res.trace[-1].transition
    assert last.op == "zswap_frontswap_invalidate_page" and last.thread != reclaimer
    assert len(res.trace) == 9  # shortest


def test_the_same_race_needs_map_counts_gone_and_the_slot_unpinned() -> None:
    """With the swap cache pinning the slot (the kernel), no-mapcount has no such race."""
    pinned = bundled(path=NO_MAPCOUNT, defines=(("SWAPCACHE_PIN", "true"),))
    res = search(pinned, depth=9)
    assert res.verdict is Verdict.NO_VIOLATION


def test_prove_cli_prints_swimlanes_and_writes_a_replayable_trace(tmp_path: Path) -> None:
    trace = tmp_path / "race.json"
    code, out, err = run(["prove", str(NO_MAPCOUNT), "--trace-out", str(trace)])
    assert code == 1, err
    assert "VIOLATED at depth 9" in out
    assert "no_free_while_mapped" in out
    assert "step | thread 0" in out and "zbud_evict.W1 [outcome=NEW]" in out
    data = json.loads(trace.read_text())
    assert data["zbudspec_trace"] == 1 and len(data["steps"]) == 9
    rep = replay_file(trace)
    assert rep.violation is not None and rep.violation.name == "no_free_while_mapped"
    code, out, _ = run(["replay", str(trace)])
    assert code == 1 and "no_free_while_mapped" in out


def test_prove_json_result_object() -> None:
    code, out, _ = run(["prove", "--depth", "4", "--json"])
    assert code == 0
    res = json.loads(out)
    assert res["zbudspec_result"] == 1
    assert res["verdict"] == "NO VIOLATION"
    assert res["engine"] == "explicit" and res["threads"] == 2 and res["depth"] == 4
    assert res["params"]["PAGE_SHIFT"] == 2
    assert res["states"] > 0 and "unreached_steps" in res["coverage"]
    assert res["violation"] is None


def test_prove_reports_unreached_steps_as_warnings() -> None:
    code, out, _ = run(["prove", "--depth", "3"])
    assert code == 0
    assert "NO VIOLATION within depth 3" in out
    assert "warning: steps never reached:" in out and "zbud_evict.W2" in out


def test_prove_says_proved_when_the_state_space_is_exhausted(tmp_path: Path) -> None:
    p = tmp_path / "tiny.zspec"
    p.write_text("""
var n: 0..1 = 0;
op flip() {
S1:
  n = 1 - n;
  return;
}
client { threads 1; }
invariant in_range: n <= 1;
""")
    code, out, _ = run(["prove", str(p), "--depth", "50"])
    assert code == 0
    assert "PROVED for all depths" in out


def test_invariant_filter_and_unknown_invariant() -> None:
    code, out, _ = run(["prove", "--depth", "2", "--invariant", "chunk_bounds"])
    assert code == 0 and "invariants: chunk_bounds\n" in out
    code, _, err = run(["prove", "--depth", "2", "--invariant", "chunk_bound"])
    assert code == 2 and "no such invariant" in err


def test_bad_arguments_exit_2_without_a_traceback() -> None:
    for argv in (["prove", "--depth", "-1"], ["prove", "-D", "NOPE"], ["frobnicate"],
                 ["prove", "-D", "NPAGES=99"], ["prove", "-D", "PAGE_SIZ=3"],
                 ["prove", "--config", "nosuch"], ["prove", "/no/such/file.zspec"],
                 ["replay", "/no/such/trace.json"]):
        code, out, err = run(argv)
        assert code == 2, (argv, out, err)
        assert "Traceback" not in err, argv


def test_d_override_out_of_range_names_the_parameter() -> None:
    code, _, err = run(["prove", "-D", "NPAGES=99"])
    assert code == 2 and "`NPAGES` = 99 is outside its type 1..8" in err
    code, _, err = run(["prove", "-D", "PAGE_SIZ=3"])
    assert code == 2
    assert "did you mean `PAGE_SHIFT`?" in err
