"""Every example in docs/language.md is true.

Each fenced ```zspec block is one test, named by its index, its kind and its first line of
code:

- a block whose first line is `// fragment` is appended to the doc's prelude block (the one
  whose first line starts with `// prelude`) and must check with no error;
- a block whose first line is `// error: ZBnnn` must produce that diagnostic code (as an error
  or a warning); if its second line is `// fragment` it is appended to the prelude first;
- any other block is a complete spec and must check with no error and no warning; if its
  first line is `// expect: no violation` or `// expect: violation[KIND]`, `zbudspec prove`
  must also give that answer.

Every example is written as a file in a copy of `spec/variants/`, so `variant of
"../zswap.zspec"` and `import "../zbud.zspec"` mean what they mean for the real variants.

Each ```console block whose first line is `$ zbudspec ...` is run in-process from the
repository root and its output must match (up to the timing in seconds).
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from zbudspec.cli import main
from zbudspec.pipeline import frontend
from zbudspec.semantics.lower import CheckResult, Options

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "language.md"

FENCE = re.compile(r"^```(\w+)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
ERROR = re.compile(r"^// error: (ZB\d{3})\s*$")
EXPECT = re.compile(r"^// expect: (no violation|violation\[(\w+)\])\s*$")
SECONDS = re.compile(r"\d+\.\d+s\b")


def _fenced(tag: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [body for t, body in FENCE.findall(text) if t == tag]


ZSPEC = _fenced("zspec")
CONSOLE = [b for b in _fenced("console") if b.startswith("$ zbudspec ")]
PRELUDES = [b for b in ZSPEC if b.startswith("// prelude")]


def _first_line(block: str) -> str:
    return block.split("\n", 1)[0]


def _id(i: int, block: str) -> str:
    """`07-fragment-ghost var busy: ...`: the index, the kind, the first line of code."""
    uncommented = re.sub(r"/\*.*?\*/", "", block, flags=re.S).splitlines()
    code = next((c for c in map(str.strip, uncommented) if c and not c.startswith("//")), "")
    marker = _first_line(block).strip()
    if marker.startswith(("// error:", "// expect:", "// fragment")):
        kind = marker[3:]
    elif marker.startswith("// prelude"):
        kind = "prelude"
    else:
        kind = "spec"
    return f"{i:02d}-{kind}-{code[:40]}"


def _write(tmp_path: Path, text: str) -> Path:
    """Write `text` as a variant file next to a copy of the real specs."""
    spec = tmp_path / "spec"
    (spec / "variants").mkdir(parents=True)
    for f in (ROOT / "spec").glob("*.zspec"):
        shutil.copy(f, spec / f.name)
    for f in (ROOT / "spec" / "variants").glob("*.zspec"):
        shutil.copy(f, spec / "variants" / f.name)
    path = spec / "variants" / "doc-example.zspec"
    path.write_text(text, encoding="utf-8")
    return path


def _wrapped(block: str) -> str:
    return PRELUDES[0] + "\n" + block


def _shown(result: CheckResult) -> list[str]:
    return [f"{d.code} {d.span}: {d.message}" for d in result.diagnostics]


def _check_default_config(path: Path, text: str) -> None:
    """`zbudspec check` ignores configs; `prove` selects `config default`: check it too."""
    if re.search(r"^(override )?config default\b", text, re.M):
        result = frontend(path, Options(config="default"))
        assert result.program is not None, _shown(result)
        assert all(d.code == "ZB021" for d in result.diagnostics), _shown(result)


def test_the_doc_has_examples_and_one_prelude() -> None:
    text = DOC.read_text(encoding="utf-8")
    # an indented fence would be skipped by the extraction above: forbid it
    assert len(re.findall(r"^[ \t>]*```zspec", text, re.M)) == len(ZSPEC)
    assert len(ZSPEC) >= 20, "every construct has an example"
    assert len(PRELUDES) == 1
    assert CONSOLE, "the counterexample section shows real `zbudspec prove` output"


@pytest.mark.parametrize("block", ZSPEC, ids=[_id(i, b) for i, b in enumerate(ZSPEC)])
def test_example(block: str, tmp_path: Path) -> None:
    lines = [line.strip() for line in block.split("\n")]
    first = lines[0]
    err = ERROR.match(first)
    if err:
        code = err.group(1)
        text = _wrapped(block) if lines[1:2] == ["// fragment"] else block
        result = frontend(_write(tmp_path, text), Options())
        got = {d.code for d in result.diagnostics}
        assert code in got, f"expected {code}; got {_shown(result)}"
        return
    if first == "// fragment":
        path = _write(tmp_path, _wrapped(block))
        result = frontend(path, Options())
        assert result.program is not None, _shown(result)
        # unused-name warnings about the prelude are expected once a fragment has a client
        others = [d for d in result.diagnostics if d.code != "ZB021"]
        assert not others, _shown(result)
        _check_default_config(path, block)
        return
    path = _write(tmp_path, block)
    result = frontend(path, Options())
    assert result.program is not None, _shown(result)
    assert not result.diagnostics, _shown(result)
    _check_default_config(path, block)
    exp = EXPECT.match(first)
    if exp:
        out = io.StringIO()
        status = main(["prove", str(path)], out, out)
        report = out.getvalue()
        if exp.group(2) is None:
            assert status == 0, report
            assert "PROVED" in report or "NO VIOLATION" in report, report
        else:
            assert status == 1, report
            assert f"violation[{exp.group(2)}]" in report, report


@pytest.mark.parametrize("block", CONSOLE, ids=[_first_line(b)[2:60] for b in CONSOLE])
def test_console_output(block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    command, _, shown = block.partition("\n")
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    main(shlex.split(command[2:])[1:], out, out)
    got = SECONDS.sub("<t>s", out.getvalue()).rstrip()
    want = SECONDS.sub("<t>s", shown).rstrip()
    assert got == want
