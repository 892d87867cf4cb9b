"""BM-1 (benchmarks/bm1.zspec): the promises of the shared benchmark model.

The model's own configurations are too large for a unit test (C1 at MAXC=62 needs about
ten minutes of breadth-first search before it reaches the race at depth 4: see
benchmarks/README.md), so the exhaustive checks here shrink MAXC with `-D` and keep the
depth small; the scenarios run exact interleavings through the interpreter.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from zbudspec.cli import main
from zbudspec.engines.explicit import SearchResult, Verdict, search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State
from zbudspec.engines.z3_induction import InductionResult, prove_induction
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options

ROOT = Path(__file__).resolve().parent.parent
BM1 = ROOT / "benchmarks" / "bm1.zspec"
BM1_FIXED = ROOT / "benchmarks" / "bm1-fixed.zspec"


def program(path: Path = BM1, config: str | None = None,
            defines: tuple[tuple[str, str], ...] = (), ops: tuple[str, ...] | None = None,
            threads: int | None = None) -> ir.Program:
    result = frontend(path, Options(defines, config, threads))
    assert result.program is not None, [d.message for d in result.diagnostics]
    p = result.program
    if ops is not None:  # restrict every thread to these operations
        p = replace(p, client=replace(p.client, ops=ops))
    return p


def labels(res: SearchResult) -> list[tuple[int, str, str]]:
    return [(s.transition.thread, s.transition.proc, s.transition.label) for s in res.trace]


def glob(p: ir.Program, state: State, name: str) -> object:
    return state.globals[next(i for i, g in enumerate(p.globals) if g.name == name)]


class Run:
    """Drive an exact interleaving: each call runs one step of one thread."""

    def __init__(self, p: ir.Program) -> None:
        self.p = p
        self.i = Interpreter(p)
        self.s = self.i.initial()

    def step(self, t: int, op: str | None = None, *args: object) -> object:
        outs = self.i.step_outcomes(self.s, t, op, tuple(args))
        assert len(outs) == 1, f"thread {t}: {len(outs)} outcomes"
        out = outs[0]
        assert out.violation is None, out.violation.message
        assert out.state is not None
        self.s = out.state
        return out.transition.result

    def fault(self, t: int) -> str:
        outs = self.i.step_outcomes(self.s, t)
        assert len(outs) == 1 and outs[0].violation is not None
        return outs[0].violation.message

    def at(self, t: int) -> str:
        frames = self.s.threads[t]
        return f"{frames[-1].proc}.{frames[-1].label}" if frames else "idle"

    def __getitem__(self, name: str) -> object:
        return glob(self.p, self.s, name)


# ---- the files


@pytest.mark.parametrize("path", [BM1, BM1_FIXED])
@pytest.mark.parametrize("config", [None, "c1", "c2", "c3", "c4"])
def test_checks_clean_with_every_config(path: Path, config: str | None) -> None:
    result = frontend(path, Options((), config, None))
    assert result.program is not None
    assert result.diagnostics == []


def test_cli_check_reports_no_warning() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "--warnings-as-errors", str(BM1), str(BM1_FIXED)], out, err) == 0
    assert out.getvalue().count("ok (4 operations, 0 warning(s))") == 2, err.getvalue()


def test_configs_are_bm1s() -> None:
    want = {"c1": (2, 12, 2, 2, 62, "buggy"), "c2": (2, 12, 2, 2, 62, "fixed"),
            "c3": (3, 16, 3, 3, 62, "fixed"), "c4": (2, 12, 2, 2, 4, "fixed")}
    for name, row in want.items():
        p = program(config=name)
        got = (p.client.threads, p.depth, *(p.params[k] for k in ("P", "O", "MAXC", "VARIANT")))
        assert got == row, name
    assert program(BM1).params["VARIANT"] == "buggy"
    assert program(BM1_FIXED).params["VARIANT"] == "fixed"


# ---- exhaustive search at small bounds


def test_c1_finds_the_load_use_after_free_at_depth_4() -> None:
    p = program(config="c1", defines=(("MAXC", "2"),))
    assert p.depth is not None
    res = search(p, p.depth)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.kind == "assertion"
    assert "INV-UAF: load reads a buddy it does not own" in res.violation.message
    steps = labels(res)
    assert len(steps) == 4 <= p.depth
    assert [(proc, label) for _, proc, label in steps] == [
        ("store", "S1"), ("load", "L1"), ("invalidate", "I1"), ("load", "L2")]
    loader = steps[1][0]
    assert steps[3][0] == loader and steps[2][0] != loader


def test_load_race_alone_is_reachable_at_depth_4() -> None:
    p = program(config="c1", defines=(("MAXC", "2"),), ops=("store", "load", "invalidate"))
    res = search(p, 4)
    assert res.verdict is Verdict.VIOLATED and res.violation is not None
    assert "load reads a buddy it does not own" in res.violation.message
    assert [label for _, _, label in labels(res)] == ["S1", "L1", "I1", "L2"]


def test_reclaim_race_alone_is_reachable_at_depth_4() -> None:
    """The seed's race: R1 collects o and unlocks, invalidate(o) releases the buddy, R3 reads it."""
    p = program(config="c1", defines=(("MAXC", "2"),), ops=("store", "invalidate", "reclaim"))
    res = search(p, 4)
    assert res.verdict is Verdict.VIOLATED and res.violation is not None
    assert "reclaim reads a buddy it does not own" in res.violation.message
    steps = labels(res)
    assert [label for _, _, label in steps] == ["S1", "R1", "I1", "R3F"]
    assert steps[1][0] == steps[3][0] != steps[2][0]
    assert search(p, 3).verdict is Verdict.NO_VIOLATION  # 4 steps is the shortest


