"""The oracles beyond the fixed suite: the spec as the differential oracle, shrinking,
linearizability of concurrent histories, invariants at quiescent points."""

from __future__ import annotations

import io
import random
from collections.abc import Mapping, Sequence

from reference.conformance_adapter import ReferenceImplementation
from tests.conformance.conftest import REF_INPROC
from zbudspec.cli import main
from zbudspec.conformance.concurrent import CONCURRENT_PARAMS, run_concurrent
from zbudspec.conformance.differential import (
    RANDOM_PARAMS,
    Call,
    checker,
    expected_case,
    random_calls,
    shrink,
)
from zbudspec.conformance.linearize import HistOp, check
from zbudspec.conformance.runner import Session, run_case
from zbudspec.conformance.spec_model import SpecModel


class WrongOnBigStores(ReferenceImplementation):
    """A mutant: a store bigger than 100 bytes claims ENOSPC (off by one chunk or so)."""

    def op(self, thread: int, op: str, args: Mapping[str, object],
           env: Mapping[str, Sequence[str]] | None = None) -> object:
        if op == "zswap_frontswap_store" and int(args["dlen"]) > 100:  # type: ignore[call-overload]
            return "ENOSPC"
        return super().op(thread, op, args, env)


def test_random_sequences_agree_on_the_reference() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["conformance", "--impl", REF_INPROC, "--random", "12", "--seed", "3"],
                out, err)
    assert code == 0, out.getvalue()
    assert "12 sequences" in out.getvalue() and "all agree" in out.getvalue()


def test_shrinking_finds_a_minimal_failing_sequence() -> None:
    model = SpecModel("zswap", "zswap.zspec", RANDOM_PARAMS)
    session = Session(WrongOnBigStores)
    rng = random.Random(5)
    for _ in range(50):
        calls = random_calls(rng, "zswap", RANDOM_PARAMS, 30)
        if run_case(session, expected_case("r", "zswap", RANDOM_PARAMS, calls,
                                           model=model)).verdict == "fail":
            break
    else:
        raise AssertionError("no failing random sequence")
    small = shrink(calls, checker(session, "zswap", RANDOM_PARAMS, model))
    assert len(small) < len(calls)
    assert len(small) == 1, [c.render() for c in small]
    (only,) = small
    assert only.op == "zswap_frontswap_store" and only.args["dlen"] == 101
    assert only.args["offset"] == 0 and only.args["tag"] == 0 and not only.env


def test_cli_prints_the_shrunk_sequence_and_exits_1() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["conformance", "--impl", "python:tests.conformance.test_oracles:"
                 "WrongOnBigStores", "--random", "20"], out, err)
    assert code == 1
    assert "shrunk to 1 operation(s)" in out.getvalue()
    assert "zswap_frontswap_store(offset=0, dlen=101, tag=0)" in out.getvalue()


def _model() -> SpecModel:
    return SpecModel("zswap", "zswap.zspec", CONCURRENT_PARAMS)


def test_linearizable_history_is_accepted() -> None:
    # thread 1's load overlaps thread 0's store: it may see the store or not
    h = [HistOp(0, "zswap_frontswap_store", {"offset": 0, "dlen": 10, "tag": 1}, "OK", 0, 3),
         HistOp(1, "zswap_frontswap_load", {"offset": 0}, 1, 1, 2),
         HistOp(1, "zswap_frontswap_load", {"offset": 1}, None, 4, 5)]
    m = _model()
    v = check(m, m.initial(), h)
    assert v.status == "linearizable"
    assert v.order[:2] == (0, 1)


def test_non_linearizable_history_is_rejected() -> None:
    # the load starts after the store returned OK, yet finds nothing
    h = [HistOp(0, "zswap_frontswap_store", {"offset": 0, "dlen": 10, "tag": 1}, "OK", 0, 1),
         HistOp(1, "zswap_frontswap_load", {"offset": 0}, None, 2, 3)]
    m = _model()
    assert check(m, m.initial(), h).status == "not linearizable"
    # swapped real-time order: load first, then it is fine
    h2 = [HistOp(1, "zswap_frontswap_load", {"offset": 0}, None, 0, 1),
          HistOp(0, "zswap_frontswap_store", {"offset": 0, "dlen": 10, "tag": 1}, "OK", 2, 3)]
    assert check(m, m.initial(), h2).status == "linearizable"


def test_search_budget_gives_unknown_not_a_guess() -> None:
    h = [HistOp(t, "zswap_frontswap_store", {"offset": t, "dlen": 10, "tag": 0}, "OK", 0, 10)
         for t in range(3)]
    h.append(HistOp(3, "zswap_frontswap_load", {"offset": 3}, 1, 0, 10))  # never stored
    m = _model()
    assert check(m, m.initial(), h).status == "not linearizable"
    assert check(m, m.initial(), h, budget=3).status == "unknown"


def test_concurrent_reference_rounds_pass() -> None:
    r = run_concurrent(ReferenceImplementation, 3, seed=1, rounds=6)
    assert r.status == "pass", r.message
    assert r.ops == 6 * 3 * 3


class ForgetfulLoads(ReferenceImplementation):
    """A mutant whose loads of offset 1 miss although it is stored."""

    def op(self, thread: int, op: str, args: Mapping[str, object],
           env: Mapping[str, Sequence[str]] | None = None) -> object:
        got = super().op(thread, op, args, env)
        if op == "zswap_frontswap_load" and args["offset"] == 1:
            return None
        return got


def test_concurrent_catches_a_wrong_result() -> None:
    r = run_concurrent(ForgetfulLoads, 2, seed=0, rounds=30)
    assert r.status == "fail" and "not linearizable" in r.message
    assert any(h.op == "zswap_frontswap_load" for h in r.history)


def test_expected_case_drops_steps_the_spec_faults_on() -> None:
    calls = [Call("zbud_alloc", {"size": 5, "offset": 0})] + \
        [Call("zbud_map", {"offset": 0})] * 10
    case = expected_case("maps", "zbud", RANDOM_PARAMS, calls)
    assert len(case.steps) == 1 + 6  # MAX_REFS = 7 page references at most
