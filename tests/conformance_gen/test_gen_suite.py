"""The generated suite: committed = regenerated, byte for byte; deterministic; covering the
listed targets; every case re-runs in the interpreter; the reference passes it in process."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from gen_helpers import SPEC, SUITE, rerun

from zbudspec.cli import main
from zbudspec.conformance.cases import dumps_case, load_suite
from zbudspec.conformance.gen import Generator, GenReport, write_suite

# Not reachable from zswap (docs/decisions.md D33): dlen >= 1, and an unmap always follows
# its own map, whose map count keeps the index entry.
UNREACHABLE = {"branch:zbud_alloc@195:then", "return:zbud_alloc@196",
               "branch:zbud_unmap@295:then", "return:zbud_unmap@297"}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenReport, Path]:
    out = tmp_path_factory.mktemp("gen")
    code = main(["gen", "-o", str(out)], StringIO(), StringIO())
    assert code == 0
    return _report_of(out), out


def _report_of(out: Path) -> GenReport:
    cov = json.loads((out / "_coverage.json").read_text())
    r = GenReport(cov["spec"], targets=list(cov["first_hit"]))
    r.hit = {t for t, c in cov["first_hit"].items() if c is not None}
    return r


def test_committed_suite_is_a_fresh_generation(fresh: tuple[GenReport, Path]) -> None:
    _, out = fresh
    mine = {p.name: p.read_bytes() for p in sorted(out.glob("*.json"))}
    committed = {p.name: p.read_bytes() for p in sorted(SUITE.glob("*.json"))}
    assert sorted(mine) == sorted(committed), "run `zbudspec gen` and commit the result"
    for name in mine:
        assert mine[name] == committed[name], f"{name} differs: run `zbudspec gen`"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    """Two generations in one process (directed and concurrent scenarios), byte for byte."""
    texts = []
    for _ in range(2):
        g = Generator(SPEC)
        g.directed()
        g.races()
        texts.append([dumps_case(c) for c in g.report.cases])
    assert texts[0] == texts[1]


def test_coverage_reaches_every_reachable_target(fresh: tuple[GenReport, Path]) -> None:
    report, _ = fresh
    assert set(report.missed) == UNREACHABLE
    assert len(report.targets) > 150


def test_the_listed_behaviours_have_cases() -> None:
    suite = load_suite(SUITE)
    names = {c.name for c in suite.cases}
    for want in ("kernel-size-boundaries", "kernel-chunk-rounding", "kernel-best-fit",
                 "kernel-lifo-within-class", "kernel-lru-refresh", "kernel-reclaim-partial",
                 "kernel-reclaim-retries-exhausted", "kernel-reclaim-first-fails",
                 "kernel-migrate", "kernel-migrate-no-frame", "small-roundtrip",
                 "small-race-no-mapcount-schedule-on-v3", "small-race-migrate-while-mapped"):
        assert want in names
    results: dict[str, set[str]] = {}
    for c in suite.cases:
        for s in c.steps:
            results.setdefault(s.op, set()).add(json.dumps(s.result))
    assert {'"OK"', '"EINVAL"', '"ENOSPC"', '"ENOMEM"', '"EEXIST"'} <= \
        results["zswap_frontswap_store"]
    assert {"null", "0", "1"} <= results["zswap_frontswap_load"]
    assert {'"OK"', '"ENOENT"'} <= results["zswap_frontswap_invalidate_page"]
    assert {'"OK"', '"EINVAL"', '"ENOMEM"', '"EAGAIN"'} <= results["zbud_migrate_page"]
    sizes = {s.args.get("dlen") for c in suite.cases if c.params.get("PAGE_SHIFT") == 12
             for s in c.steps}
    assert {1, 64, 65, 3968, 3969, 4096} <= sizes
    covers = {t for c in suite.cases for t in c.covers}
    assert "branch:zbud_evict@164:then" in covers  # writeback's unmap: EFAULT (deferred free)
    findings = sorted(p.name for p in SUITE.glob("_finding-*.json"))
    # the variant's invariant violation stays a finding; v3's BUG is an expect_bug case
    assert findings == ["_finding-no-mapcount-seed-race.json"]
    bug = next(c for c in suite.cases if c.name == "small-race-load-in-writeback-window")
    assert [s.expect_bug for s in bug.steps] == ["", "", "load's unmap succeeds (BUG_ON)"]
    assert [s.unfinished for s in bug.steps] == [False, True, False]


def test_every_case_reruns_in_the_interpreter() -> None:
    models: dict[object, object] = {}
    for case in load_suite(SUITE).cases:
        assert rerun(case, models) == [], case.name  # type: ignore[arg-type]


def test_the_reference_passes_in_process() -> None:
    from reference.conformance_adapter import make
    from zbudspec.conformance.runner import run_suite

    res = run_suite(make, load_suite(SUITE))
    bad = [r for r in res.results if r.verdict == "fail" or
           (r.verdict == "error" and "unsupported" not in r.message)]
    assert bad == [], [(r.name, r.message) for r in bad]
    assert res.count("pass") == len(res.results) >= 46  # scheduled cases too, none skipped


def test_gen_writes_its_coverage_and_replaces_old_files(tmp_path: Path) -> None:
    (tmp_path / "stale.json").write_text("{}")
    g = Generator(SPEC)
    g.directed()
    written = write_suite(g.report, tmp_path)
    assert not (tmp_path / "stale.json").exists()
    assert (tmp_path / "_coverage.json") in written
