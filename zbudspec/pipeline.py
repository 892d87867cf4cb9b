"""The front end in one call: load, parse, check, lower. Also where the bundled spec lives."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from zbudspec.diagnostics import error
from zbudspec.semantics.loader import load
from zbudspec.semantics.lower import CheckResult, Options, check
from zbudspec.syntax.ast import Span

BUNDLED_NAME = "zswap.zspec"


def bundled_spec() -> Path:
    """The bundled v3 spec (`spec/zswap.zspec`), wherever the package is installed."""
    return Path(str(resources.files("zbudspec.spec").joinpath(BUNDLED_NAME)))


def bundled_variants() -> list[Path]:
    root = Path(str(resources.files("zbudspec.spec").joinpath("variants")))
    return sorted(root.glob("*.zspec"))


NESTING_LIMIT = 20_000


def frontend(path: str | Path, options: Options | None = None) -> CheckResult:
    """Load and check one spec. Deeply nested expressions (a long `&&` chain is a nest of
    binary nodes) get room on the stack; past that, a diagnostic, never a crash."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, NESTING_LIMIT))
    try:
        return check(load(path), options)
    except RecursionError:
        span = Span(str(path), 1, 1, 1, 1)
        return CheckResult(None, [error("ZB001", "the spec nests expressions or statements "
                                        "too deeply to check", span)], {})
    finally:
        sys.setrecursionlimit(old)
