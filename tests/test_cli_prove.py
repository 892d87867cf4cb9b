"""`prove`'s outputs beyond the verdict: HTML pages, minimised traces, --jobs, the z3 engine's
coverage and progress, and usage errors for options that need the z3 engine."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

from zbudspec.cli import main
from zbudspec.engines.explicit import Coverage, SearchResult, TraceStep, Verdict
from zbudspec.engines.z3_jobs import combine

CORPUS = Path(__file__).parent / "corpus"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_html_of_a_z3_counterexample_and_of_its_replay(tmp_path: Path) -> None:
    page, trace = tmp_path / "cx.html", tmp_path / "cx.json"
    code, out, _ = _run("prove", str(CORPUS / "lost-update.zspec"), "--engine", "z3",
                        "--html", str(page), "--trace-out", str(trace))
    assert code == 1 and "VIOLATED at depth 4" in out
    text = page.read_text()
    HTMLParser().feed(text)
    assert "no lost update" in text and "engine: z3" in text
    again = tmp_path / "replay.html"
    code, out, _ = _run("replay", str(trace), "--html", str(again))
    assert code == 1 and again.read_text().count("<tr") >= 4


def test_jobs_give_the_same_shortest_counterexample() -> None:
    one = json.loads(_run("prove", str(CORPUS / "lock-counter.zspec"), "--engine", "z3",
                          "--json")[1])
    two = json.loads(_run("prove", str(CORPUS / "lock-counter.zspec"), "--engine", "z3",
                          "--jobs", "2", "--json")[1])
    assert one["verdict"] == two["verdict"] == "VIOLATED"
    assert len(one["trace"]["steps"]) == len(two["trace"]["steps"]) == 5
    assert one["violation"] == two["violation"]


def test_z3_reports_coverage_from_witnesses() -> None:
    code, out, _ = _run("prove", str(CORPUS / "await-handoff.zspec"), "--engine", "z3",
                        "--json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "NO VIOLATION"
    assert doc["coverage"]["unreached_steps"] == []
    assert doc["coverage"]["how"].startswith("z3 witnesses")


def test_options_that_need_the_z3_engine_are_usage_errors() -> None:
    spec = str(CORPUS / "range.zspec")
    code, _, err = _run("prove", spec, "--jobs", "2")
    assert code == 2 and "--jobs needs --engine z3" in err
    code, _, err = _run("prove", spec, "--engine", "z3", "--induction", "--jobs", "2")
    assert code == 2
    code, _, err = _run("prove", spec, "--jobs", "0", "--engine", "z3")
    assert code == 2 and "at least 1" in err
    code, _, err = _run("prove", spec, "--engine", "z3", "--rlimit", str(2**32))
    assert code == 2 and "--rlimit 4294967296: z3 takes at most 4294967295" in err


def test_a_query_that_meets_its_resource_limit_is_unknown_and_says_so() -> None:
    code, out, _ = _run("prove", str(CORPUS / "lock-counter.zspec"), "--engine", "z3",
                        "--rlimit", "1")
    assert code == 3
    assert "UNKNOWN: z3 gave up at depth 0" in out and "--rlimit 1" in out


def _result(verdict: Verdict, reached: int, trace_len: int = 0, reason: str = "") -> SearchResult:
    from zbudspec.engines.interpreter import Interpreter
    from zbudspec.pipeline import frontend
    from zbudspec.semantics.lower import Options

    program = frontend(CORPUS / "range.zspec", Options()).program
    assert program is not None
    init = Interpreter(program).initial()
    trace = [TraceStep(None, init)] * trace_len  # type: ignore[arg-type]
    return SearchResult(verdict, 6, reached, 0, 0, 0.0, Coverage(), init, trace, None,
                        reason=reason)


def test_jobs_say_when_a_violation_is_not_shown_to_be_the_shortest() -> None:
    """A job that gave up below another job's violation leaves a shorter one possible."""
    groups = [["fault"], ["a"], ["b"]]
    found = _result(Verdict.VIOLATED, 4, trace_len=5)
    stopped = _result(Verdict.UNKNOWN, 5, reason="stopped: another job found a violation")
    gave_up = _result(Verdict.UNKNOWN, 2, reason="z3 gave up at depth 3: timeout")
    res = combine([found, stopped, gave_up], groups, 6, 1.0)
    assert res.verdict is Verdict.VIOLATED and "not shown to be the shortest" in res.reason
    assert "job 2 (b) gave up at depth 3" in res.reason
    res = combine([_result(Verdict.VIOLATED, 4, trace_len=5), stopped,
                   _result(Verdict.NO_VIOLATION, 6)], groups, 6, 1.0)
    assert res.verdict is Verdict.VIOLATED and res.reason == ""
    res = combine([_result(Verdict.NO_VIOLATION, 6), gave_up,
                   _result(Verdict.NO_VIOLATION, 6)], groups, 6, 1.0)
    assert res.verdict is Verdict.UNKNOWN and "timeout" in res.reason


def test_jobs_say_proved_only_when_every_job_proved_its_part() -> None:
    """Each job's Houdini proves its own properties; PROVED needs all of them."""
    groups = [["fault"], ["a"]]
    res = combine([_result(Verdict.PROVED, 6), _result(Verdict.NO_VIOLATION, 6)], groups, 6,
                  1.0)
    assert res.verdict is Verdict.NO_VIOLATION
    res = combine([_result(Verdict.PROVED, 6), _result(Verdict.PROVED, 6)], groups, 6, 1.0)
    assert res.verdict is Verdict.PROVED


def test_jobs_report_each_depth_they_complete() -> None:
    """The progress of `--jobs`: every job says when it has finished each depth, in order."""
    from zbudspec.engines.z3_bmc import DepthStats
    from zbudspec.engines.z3_jobs import prove_bmc_jobs
    from zbudspec.pipeline import frontend
    from zbudspec.semantics.lower import Options

    program = frontend(CORPUS / "calls-and-returns.zspec", Options()).program
    assert program is not None
    seen: dict[int, list[int]] = {}

    def on_depth(job: int, st: DepthStats) -> None:
        seen.setdefault(job, []).append(st.depth)

    res = prove_bmc_jobs(program, 4, 2, coverage=False, on_depth=on_depth)
    assert res.verdict in (Verdict.NO_VIOLATION, Verdict.PROVED, Verdict.VIOLATED)
    reached = res.depth_reached if res.verdict is not Verdict.VIOLATED else len(res.trace) - 1
    assert sorted(seen) == [0, 1]
    for depths in seen.values():
        assert depths == list(range(1, len(depths) + 1)) and len(depths) >= reached


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_on_terminal(*argv: str) -> tuple[int, str, str]:
    out, err = _Terminal(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_on_a_terminal_prove_shows_a_live_progress_line_and_none_under_json() -> None:
    spec = str(CORPUS / "calls-and-returns.zspec")
    code, _, err = _run_on_terminal("prove", spec, "--engine", "z3", "--depth", "3")
    assert code == 0 and "depth 3/3:" in err and "queries" in err and "conflicts" in err
    code, _, err = _run_on_terminal("prove", spec, "--engine", "z3", "--depth", "3",
                                    "--jobs", "2")
    assert code == 0 and "job 0: depth" in err and "job 1: depth 3/3" in err
    code, out, err = _run_on_terminal("prove", spec, "--engine", "z3", "--depth", "3",
                                      "--json")
    assert code == 0 and "depth" not in err and json.loads(out)["verdict"]
