"""`prove`'s outputs beyond the verdict: HTML pages, minimised traces, --jobs, the z3 engine's
coverage and progress, and usage errors for options that need the z3 engine."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

from zbudspec.cli import main

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


def test_a_query_that_meets_its_resource_limit_is_unknown_and_says_so() -> None:
    code, out, _ = _run("prove", str(CORPUS / "lock-counter.zspec"), "--engine", "z3",
                        "--rlimit", "1")
    assert code == 3
    assert "UNKNOWN: z3 gave up at depth 0" in out and "--rlimit 1" in out
