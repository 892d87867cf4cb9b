"""Golden diagnostics of the checker (in the style of mypy's check-*.test files), the
rendered form of a diagnostic, and `zbudspec check` on the command line.

Every `tests/diagnostics/*.zspec` is checked (files whose name starts with `_` are helpers:
a variant's base, imported files). A line that must get a diagnostic carries a marker:

    pages_nr = page_nr + 1;   // E: ZB010 unknown name `page_nr` | did you mean `pages_nr`
    local pages_nr: 0..3;      // W: ZB011
    L2: skip;                  // E: ZB023  W: ZB020

`E:` is an error and `W:` a warning; one or more codes follow (`E: ZB010 ZB012`), then an
optional message fragment: its `|`-separated parts must each occur in the message or hint of
every diagnostic of that segment. Markers are read from every file the check loaded, so an
import cycle reported inside a helper is marked in the helper. Expected and reported
(file, line, severity, code) are compared as multisets: a missing, extra or duplicated
diagnostic fails with a readable diff.

Header lines:
    // options: -D NAME=VALUE --config NAME   (checker options; diagnostics about the
                                                command line belong to this line)
    // xfail: BUG: ...                         (a known checker bug: strict xfail)

To see what the checker reports for a file, with the markers it would need:
    .venv/bin/python tests/test_diagnostics.py --show tests/diagnostics/names.zspec
"""

from __future__ import annotations

import io
import os
import re
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from zbudspec.cli import main
from zbudspec.diagnostics import CODES, Diagnostic, render
from zbudspec.pipeline import frontend
from zbudspec.semantics.lower import CheckResult, Options

TESTS = Path(__file__).resolve().parent
DIAG_DIR = TESTS / "diagnostics"
REPO = TESTS.parent
REAL_SPECS = sorted([*REPO.glob("spec/*.zspec"), *REPO.glob("spec/variants/*.zspec")])
COMMAND_LINE = "<command line>"

_MARKER = re.compile(r"//\s*(?=[EW]:\s*ZB\d)(.*)$")
_SEGMENT = re.compile(r"(?:^|\s)([EW]):\s*(?=ZB\d)")
_CODE = re.compile(r"ZB\d{3}\b")
_OPTIONS = re.compile(r"^\s*//\s*options:\s*(.*)$")
_XFAIL = re.compile(r"^\s*//\s*xfail:\s*(.*)$")


# ---- expectations


@dataclass(frozen=True)
class Expect:
    file: str  # relative to tests/diagnostics
    line: int
    severity: str  # "E" or "W"
    code: str
    fragment: str = ""

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.severity, self.code)


@dataclass(frozen=True)
class Case:
    path: Path
    options: Options
    options_line: int
    xfail: str | None

    @property
    def name(self) -> str:
        return self.path.name


def rel(file: str) -> str:
    """A diagnostic's file, relative to tests/diagnostics (normalised: `a/../a/x` is `x`)."""
    return os.path.relpath(Path(file).resolve(), DIAG_DIR)


def parse_markers(file: str, text: str) -> list[Expect]:
    out: list[Expect] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _MARKER.search(line)
        if not m:
            continue
        parts = _SEGMENT.split(m.group(1))
        # parts: ['', 'E', 'ZB010 fragment ', 'W', 'ZB021 ...']
        for sev, body in zip(parts[1::2], parts[2::2], strict=True):
            codes: list[str] = []
            rest = body.strip()
            while (cm := _CODE.match(rest)) is not None:
                codes.append(cm.group())
                rest = rest[cm.end():].strip()
            for code in codes:
                out.append(Expect(rel(file), lineno, sev, code, rest))
    return out


def _first_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[:5]


def load_case(path: Path) -> Case:
    overrides: list[tuple[str, str]] = []
    config: str | None = None
    threads: int | None = None
    options_line = 1
    xfail: str | None = None
    for lineno, line in enumerate(_first_lines(path), 1):
        if m := _OPTIONS.match(line):
            options_line = lineno
            words = shlex.split(m.group(1).split("//")[0])
            i = 0
            while i < len(words):
                w = words[i]
                if w == "-D":
                    name, _, value = words[i + 1].partition("=")
                    overrides.append((name, value))
                    i += 2
                elif w == "--config":
                    config = words[i + 1]
                    i += 2
                elif w == "--threads":
                    threads = int(words[i + 1])
                    i += 2
                else:
                    raise ValueError(f"{path}:{lineno}: unknown option {w!r}")
        elif m := _XFAIL.match(line):
            xfail = m.group(1).strip()
    return Case(path, Options(tuple(overrides), config, threads), options_line, xfail)


