"""Reports of a conformance run: text summary, JUnit XML, JSON (pure functions to strings)."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from zbudspec.conformance.runner import CaseResult, SuiteResult

REPORT_VERSION = 1


def summary(r: SuiteResult) -> str:
    return (f"{len(r.results)} cases: {r.count('pass')} passed, {r.count('fail')} failed, "
            f"{r.count('error')} errors, {r.count('skip')} skipped "
            f"({r.ops} operations in {r.seconds:.2f} s) against {r.implementation}")


def case_text(c: CaseResult) -> str:
    head = f"{c.verdict.upper():5} {c.name}"
    if c.verdict == "pass":
        return head
    lines = [head]
    if c.source:
        lines.append(f"      ({c.source})")
    lines.extend("      " + ln for ln in c.message.splitlines())
    if c.stderr:
        tail = c.stderr.strip().splitlines()[-10:]
        lines.append("      stderr (last lines):")
        lines.extend("        " + ln for ln in tail)
    return "\n".join(lines)


def json_report(r: SuiteResult) -> dict[str, Any]:
    return {
        "zbudspec_conformance_report": REPORT_VERSION,
        "implementation": r.implementation,
        "seconds": round(r.seconds, 6),
        "totals": {v: r.count(v) for v in ("pass", "fail", "error", "skip")},
        "operations": r.ops,
        "cases": [{
            "name": c.name, "verdict": c.verdict, "message": c.message, "steps": c.steps,
            "seconds": round(c.seconds, 6), "source": c.source, "stderr": c.stderr,
            "divergence": None if c.divergence is None else {
                "step": c.divergence.step, "thread": c.divergence.thread,
                "op": c.divergence.op, "args": dict(c.divergence.args),
                "expected": c.divergence.expected, "actual": c.divergence.actual,
                "state_diff": list(c.divergence.state_diff)},
        } for c in r.results],
    }


def json_text(r: SuiteResult) -> str:
    return json.dumps(json_report(r), sort_keys=True, indent=2) + "\n"


def junit_xml(r: SuiteResult, suite_name: str = "zbudspec-conformance") -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f"<testsuites tests=\"{len(r.results)}\" failures=\"{r.count('fail')}\" "
           f"errors=\"{r.count('error')}\" skipped=\"{r.count('skip')}\" "
           f"time=\"{r.seconds:.3f}\">",
           f"  <testsuite name={quoteattr(suite_name)} tests=\"{len(r.results)}\" "
           f"failures=\"{r.count('fail')}\" errors=\"{r.count('error')}\" "
           f"skipped=\"{r.count('skip')}\" time=\"{r.seconds:.3f}\">",
           f"    <properties><property name=\"implementation\" "
           f"value={quoteattr(r.implementation)}/></properties>"]
    for c in r.results:
        attrs = (f"classname={quoteattr(suite_name)} name={quoteattr(c.name)} "
                 f"time=\"{c.seconds:.4f}\"")
        first = c.message.splitlines()[0] if c.message else c.verdict
        if c.verdict == "pass":
            out.append(f"    <testcase {attrs}/>")
            continue
        out.append(f"    <testcase {attrs}>")
        tag = {"fail": "failure", "error": "error", "skip": "skipped"}[c.verdict]
        out.append(f"      <{tag} message={quoteattr(first)}>{escape(c.message)}</{tag}>")
        if c.stderr:
            out.append(f"      <system-err>{escape(c.stderr)}</system-err>")
        out.append("    </testcase>")
    out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
