"""One corpus, every engine: each spec in tests/corpus states its verdict at a bound in its
first line (`// expect depth=N: VIOLATED@K kind` or `// expect depth=N: NO VIOLATION`), and
the explicit engine and the z3 bounded engine must both give it, with the same shortest
counterexample length. A z3 counterexample is replayed through the interpreter before it is
returned (z3_bmc.EngineDisagreement otherwise)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.z3_bmc import prove_bmc
from zbudspec.engines.z3_induction import prove_induction
from zbudspec.engines.z3_jobs import prove_bmc_jobs
from zbudspec.pipeline import frontend
from zbudspec.semantics.lower import Options

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.zspec"))
EXPECT = re.compile(r"// expect depth=(\d+): (NO VIOLATION|VIOLATED@(\d+) (\w+))")


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
@pytest.mark.parametrize("engine", ["explicit", "z3", "z3-jobs"])
def test_engine_gives_the_expected_verdict(path: Path, engine: str) -> None:
    m = EXPECT.match(path.read_text().splitlines()[0])
    assert m, f"{path.name}: first line must be `// expect depth=N: ...`"
    depth = int(m.group(1))
    program = frontend(path, Options()).program
    assert program is not None
    if engine == "explicit":
        res = search(program, depth)
    elif engine == "z3":
        res = prove_bmc(program, depth)
    else:  # the properties split over processes, as `prove --jobs 2`
        res = prove_bmc_jobs(program, depth, 2, coverage=False)
    if m.group(2) == "NO VIOLATION":
        assert res.verdict in (Verdict.NO_VIOLATION, Verdict.PROVED), res.violation
        return
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.kind == m.group(4)
    assert len(res.trace) == int(m.group(3))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_induction_never_contradicts_exhaustive_search(path: Path) -> None:
    """k-induction's verdict for all depths agrees with a search run to exhaustion: PROVED
    only where no violation is reachable at all, VIOLATED with the shortest length."""
    program = frontend(path, Options()).program
    assert program is not None
    truth = search(program, 60)
    assert truth.verdict in (Verdict.PROVED, Verdict.VIOLATED), "corpus specs are small"
    ind = prove_induction(program, 6)
    if ind.result.verdict is Verdict.PROVED:
        assert truth.verdict is Verdict.PROVED
    elif ind.result.verdict is Verdict.VIOLATED:
        assert truth.verdict is Verdict.VIOLATED
        assert len(ind.result.trace) == len(truth.trace)
    else:  # not k-inductive: the start of the counterexample satisfies the invariants
        assert ind.cti is not None
        assert Interpreter(program).check_invariants(ind.cti.start) is None


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_z3_coverage_witnesses_match_the_explicit_coverage(path: Path) -> None:
    """Where neither engine finds a violation, the steps z3 shows reachable (each witness
    replayed by the interpreter) are exactly the ones breadth-first search reaches."""
    m = EXPECT.match(path.read_text().splitlines()[0])
    assert m
    if m.group(2) != "NO VIOLATION":
        pytest.skip("a violation: coverage is not reported")
    depth = int(m.group(1))
    program = frontend(path, Options()).program
    assert program is not None
    z = prove_bmc(program, depth)
    e = search(program, depth)
    assert z.coverage_known and e.coverage_known
    assert z.coverage.steps == e.coverage.steps
    assert z.coverage.ops == e.coverage.ops