def run_case(case: Case) -> CheckResult:
    return frontend(str(case.path), case.options)


def actual_key(case: Case, d: Diagnostic) -> tuple[str, int, str, str]:
    sev = "E" if d.is_error else "W"
    if d.span.file == COMMAND_LINE:
        return (rel(str(case.path)), case.options_line, sev, d.code)
    return (rel(d.span.file), d.span.line, sev, d.code)


def expectations(case: Case, result: CheckResult) -> list[Expect]:
    files = {str(case.path): case.path.read_text(encoding="utf-8")}
    for f, text in result.sources.items():
        files.setdefault(f, text)
    seen: set[str] = set()
    out: list[Expect] = []
    for f, text in files.items():
        r = rel(f)
        if r in seen:
            continue
        seen.add(r)
        out.extend(parse_markers(f, text))
    return out


def _describe(key: tuple[str, int, str, str], extra: str = "") -> str:
    file, line, sev, code = key
    return f"    {file}:{line}: {sev}: {code}{extra}"


def compare(case: Case, result: CheckResult) -> list[str]:
    """The differences between markers and diagnostics, as readable lines (empty: equal)."""
    want = expectations(case, result)
    got = [(actual_key(case, d), d) for d in result.diagnostics]
    missing = Counter(e.key for e in want) - Counter(k for k, _ in got)
    extra = Counter(k for k, _ in got) - Counter(e.key for e in want)
    problems: list[str] = []
    if missing:
        problems.append("  expected, not reported:")
        for key in sorted(missing.elements()):
            frag = next((e.fragment for e in want if e.key == key and e.fragment), "")
            problems.append(_describe(key, f"  ({frag})" if frag else ""))
    if extra:
        problems.append("  reported, not expected:")
        for key in sorted(extra.elements()):
            msgs = [d for k, d in got if k == key]
            problems.append(_describe(key, f"  {msgs[0].message}"))
    for e in want:
        if not e.fragment:
            continue
        cands = [d for k, d in got if k == e.key]
        if not cands:
            continue  # already listed as missing
        parts = [p.strip() for p in e.fragment.split("|") if p.strip()]
        if not any(all(p in f"{d.message}\n{d.hint or ''}" for p in parts) for d in cands):
            shown = "; ".join(f"{d.message} (hint: {d.hint})" for d in cands)
            problems.append(f"  message mismatch at {e.file}:{e.line} {e.code}: "
                            f"wanted {e.fragment!r}, got {shown!r}")
    return problems


def golden_cases() -> list[Path]:
    return sorted(p for p in DIAG_DIR.glob("*.zspec") if not p.name.startswith("_"))


def _params() -> list[object]:
    out: list[object] = []
    for p in golden_cases():
        case = load_case(p)
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=p.name, marks=marks))
    return out


# ---- golden files


@pytest.mark.parametrize("case", _params())
def test_golden(case: Case) -> None:
    result = run_case(case)
    problems = compare(case, result)
    if problems:
        rendered = "\n".join(render(d, result.sources) for d in result.diagnostics)
        pytest.fail(f"{case.name}: diagnostics differ from the markers\n"
                    + "\n".join(problems)
                    + f"\n\nall diagnostics reported:\n{rendered or '(none)'}", pytrace=False)
    if result.program is not None:
        assert not any(d.is_error for d in result.diagnostics)


def _all_expectations(include_xfail: bool) -> list[Expect]:
    out: list[Expect] = []
    for p in golden_cases():
        case = load_case(p)
        if case.xfail and not include_xfail:
            continue
        out.extend(parse_markers(str(p), p.read_text(encoding="utf-8")))
        for helper in DIAG_DIR.glob("_*.zspec"):
            text = helper.read_text(encoding="utf-8")
            if helper.stem in p.read_text(encoding="utf-8"):
                out.extend(parse_markers(str(helper), text))
    return out


def test_every_user_code_has_a_passing_golden_case() -> None:
    covered = {e.code for e in _all_expectations(include_xfail=False)}
    missing = sorted(set(CODES) - {"ZB999"} - covered)
    assert not missing, f"codes without a (non-xfail) golden case: {missing}"


def test_markers_name_known_codes_only() -> None:
    unknown = {e.code for e in _all_expectations(include_xfail=True)} - set(CODES)
    assert not unknown


