"""Shared fixtures of the conformance tests: small suites built by the spec itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from zbudspec.conformance.cases import Case
from zbudspec.conformance.differential import RANDOM_PARAMS, Call, expected_case

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FAKE = HERE / "fake_impl.py"
REF_INPROC = "python:reference.conformance_adapter:make"
REF_SERVER = [sys.executable, "-m", "reference.protocol_server"]

ZSWAP_CALLS = [
    Call("zswap_frontswap_store", {"offset": 0, "dlen": 1, "tag": 1}),
    Call("zswap_frontswap_load", {"offset": 3}),  # never stored: null
    Call("zswap_frontswap_store", {"offset": 1, "dlen": 124, "tag": 0}),
    Call("zswap_frontswap_store", {"offset": 2, "dlen": 125, "tag": 1}),  # ENOSPC
    Call("zswap_frontswap_store", {"offset": 0, "dlen": 9, "tag": 0}),  # EEXIST
    Call("zswap_frontswap_load", {"offset": 0}),
    Call("zswap_frontswap_store", {"offset": 2, "dlen": 60, "tag": 1},
         {"compress": ("fail",)}),
    Call("zswap_frontswap_store", {"offset": 2, "dlen": 60, "tag": 1},
         {"swapcache": ("EXIST", "NEW")}),
    Call("zswap_frontswap_store", {"offset": 3, "dlen": 100, "tag": 1}),  # full: reclaim
    Call("zswap_frontswap_load", {"offset": 1}),
    Call("zbud_migrate_page", {"page": 0}),
    Call("zswap_frontswap_invalidate_page", {"offset": 2}),
    Call("zswap_frontswap_invalidate_area", {}),
]
ZBUD_CALLS = [
    Call("zbud_alloc", {"size": 0, "offset": 0}),
    Call("zbud_alloc", {"size": 3, "offset": 0}),
    Call("zbud_alloc", {"size": 50, "offset": 1}),
    Call("zbud_map", {"offset": 1}),
    Call("zbud_free", {"offset": 1}),
    Call("zbud_unmap", {"offset": 1}),
    Call("zbud_alloc", {"size": 10, "offset": 2}, {"alloc_page": ("fail",)}),
    Call("zbud_reclaim_page", {"retries": 2}),
    Call("zbud_get_pool_size", {}),
    Call("zbud_free_all", {}),
]


def small_cases() -> list[Case]:
    return [expected_case("zswap-mix", "zswap", RANDOM_PARAMS, ZSWAP_CALLS),
            expected_case("zbud-mix", "zbud", RANDOM_PARAMS, ZBUD_CALLS)]


@pytest.fixture(scope="session")
def suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from zbudspec.conformance.cases import dump_case

    d = tmp_path_factory.mktemp("suite")
    for c in small_cases():
        dump_case(c, d)
    return d


def fake(mode: str) -> list[str]:
    return [sys.executable, str(FAKE), mode]