def test_c4_fixed_has_no_violation_at_a_small_depth() -> None:
    p = program(config="c4")
    res = search(p, 5)
    assert res.verdict is Verdict.NO_VIOLATION
    assert {"S1", "L1", "L2", "L3", "I1", "R1", "R2F", "R3F"} <= {lb for _, lb in
                                                                  res.coverage.steps}


def test_fixed_reclaim_against_invalidate_has_no_violation() -> None:
    p = program(BM1_FIXED, defines=(("MAXC", "1"),), ops=("store", "invalidate", "reclaim"))
    res = search(p, 7)
    assert res.verdict is Verdict.NO_VIOLATION
    reached = {lb for _, lb in res.coverage.steps}
    assert {"R2F", "R3F", "R4F", "R2L", "R3L", "R4L", "R5"} <= reached


def test_fixed_with_every_operation_has_no_violation_at_depth_8() -> None:
    p = program(BM1_FIXED, defines=(("MAXC", "1"),))
    res = search(p, 8)
    assert res.verdict is Verdict.NO_VIOLATION
    ops, steps = res.coverage.missing(p)
    assert ops == [] and steps == []


# ---- k-induction with the lemmas (z3)

LEMMAS = {"no_thread_at_a_first_step", "pool_lock_free_between_steps", "unused_pages_are_empty",
          "chunks_iff_owner", "one_reclaimer_per_page_under_reclaim", "reclaimer_locals",
          "mapc_counts_mappers", "mappers_see_their_owner", "owned_is_indexed_or_dead_pending"}


def induction(p: ir.Program, drop: tuple[str, ...] = (), max_k: int = 1) -> InductionResult:
    p = replace(p, invariants=tuple(i for i in p.invariants if i.name not in drop))
    return prove_induction(p, max_k, timeout_ms=60_000)


def small_fixed() -> ir.Program:
    """One page of two one-chunk buddies, two offsets: about 4 s of encoding per run."""
    return program(BM1_FIXED, defines=(("MAXC", "1"), ("P", "1"), ("O", "2")))


def test_the_lemmas_are_declared_as_lemmas() -> None:
    p = small_fixed()
    assert {i.name for i in p.invariants if i.lemma} == LEMMAS
    assert {i.name for i in p.invariants if not i.lemma} == {
        "inv_bounds", "inv_index", "inv_free_while_mapped"}


def test_fixed_is_proved_for_all_depths_by_1_induction() -> None:
    res = induction(small_fixed())
    assert res.result.verdict is Verdict.PROVED, res.result.reason
    assert res.k == 1 and res.cti is None and res.result.violation is None


def test_without_a_key_lemma_induction_gives_a_counterexample_to_induction() -> None:
    p, lemma = small_fixed(), "mappers_see_their_owner"
    res = induction(p, drop=(lemma,))
    # not a violation (none exists: the full set is inductive), but a state the remaining
    # invariants allow, from which one step breaks one of them
    assert res.result.verdict is Verdict.UNKNOWN and res.result.violation is None
    assert "not 1-inductive" in res.result.reason
    assert res.cti is not None and res.cti.k == 1 and len(res.cti.trace) == 1
    assert "INV-UAF" in res.cti.violation.message  # a mapper reads a slot it does not own
    # the full set is 1-inductive, so the dropped lemma is exactly what the start state lacks
    v = Interpreter(p).check_invariants(res.cti.start)
    assert v is not None and v.name == lemma


