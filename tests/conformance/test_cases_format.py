"""The case format: deterministic round trips, clear errors naming the file and the
expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.conftest import small_cases
from zbudspec.conformance.cases import (
    CaseError,
    dump_case,
    dumps_case,
    load_case,
    load_suite,
)


def test_round_trip_is_identical_and_deterministic(tmp_path: Path) -> None:
    for case in small_cases():
        path = dump_case(case, tmp_path)
        again = load_case(path)
        assert dumps_case(again) == path.read_text() == dumps_case(case)
        assert again.steps == case.steps
    assert [c.name for c in load_suite(tmp_path).cases] == ["zbud-mix", "zswap-mix"]


def test_metadata_files_are_not_cases(tmp_path: Path) -> None:
    dump_case(small_cases()[0], tmp_path)
    (tmp_path / "_coverage.json").write_text("[1, 2]")
    assert len(load_suite(tmp_path).cases) == 1


def _bad(tmp_path: Path, text: str) -> str:
    (tmp_path / "c.json").write_text(text)
    with pytest.raises(CaseError) as exc:
        load_suite(tmp_path)
    return str(exc.value)


@pytest.mark.parametrize("text, words", [
    ("{", ["c.json:1:2", "not JSON"]),
    ("[]", ["expected a JSON object"]),
    ('{"zbudspec_conformance": 2}', ["version 1"]),
    ('{"zbudspec_conformance": 1, "name": 3}', ["`name` must be a string, got 3"]),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zram", "steps": []}',
     ["`level` must be one of zswap, zbud"]),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zbud", "steps": [{"op": "zbud_free"}]}',
     ["step 1: missing `thread`"]),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zbud", "steps": '
     '[{"thread": 0, "op": "zbud_free", "args": {}}]}', ["step 1: missing `result`"]),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zbud", "steps": [{"thread": 0, '
     '"op": "zbud_free", "result": "OK", "env": {"weather": ["sun"]}}]}',
     ["unknown environment control `weather`"]),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zbud", "steps": [{"thread": 0, '
     '"op": "zbud_free", "result": "OK", "env": {"swapcache": ["MAYBE"]}}]}',
     ['`env.swapcache` must be an array of "NEW", "EXIST", "FAIL"']),
    ('{"zbudspec_conformance": 1, "name": "x", "level": "zbud", "steps": [{"thread": 1, '
     '"op": "zbud_free", "result": "OK"}]}', ["thread 1, but the case has 1 thread"]),
])
def test_bad_files(tmp_path: Path, text: str, words: list[str]) -> None:
    msg = _bad(tmp_path, text)
    assert "c.json" in msg
    for w in words:
        assert w in msg, msg


def test_duplicate_names(tmp_path: Path) -> None:
    case = small_cases()[0]
    dump_case(case, tmp_path / "a")
    dump_case(case, tmp_path / "b")
    with pytest.raises(CaseError, match="also used by"):
        load_suite(tmp_path)