def test_helpers_have_no_stray_markers() -> None:
    # `_base.zspec` is loaded by several variants: a marker there would be expected by all.
    base = DIAG_DIR / "_base.zspec"
    assert parse_markers(str(base), base.read_text(encoding="utf-8")) == []
    assert frontend(str(base)).diagnostics == []


@pytest.mark.parametrize("spec", REAL_SPECS, ids=lambda p: str(p.relative_to(REPO)))
def test_real_specs_are_clean(spec: Path) -> None:
    result = frontend(str(spec))
    assert result.program is not None
    assert [render(d, result.sources) for d in result.diagnostics] == []


def test_marker_parser() -> None:
    text = ("lock pool_lock;\n"
            "  x = y;  // E: ZB010 ZB012\n"
            "  L2: skip;  // E: ZB023 label `L2` | a `for`  W: ZB020\n"
            "  // a comment with E: in it, not a marker\n")
    got = parse_markers(str(DIAG_DIR / "t.zspec"), text)
    assert [(e.line, e.severity, e.code, e.fragment) for e in got] == [
        (2, "E", "ZB010", ""), (2, "E", "ZB012", ""),
        (3, "E", "ZB023", "label `L2` | a `for`"), (3, "W", "ZB020", "")]


# ---- the rendered form


def _write(tmp_path: Path, text: str, name: str = "zbud.zspec") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


ALLOC = """\
lock pool_lock;
var pages_nr: 0..3 = 0;
op zbud_alloc() {
A1:
  spin_lock(pool_lock);
  pages_nr = page_nr + 1;
  spin_unlock(pool_lock);
}
"""


def test_render_unknown_name_with_hint(tmp_path: Path) -> None:
    p = _write(tmp_path, ALLOC)
    result = frontend(str(p))
    [d] = result.diagnostics
    assert render(d, result.sources) == (
        f"{p}:6:14: error[ZB010]: unknown name `page_nr`\n"
        "    6 |   pages_nr = page_nr + 1;\n"
        "                     ^^^^^^^\n"
        "  hint: did you mean `pages_nr`?")


def test_render_type_mismatch_caret_under_the_operand(tmp_path: Path) -> None:
    p = _write(tmp_path, ALLOC.replace("page_nr + 1", "pages_nr + true"))
    result = frontend(str(p))
    [d] = result.diagnostics
    assert d.code == "ZB012"
    text = render(d, result.sources)
    head, src, caret = text.splitlines()
    assert head == f"{p}:6:25: error[ZB012]: `+` needs integers, found bool"
    assert src == "    6 |   pages_nr = pages_nr + true;"
    # the caret sits under `true`, exactly as wide
    assert caret.index("^") == src.index("true") and caret.strip() == "^^^^"


