"""The front end in one call: load, parse, check, lower. Also where the bundled spec lives."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from zbudspec.semantics.loader import load
from zbudspec.semantics.lower import CheckResult, Options, check

BUNDLED_NAME = "zswap.zspec"


def bundled_spec() -> Path:
    """The bundled v3 spec (`spec/zswap.zspec`), wherever the package is installed."""
    return Path(str(resources.files("zbudspec.spec").joinpath(BUNDLED_NAME)))


def bundled_variants() -> list[Path]:
    root = Path(str(resources.files("zbudspec.spec").joinpath("variants")))
    return sorted(root.glob("*.zspec"))


def frontend(path: str | Path, options: Options | None = None) -> CheckResult:
    return check(load(path), options)
