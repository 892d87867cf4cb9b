"""Fuzzing `zbudspec check`: whatever the text, the checker answers with diagnostics.

Properties, each over a bounded number of hypothesis examples:
(a) text generated from the real grammar (`hypothesis.extra.lark.from_lark` on the Lark object
    the parser uses) parses, and `check` on it exits 0 or 2 without a traceback;
(b) mutations of the real spec files (delete, duplicate or swap lines, delete a token or a
    character, replace an identifier by another from the file, change a number, duplicate a
    token), checked directly or through the file that imports or varies them;
(c) `-D NAME=VALUE` overrides of the real specs' parameters with any value.
"Never crashes" means: exit code 0 or 2 (never 70), no "internal error", no "Traceback", no
ZB999, and a diagnostic on stderr whenever the exit code is 2.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark.lexer import PatternStr

from zbudspec.cli import main
from zbudspec.syntax.parser import _parser, parse

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "spec"
SPEC_FILES = ["zbud.zspec", "zswap.zspec", "variants/accept-duplicates.zspec",
              "variants/no-mapcount.zspec"]
# who imports or varies a file: a mutant of zbud.zspec is also checked through zswap.zspec
DEPENDENTS = {"zbud.zspec": "zswap.zspec", "zswap.zspec": "variants/no-mapcount.zspec"}
TEXTS = {f: (SPEC / f).read_text(encoding="utf-8") for f in SPEC_FILES}

# Derandomized and without a database: the same examples on every run and machine, so a
# strict xfail stays strict. No shrinking: a mutant is a few (kind, index, index) triples
# already, and shrinking through `check` runs would take minutes; the bounds keep the file
# under a minute on two cores, failing or not.
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
FUZZ_CHECK = settings(FUZZ, max_examples=100)


def assert_no_crash(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out, err)
    text = err.getvalue()
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    assert "ZB999" not in text, text
    assert rc in (0, 2), (rc, text)
    if rc == 2:
        assert text.strip(), "exit 2 without a diagnostic"
    else:
        assert ": ok (" in out.getvalue()
    return rc, out.getvalue(), text


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="zbudspec-fuzz-") as d:
        yield Path(d)


def fresh_copy(workdir: Path) -> Path:
    """A private copy of spec/ (imports and `variant of` resolve inside it)."""
    dst = Path(tempfile.mkdtemp(dir=workdir))
    for f in SPEC_FILES:
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SPEC / f, dst / f)
    return dst


# ---- (a) grammar-generated text

NAMES = ["pool_lock", "pages_nr", "first_chunks", "unbuddied", "buddied", "lru", "map_count",
         "zbud_alloc", "zbud_free", "Page", "Slot", "Buddy", "FIRST", "LAST", "OK", "ENOENT",
         "Thread", "Errno", "NCHUNKS", "p", "x", "A1", "R2", "len", "unwrap", "held", "holder",
         "at", "local", "idle", "list_add", "list_del", "min", "is_some"]
STRINGS = ['"zbud.zspec"', '"zswap.zspec"', '"gen.zspec"', '"missing.zspec"', '"msg"',
           '"a \\"quoted\\" message"']


def _grammar_strategy(comments: bool) -> st.SearchStrategy[str]:
    lk = _parser()
    regex = {
        "NAME": st.sampled_from(NAMES),
        "INT": st.integers(0, 70).map(str),
        "STRING": st.sampled_from(STRINGS),
        "COMPOP": st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        "ADDOP": st.sampled_from(["+", "-", "|", "&", "^"]),
        "MULOP": st.sampled_from(["*", "/", "%", "<<", ">>"]),
        "QUANT": st.sampled_from(["forall", "exists", "count", "find"]),
    }
    explicit: dict[str, st.SearchStrategy[str]] = {}
    for t in lk.terminals:
        if t.name in regex:
            explicit[t.name] = regex[t.name].map(lambda s: s + " ")
        elif isinstance(t.pattern, PatternStr):
            explicit[t.name] = st.just(t.pattern.value + " ")
    # the tokens are padded with a space; the ignored terminals are drawn between them
    explicit["WS"] = st.sampled_from([" ", "\n", "\t"])
    explicit["COMMENT"] = st.just("// zbud\n") if comments else st.just("\n")
    explicit["BLOCK_COMMENT"] = st.just("/* buddy */ ") if comments else st.just(" ")
    unknown = [t.name for t in lk.terminals if t.name not in explicit]
    assert not unknown, f"terminals without a strategy: {unknown}"
    return from_lark(lk, start="start", explicit=explicit)


@FUZZ
@given(text=_grammar_strategy(comments=False))
def test_grammar_text_parses(text: str) -> None:
    module, diags = parse(text, "gen.zspec")
    assert module is not None, (text, [d.message for d in diags])


@FUZZ
@given(text=_grammar_strategy(comments=True))
@example(text="var pages_nr: 0..3 = 0;\ninvariant bounded:\n  pages_nr >= 0   // never "
              "negative\n  && pages_nr <= 3;\n")
@example(text="const NCHUNKS = 64 /* chunks per page */;\n")
def test_grammar_text_with_comments_parses(text: str) -> None:
    module, diags = parse(text, "gen.zspec")
    assert module is not None, (text, [d.message for d in diags])


@FUZZ_CHECK
@given(text=_grammar_strategy(comments=True))
def test_check_grammar_text_never_crashes(workdir: Path, text: str) -> None:
    d = fresh_copy(workdir)
    (d / "gen.zspec").write_text(text, encoding="utf-8")
    assert_no_crash(["check", str(d / "gen.zspec")])


# ---- (b) mutations of the real specs

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|[A-Za-z_]\w*|\d+|==>|->|\.\.|&&|\|\||'
                   r'[=!<>]=|<<|>>|\S')
IDENT = re.compile(r"[A-Za-z_]\w*")
NUMBERS = [0, 1, 2, 3, 7, 8, 15, 16, 63, 64, 99, 4096]
KINDS = ["delete_line", "duplicate_line", "swap_lines", "delete_token", "delete_char",
         "replace_ident", "change_number", "duplicate_token"]

Mutation = tuple[str, int, int]


def mutate(text: str, m: Mutation) -> str:
    kind, a, b = m
    lines = text.split("\n")
    if kind == "delete_line":
        del lines[a % len(lines)]
        return "\n".join(lines)
    if kind == "duplicate_line":
        i = a % len(lines)
        lines.insert(i, lines[i])
        return "\n".join(lines)
    if kind == "swap_lines":
        i, j = a % len(lines), b % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == "delete_char":
        i = a % max(1, len(text))
        return text[:i] + text[i + 1:]
    toks = [t for t in TOKEN.finditer(text) if not t.group().startswith("//")]
    if kind == "delete_token":
        t = toks[a % len(toks)]
        return text[:t.start()] + text[t.end():]
    if kind == "duplicate_token":
        t = toks[a % len(toks)]
        return text[:t.end()] + " " + t.group() + text[t.end():]
    if kind == "replace_ident":
        idents = [t for t in toks if IDENT.fullmatch(t.group())]
        t = idents[a % len(idents)]
        other = idents[b % len(idents)].group()
        return text[:t.start()] + other + text[t.end():]
    if kind == "change_number":
        nums = [t for t in toks if t.group().isdigit()]
        t = nums[a % len(nums)]
        return text[:t.start()] + str(NUMBERS[b % len(NUMBERS)]) + text[t.end():]
    raise AssertionError(kind)


mutations = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 10**6),
                               st.integers(0, 10**6)), min_size=1, max_size=3)


@FUZZ
@given(spec=st.sampled_from(SPEC_FILES), muts=mutations, via_dependent=st.booleans())
def test_check_mutated_spec_never_crashes(workdir: Path, spec: str, muts: list[Mutation],
                                          via_dependent: bool) -> None:
    text = TEXTS[spec]
    for m in muts:
        text = mutate(text, m)
    d = fresh_copy(workdir)
    (d / spec).write_text(text, encoding="utf-8")
    target = DEPENDENTS.get(spec, spec) if via_dependent else spec
    assert_no_crash(["check", str(d / target)])


def test_mutate_is_total() -> None:
    # every kind applies to every spec, whatever the indices
    for spec, text in TEXTS.items():
        for kind in KINDS:
            for a, b in [(0, 0), (7, 3), (10**6, 10**6 - 1)]:
                assert isinstance(mutate(text, (kind, a, b)), str), (spec, kind)


# Mutants the fuzzer found once; kept as fixed examples.
FOUND = [
    # a record constant that fails to check, then used in `[_ -> FREE_PAGE]`
    ("zbud.zspec", "count: 0, first_offset: none", "count: 0, first_offset: page"),
    ("zbud.zspec", "  last_offset: option Offset,", "  las_offset: option Offset,"),
    ("zbud.zspec", "  last_map_count: 0..MAX_REFS,", "  last_map_count: 7..MAX_REFS,"),
    ("zbud.zspec", "type Size = 0..PAGE_SIZE;", "type Size = 99..PAGE_SIZE;"),
]


@pytest.mark.parametrize(("spec", "old", "new"), FOUND)
def test_check_found_mutants(workdir: Path, spec: str, old: str, new: str) -> None:
    assert old in TEXTS[spec]
    d = fresh_copy(workdir)
    (d / spec).write_text(TEXTS[spec].replace(old, new, 1), encoding="utf-8")
    rc, _, _ = assert_no_crash(["check", str(d / spec)])
    assert rc == 2
    assert_no_crash(["check", str(d / DEPENDENTS[spec])])


# ---- (c) -D overrides of the real specs

PARAMS = ["PAGE_SHIFT", "NCHUNKS_ORDER", "NPAGES", "NOFFSETS", "NTAGS", "MAX_REFS",
          "POOL_LIMIT", "SWAPCACHE_PIN", "PAGE_SIZE", "NCHUNKS", "NPAGE"]
VALUES = st.one_of(st.integers(-3, 70).map(str),
                   st.sampled_from(["true", "false", "FIRST", "OK", "NEW", "", "x", "0x10",
                                    "1e3", " 4", "--1", "2..3"]))


@FUZZ_CHECK
@given(spec=st.sampled_from(SPEC_FILES),
       defines=st.lists(st.tuples(st.sampled_from(PARAMS), VALUES), max_size=3))
@example(spec="zbud.zspec", defines=[("PAGE_SHIFT", "2"), ("NCHUNKS_ORDER", "6")])
@example(spec="zswap.zspec", defines=[("PAGE_SHIFT", "16"), ("NCHUNKS_ORDER", "2")])
def test_check_defines_never_crash(spec: str, defines: list[tuple[str, str]]) -> None:
    argv = ["check"]
    for name, value in defines:
        argv += ["-D", f"{name}={value}"]
    assume(len(argv) < 10)
    assert_no_crash([*argv, str(SPEC / spec)])