def test_render_warning_and_missing_return_at_closing_brace(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
var pages_nr: 0..3 = 0;
proc zbud_get_pool_size() -> 0..3 {
  local n: 0..3 = 0;
  if (pages_nr > 0) {
    return pages_nr;
  }
}
op f() {
  local r: 0..3 = 0;
F1:
  r = zbud_get_pool_size();
}
client { ops f; }
""")
    result = frontend(str(p))
    texts = [render(d, result.sources) for d in result.diagnostics]
    assert texts == [
        f"{p}:3:3: warning[ZB021]: local `n` is never used\n"
        "    3 |   local n: 0..3 = 0;\n"
        "          ^^^^^^^^^^^^^^^^^^",
        f"{p}:7:1: error[ZB028]: `zbud_get_pool_size` can reach its end without returning a "
        "0..3\n"
        "    7 | }\n"
        "        ^",
    ]


def test_render_syntax_error_expected_text(tmp_path: Path) -> None:
    p = _write(tmp_path, "lock pool_lock\nvar pages_nr: 0..3 = 0;\n")
    result = frontend(str(p))
    [d] = result.diagnostics
    assert d.code == "ZB001"
    text = render(d, result.sources)
    assert text.startswith(f"{p}:2:1: error[ZB001]: unexpected `var`; expected `;`")
    assert text.splitlines()[1:] == ["    2 | var pages_nr: 0..3 = 0;", "        ^^^"]


def test_render_tab_indented_line_keeps_the_caret_aligned(tmp_path: Path) -> None:
    p = _write(tmp_path, ALLOC.replace("  pages_nr = page_nr", "\tpages_nr = page_nr"))
    result = frontend(str(p))
    [d] = result.diagnostics
    _, src, caret = render(d, result.sources).splitlines()[:3]
    assert d.span.col == 13
    assert caret.index("^") == src.index("page_nr ")


def test_render_without_source_is_one_line() -> None:
    result = frontend(str(DIAG_DIR / "no-such-file.zspec"))
    [d] = result.diagnostics
    assert d.code == "ZB003"
    assert render(d, result.sources).count("\n") == 0


def test_render_form_feed_in_a_comment_shows_the_right_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "// ---- zbud pool\x0c\n" + ALLOC)
    result = frontend(str(p))
    [d] = result.diagnostics
    assert d.span.line == 7
    assert render(d, result.sources).splitlines()[1] == "    7 |   pages_nr = page_nr + 1;"


# ---- bugs best shown outside a golden file


def _check(path: Path, *defines: str) -> CheckResult:
    overrides = tuple(tuple(d.split("=", 1)) for d in defines)
    return frontend(str(path), Options(overrides))  # type: ignore[arg-type]


def test_invalid_escape_in_a_string_is_a_diagnostic(tmp_path: Path) -> None:
    p = _write(tmp_path, ALLOC.replace("  spin_unlock(pool_lock);",
                                       '  assert pages_nr <= 3, "bad \\x escape";\n'
                                       "  spin_unlock(pool_lock);").replace("page_nr +",
                                                                           "pages_nr +"))
    result = frontend(str(p))  # must not raise
    assert [d.code for d in result.diagnostics] in ([], ["ZB001"], ["ZB002"])


def test_non_ascii_import_path(tmp_path: Path) -> None:
    _write(tmp_path, "lock pool_lock;\n", "pagés.zspec")
    p = _write(tmp_path, 'import "pagés.zspec";\n')
    assert frontend(str(p)).diagnostics == []


def test_self_import_through_dotdot_is_a_cycle(tmp_path: Path) -> None:
    d = tmp_path / "zbud"
    d.mkdir()
    p = _write(d, 'import "../zbud/pool.zspec";\nlock pool_lock;\n', "pool.zspec")
    result = frontend(str(p))  # must not raise
    assert [d.code for d in result.diagnostics] == ["ZB003"]
    assert "import cycle" in result.diagnostics[0].message


def test_same_file_under_two_paths_is_imported_once(tmp_path: Path) -> None:
    d = tmp_path / "zswap"
    d.mkdir()
    _write(d, "lock pool_lock;\nvar pages_nr: 0..3 = 0;\n", "zbud.zspec")
    p = _write(d, 'import "zbud.zspec";\nimport "../zswap/zbud.zspec";\n', "zswap.zspec")
    assert frontend(str(p)).diagnostics == []


PARAMS = """\
enum Slot { FIRST, LAST }
param SWAPCACHE_PIN: bool = true;
param START_SLOT: Slot = FIRST;
param NPAGES: 1..8 = 3;
var pages_nr: 0..NPAGES = 0;
var pinned: bool = SWAPCACHE_PIN;
var slot: Slot = START_SLOT;
"""


@pytest.mark.parametrize("define", ["SWAPCACHE_PIN=7", "START_SLOT=EINVAL", "START_SLOT=3",
                                    "START_SLOT=true"])
def test_define_of_the_wrong_kind_is_zb004(tmp_path: Path, define: str) -> None:
    p = _write(tmp_path, PARAMS)
    result = _check(p, define)
    assert [(d.code, d.span.file) for d in result.diagnostics] == [("ZB004", COMMAND_LINE)]


def test_define_message_shows_spec_values(tmp_path: Path) -> None:
    p = _write(tmp_path, PARAMS)
    [d] = _check(p, "NPAGES=true").diagnostics
    assert d.code == "ZB004" and "True" not in d.message


def test_define_on_the_real_spec(tmp_path: Path) -> None:
    zbud = REPO / "spec" / "zbud.zspec"
    assert _check(zbud, "PAGE_SHIFT=4", "NCHUNKS_ORDER=2", "NPAGES=2").diagnostics == []
    [d] = _check(zbud, "NPAGES=9").diagnostics
    assert (d.code, d.span.file) == ("ZB004", COMMAND_LINE)
    assert "outside its type 1..8" in d.message


def test_negative_shift_from_defines_on_the_real_spec() -> None:
    zbud = REPO / "spec" / "zbud.zspec"
    result = _check(zbud, "PAGE_SHIFT=2", "NCHUNKS_ORDER=6")  # must not raise
    assert "ZB017" in [d.code for d in result.diagnostics]
    rc, _, err = run_cli("check", "-D", "PAGE_SHIFT=2", "-D", "NCHUNKS_ORDER=6", str(zbud))
    assert rc == 2 and "error[ZB017]" in err and "internal error" not in err


CONFIGS = """\
param NPAGES: 1..8 = 3;
const NCHUNKS = 16;
var pages_nr: 0..NPAGES = 0;
op zbud_alloc() {
A1:
  pages_nr = NCHUNKS - NCHUNKS;
}
client { ops zbud_alloc; }
config default {
  threads 2;
  NPAGE = 2;
}
"""


def test_config_item_naming_no_param_is_zb004_when_selected(tmp_path: Path) -> None:
    p = _write(tmp_path, CONFIGS)
    result = frontend(str(p), Options(config="default"))
    [d] = result.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("ZB004", 11, 3)
    assert "no parameter named `NPAGE`" in d.message and d.hint == "did you mean `NPAGES`?"


def test_config_item_message_does_not_mention_define(tmp_path: Path) -> None:
    # (it once said "`-D NPAGE`" for a config item)
    p = _write(tmp_path, CONFIGS)
    [d] = frontend(str(p), Options(config="default")).diagnostics
    assert "-D" not in d.message and "config `default`" in d.message


def test_check_reports_a_broken_default_config(tmp_path: Path) -> None:
    # `check` selects no config but checks them all, so what `prove` would reject when it
    # selects `default` is already an error here
    p = _write(tmp_path, CONFIGS)
    rc, out, err = run_cli("check", str(p))
    assert rc == 2 and out == ""
    assert f"{p}:11:3: error[ZB030]: config `default` sets `NPAGE`" in err


def test_prove_rejects_the_broken_default_config(tmp_path: Path) -> None:
    p = _write(tmp_path, CONFIGS)
    rc, _, err = run_cli("prove", str(p), "--depth", "1")
    assert rc == 2
    assert re.search(r":11:3: error\[ZB0(04|30)\]: config `default` sets `NPAGE`", err), err


def test_override_kind_messages_use_spec_words() -> None:
    result = frontend(str(DIAG_DIR / "variant_override.zspec"))
    msgs = [f"{d.message} {d.hint}" for d in result.diagnostics if d.code == "ZB029"]
    assert msgs
    # (they once named internal classes: `override FnDecl zbud_free`, "a VarDecl")
    assert not [m for m in msgs if "Decl" in m or " a op" in m], msgs


def test_syntax_error_expects_only_possible_tokens(tmp_path: Path) -> None:
    p = _write(tmp_path, "const NPAGES = 3\nvar pages_nr: 0..NPAGES = 0;\n")
    [d] = frontend(str(p)).diagnostics
    assert d.code == "ZB001" and "`;`" in d.message
    for impossible in ("`)`", "`:`", "`->`", "`,`"):
        assert impossible not in d.message


def test_long_conjunction_does_not_crash(tmp_path: Path) -> None:
    conj = " && ".join(["pages_nr >= 0"] * 1000)
    p = _write(tmp_path, f"var pages_nr: 0..3 = 0;\ninvariant many: {conj};\n")
    rc, _, err = run_cli("check", str(p))
    assert rc in (0, 2) and "internal error" not in err


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "zbud.zspec"
    p.write_bytes(b"\xef\xbb\xbf" + WARN_ONLY.encode())
    assert [d.code for d in frontend(str(p)).diagnostics] == ["ZB021"]


def test_unexpected_control_character_is_shown_visibly(tmp_path: Path) -> None:
    p = _write(tmp_path, "lock pool_lock;\x00\n")
    [d] = frontend(str(p)).diagnostics
    assert d.code == "ZB002" and (d.span.line, d.span.col) == (1, 16)
    assert d.message.isprintable(), repr(d.message)


# ---- the command line: zbudspec check


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


CLEAN = DIAG_DIR / "clean_pool.zspec"


def test_cli_check_clean_file() -> None:
    rc, out, err = run_cli("check", str(CLEAN))
    assert rc == 0
    assert out.strip() == f"{CLEAN}: ok (3 operations, 0 warning(s))"
    assert err == ""


@pytest.mark.parametrize("spec", REAL_SPECS, ids=lambda p: str(p.relative_to(REPO)))
def test_cli_check_real_specs(spec: Path) -> None:
    rc, out, err = run_cli("check", str(spec))
    assert (rc, err) == (0, "")
    assert out.startswith(f"{spec}: ok (")


def test_cli_check_bad_file_prints_rendered_diagnostics(tmp_path: Path) -> None:
    p = _write(tmp_path, ALLOC)
    rc, out, err = run_cli("check", str(p))
    assert rc == 2
    assert out == ""
    result = frontend(str(p))
    assert err == "".join(render(d, result.sources) + "\n" for d in result.diagnostics)
    assert err.startswith(f"{p}:6:14: error[ZB010]: unknown name `page_nr`\n")


def test_cli_check_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.zspec"
    rc, out, err = run_cli("check", str(missing))
    assert rc == 2
    assert out == ""
    assert f"{missing}:1:1: error[ZB003]: cannot read `{missing}`" in err
    assert "Traceback" not in err and "internal error" not in err


def test_cli_check_directory_is_zb003(tmp_path: Path) -> None:
    rc, _, err = run_cli("check", str(tmp_path))
    assert rc == 2 and "error[ZB003]" in err and "Traceback" not in err


def test_cli_check_several_files_reports_each(tmp_path: Path) -> None:
    bad = _write(tmp_path, ALLOC)
    rc, out, err = run_cli("check", str(CLEAN), str(bad))
    assert rc == 2
    assert f"{CLEAN}: ok" in out and str(bad) not in out
    assert "error[ZB010]" in err


WARN_ONLY = """\
lock pool_lock;
var pages_nr: 0..3 = 0;
op zbud_alloc() {
  local unused_chunks: 0..3 = 0;
A1:
  spin_lock(pool_lock);
  pages_nr = 1;
  spin_unlock(pool_lock);
}
client { ops zbud_alloc; }
"""


def test_cli_check_warnings_pass_without_the_flag(tmp_path: Path) -> None:
    p = _write(tmp_path, WARN_ONLY)
    rc, out, err = run_cli("check", str(p))
    assert rc == 0
    assert out.strip() == f"{p}: ok (1 operations, 1 warning(s))"
    assert f"{p}:4:3: warning[ZB021]: local `unused_chunks` is never used" in err


def test_cli_check_warnings_as_errors(tmp_path: Path) -> None:
    p = _write(tmp_path, WARN_ONLY)
    rc, out, err = run_cli("check", "--warnings-as-errors", str(p))
    assert rc == 2
    assert "ok" not in out
    assert "warning[ZB021]" in err
    assert run_cli("check", "--warnings-as-errors", str(CLEAN))[0] == 0


def test_cli_check_define(tmp_path: Path) -> None:
    zbud = REPO / "spec" / "zbud.zspec"
    assert run_cli("check", "-D", "NPAGES=2", str(zbud))[0] == 0
    rc, _, err = run_cli("check", "-D", "NPAGE=2", str(zbud))
    assert rc == 2
    assert "<command line>:1:1: error[ZB004]: " in err
    assert "no parameter named `NPAGE`" in err
    assert "hint: did you mean `NPAGES`?" in err
    rc, _, err = run_cli("check", "-D", "NPAGES", str(zbud))
    assert rc == 2 and "expected NAME=VALUE" in err


def test_cli_check_usage_errors_exit_2() -> None:
    assert run_cli("check")[0] == 2
    rc, _, err = run_cli("check", "--no-such-flag", str(CLEAN))
    assert rc == 2 and "Traceback" not in err


# ---- --show: what the checker reports, with the markers it would need


def show(path: Path) -> str:
    case = load_case(path)
    try:
        result = run_case(case)
    except Exception:
        import traceback

        return f"{path}: the checker raised (a bug):\n{traceback.format_exc()}"
    lines = [render(d, result.sources) for d in result.diagnostics]
    by_line: dict[tuple[str, int], list[str]] = {}
    for d in result.diagnostics:
        file, line, sev, code = actual_key(case, d)
        by_line.setdefault((file, line), []).append(f"{sev}: {code}")
    lines.append("")
    lines.append("markers the reported diagnostics need:")
    for (file, line), marks in sorted(by_line.items()):
        target = (DIAG_DIR / file)
        src = target.read_text(encoding="utf-8").splitlines() if target.exists() else []
        text = src[line - 1].rstrip() if 0 < line <= len(src) else ""
        text = _MARKER.sub("", text).rstrip()
        lines.append(f"{file}:{line}: {text}  // {'  '.join(marks)}")
    problems = compare(case, result)
    lines.append("")
    lines.append("markers match" if not problems else "differences:\n" + "\n".join(problems))
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--show":
        print("usage: python tests/test_diagnostics.py --show FILE...", file=sys.stderr)
        sys.exit(2)
    for f in args[1:]:
        print(show(Path(f).resolve()))
