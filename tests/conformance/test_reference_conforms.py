"""The protocol's promise to the reference: it passes in process and over the subprocess,
on suites the spec computed; the CLI reports and exits accordingly."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from reference.conformance_adapter import ReferenceImplementation
from tests.conformance.conftest import REF_INPROC, REF_SERVER, ROOT, small_cases
from zbudspec.cli import main
from zbudspec.conformance.runner import run_suite
from zbudspec.conformance.transport import SubprocessImplementation


def test_small_suite_exercises_every_result_kind() -> None:
    results = {json.dumps(s.result) for c in small_cases() for s in c.steps}
    for want in ('"OK"', '"ENOSPC"', '"EEXIST"', '"EINVAL"', '"EFAULT"', '"ENOMEM"', "null"):
        assert want in results


def test_reference_passes_in_process() -> None:
    r = run_suite(ReferenceImplementation, small_cases())
    assert [c.verdict for c in r.results] == ["pass", "pass"], [c.message for c in r.results]
    assert r.ops == sum(len(c.steps) for c in small_cases())


def test_reference_passes_over_the_protocol() -> None:
    r = run_suite(lambda: SubprocessImplementation(REF_SERVER, cwd=str(ROOT)), small_cases())
    assert [c.verdict for c in r.results] == ["pass", "pass"], [c.message for c in r.results]
    assert r.implementation.startswith("reference")


def test_cli_in_process_exit_0_and_reports(suite_dir: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    junit = tmp_path / "j.xml"
    code = main(["conformance", "--impl", REF_INPROC, "--suite", str(suite_dir),
                 "--junit", str(junit)], out, err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert "2 passed, 0 failed" in out.getvalue()
    tree = ET.parse(junit)
    assert tree.getroot().get("tests") == "2" and tree.getroot().get("failures") == "0"


def test_cli_subprocess_json_report(suite_dir: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["conformance", "--impl", "python -m reference.protocol_server", "--suite",
                 str(suite_dir), "--json"], out, err)
    assert code == 0, err.getvalue()
    data = json.loads(out.getvalue())
    assert data["totals"] == {"pass": 2, "fail": 0, "error": 0, "skip": 0}


def test_generated_suite_passes_in_process() -> None:
    gen = ROOT / "conformance" / "generated"
    if not gen.is_dir():
        return
    out, err = io.StringIO(), io.StringIO()
    code = main(["conformance", "--impl", REF_INPROC, "--suite", str(gen)], out, err)
    assert code == 0, out.getvalue()
    assert " 0 failed, 0 errors" in out.getvalue()


def test_usage_errors_exit_2(suite_dir: Path, tmp_path: Path) -> None:
    for argv in (["--impl", "python:no_such_module:make"],
                 ["--impl", "python:reference.conformance_adapter:nothing"],
                 ["--impl", "python:broken"],
                 ["--impl", "/no/such/program --flag"],
                 ["--impl", REF_INPROC, "--suite", str(tmp_path / "missing")],
                 ["--impl", "python -m reference.protocol_server", "--concurrent", "2"],
                 ["--impl", REF_INPROC, "--random", "-1"],
                 ["--suite", str(suite_dir)]):
        out, err = io.StringIO(), io.StringIO()
        assert main(["conformance", *argv], out, err) == 2, argv
        assert "Traceback" not in err.getvalue()


def test_bad_case_file_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"zbudspec_conformance": 1, "name": "x"}')
    out, err = io.StringIO(), io.StringIO()
    assert main(["conformance", "--impl", REF_INPROC, "--suite", str(tmp_path)], out, err) == 2
    assert "bad.json" in err.getvalue() and "missing `level`" in err.getvalue()
