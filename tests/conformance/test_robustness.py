"""An implementation that crashes, hangs, writes garbage, floods, answers out of protocol or
wrongly gets a clear verdict, quickly, and the runner carries on with the next case."""

from __future__ import annotations

import time

import pytest

from tests.conformance.conftest import fake, small_cases
from zbudspec.conformance.runner import run_suite
from zbudspec.conformance.transport import Limits, SubprocessImplementation

FAST = Limits(timeout=0.5, max_line=1 << 16, max_lines=50)


def run(mode: str, limits: Limits = FAST):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    r = run_suite(lambda: SubprocessImplementation(fake(mode), limits), small_cases()[:1])
    return r.results[0], time.monotonic() - t0


@pytest.mark.parametrize("mode, verdict, words", [
    ("crash", "error", ["crash", "exited with status 139"]),
    ("crash-at-start", "error", ["crash", "status 3"]),
    ("hang", "error", ["timeout", "no reply to `op` within 0.5 s"]),
    ("garbage", "error", ["protocol", "not a JSON line"]),
    ("flood", "error", ["protocol", "id -1"]),
    ("longline", "error", ["flood", "longer than 65536 bytes"]),
    ("wrong-id", "error", ["protocol", "reply with id"]),
    ("no-ok", "error", ["protocol", "without `ok`"]),
    ("event", "error", ["protocol", "schedule"]),
    ("wrong-result", "fail", ['expected "OK", got "EAGAIN"']),
    ("bug", "fail", ["BUG: BUG_ON"]),
    ("unsupported", "skip", ["no ops today"]),
])
def test_verdicts(mode: str, verdict: str, words: list[str]) -> None:
    result, seconds = run(mode)
    assert result.verdict == verdict, result.message
    for w in words:
        assert w in result.message, result.message
    assert seconds < 5


def test_crash_keeps_stderr_tail() -> None:
    result, _ = run("crash")
    assert "segmentation fault (pretend)" in result.stderr


def test_too_many_lines_is_flood() -> None:
    limits = Limits(timeout=2.0, max_lines=3)
    r = run_suite(lambda: SubprocessImplementation(fake("wrong-result"), limits),
                  small_cases()[:1])
    assert r.results[0].verdict == "fail"  # one line per request: within the limit
    # a flood of well-formed lines for another id is stopped at the first one
    result, _ = run("flood", Limits(timeout=2.0, max_lines=3))
    assert result.verdict == "error"


def test_runner_restarts_after_a_crash() -> None:
    starts = []

    def factory() -> SubprocessImplementation:
        starts.append(1)
        return SubprocessImplementation(fake("crash"), FAST)

    r = run_suite(factory, small_cases())
    assert [c.verdict for c in r.results] == ["error", "error"]
    assert len(starts) == 2


def test_in_process_exception_is_an_error_verdict() -> None:
    class Broken:
        def hello(self) -> dict[str, object]:
            return {"protocol": 1, "implementation": "broken", "features": ["zswap", "zbud"]}

        def create(self, level: str, config: object) -> None:
            pass

        def op(self, *args: object) -> object:
            raise ZeroDivisionError("oops")

        def inspect(self) -> dict[str, object]:
            return {}

        def close(self) -> None:
            pass

    r = run_suite(Broken, small_cases()[:1])  # type: ignore[arg-type]
    assert r.results[0].verdict == "error"
    assert "internal: ZeroDivisionError: oops" in r.results[0].message


def test_expected_bug_passes_only_when_the_implementation_reports_it() -> None:
    from dataclasses import replace

    case = small_cases()[0]
    first = replace(case.steps[0], expect_bug="load's unmap succeeds (BUG_ON)")
    bug_case = replace(case, steps=(first, *case.steps[1:]))
    r = run_suite(lambda: SubprocessImplementation(fake("bug"), FAST), [bug_case])
    assert r.results[0].verdict == "pass", r.results[0].message
    r = run_suite(lambda: SubprocessImplementation(fake("ok"), FAST), [bug_case])
    assert r.results[0].verdict == "fail"
    assert 'expected "BUG: load\'s unmap succeeds (BUG_ON)", got "OK"' in r.results[0].message