# ---- scenarios (exact interleavings)


def test_fixed_defers_the_free_of_a_mapped_buddy_to_the_last_unmap() -> None:
    r = Run(program(BM1_FIXED))
    assert r.step(0, "store", 0, 5, 1) == "OK"
    r.step(1, "load", 0)                                  # L1 maps
    assert r["mapc"][0] == (1, 0)
    assert r.step(0, "invalidate", 0) == "OK"             # mapped: dead_pending
    assert r["dead_pending"][0] == (True, False) and r["index"][0] is None
    assert r["owner"][0] == (0, None)
    r.step(1)                                             # L2 reads its own buddy
    assert r.at(1) == "load.L3"
    assert r.step(1) == "OK"                              # L3: the last unmap releases it
    assert r["owner"][0] == (None, None) and r["used"] == (False, False)
    assert r["mapc"][0] == (0, 0) and r["dead_pending"][0] == (False, False)


def test_buggy_load_reads_a_freed_buddy() -> None:
    r = Run(program(BM1))
    r.step(0, "store", 0, 5, 1)
    r.step(1, "load", 0)
    r.step(0, "invalidate", 0)
    assert "INV-UAF: load" in r.fault(1)


def test_fixed_reclaim_skips_an_offset_invalidated_before_r2() -> None:
    r = Run(program(BM1_FIXED))
    r.step(0, "store", 0, 5, 1)
    r.step(0, "store", 1, 7, 0)                           # same page, LAST slot
    r.step(1, "reclaim")                                  # R1 collects 0 and 1
    assert r["under_reclaim"] == (True, False) and r.at(1) == "reclaim.R2F"
    r.step(0, "invalidate", 0)                            # releases FIRST at once
    r.step(1)                                             # R2F: skip, go to R2L
    assert r.at(1) == "reclaim.R2L"
    r.step(1)                                             # R2L maps offset 1
    assert r.at(1) == "reclaim.R3L"
    r.step(1)                                             # R3L writes back
    assert r["swap"] == (None, 0)
    r.step(1)                                             # R4L frees offset 1
    assert r.at(1) == "reclaim.R5" and r["used"] == (True, False)
    assert r.step(1) == "OK"                              # R5: the page is empty: freed
    assert r["used"] == (False, False) and r["rank"] == (0, 0)


def test_buggy_reclaim_reads_a_buddy_invalidated_after_r1() -> None:
    r = Run(program(BM1))
    r.step(0, "store", 0, 5, 1)
    r.step(1, "reclaim")
    assert r.at(1) == "reclaim.R3F"                       # buggy: no R2 step
    r.step(0, "invalidate", 0)
    assert "INV-UAF: reclaim" in r.fault(1)


def test_first_fit_takes_the_smallest_free_count() -> None:
    r = Run(program(defines=(("O", "4"), ("P", "3")), threads=1))
    r.step(0, "store", 0, 40, 0)     # page 0 FIRST, 23 free
    r.step(0, "store", 1, 50, 0)     # does not fit page 0: page 1 FIRST, 13 free
    r.step(0, "store", 2, 10, 0)     # fits both: page 1 has the smaller free count
    assert r["owner"] == ((0, None), (1, 2), (None, None))
    assert r["chunks"][1] == (50, 10) and r["rank"] == (1, 2, 0)


def test_first_fit_ties_lru_tail_and_under_reclaim() -> None:
    r = Run(program(defines=(("O", "4"), ("P", "3"))))
    r.step(0, "store", 0, 40, 0)     # page 0 FIRST, 23 free
    r.step(0, "store", 1, 40, 0)     # page 1 FIRST, 23 free
    r.step(0, "store", 2, 5, 0)      # a tie: the lowest page index
    assert r["owner"] == ((0, 2), (1, None), (None, None))
    assert r["rank"] == (2, 1, 0)    # page 0 is the most recently used
    assert r.step(1, "reclaim") is None and r.at(1) == "reclaim.R3F"
    assert r.s.threads[1][-1].locals[0] == 1     # reclaim took the LRU tail, page 1
    assert r["under_reclaim"] == (False, True, False)
    assert r.step(0, "store", 3, 5, 1) == "OK"    # page 1 is under reclaim: a new frame
    assert r["owner"][2] == (3, None) and r["rank"] == (2, 1, 3)
    before = r.s
    assert r.step(0, "store", 3, 1, 0) == "EEXIST"   # refused: a step that changes nothing
    assert r.s == before

