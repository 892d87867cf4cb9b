"""The HTML swimlane page (zbudspec/html.py): well-formed, every step shown, text escaped,
deterministic."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import ROOT, SpecFactory

from zbudspec.engines.explicit import TraceStep, Verdict, search
from zbudspec.engines.interpreter import Interpreter
from zbudspec.html import html_page
from zbudspec.render import step_views
from zbudspec.replay import Replayed, replay_file

TRACE = ROOT / "tests" / "traces" / "v3-load-bug-in-writeback-window.json"

VOID = {"meta", "br", "hr", "img", "link", "input"}


class Checker(HTMLParser):
    """Checks tags nest properly; collects text, step rows and cells per row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.rows: list[str] = []
        self.errors: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag in VOID:
            return
        self.stack.append(tag)
        ident = dict(attrs).get("id")
        if tag == "tr" and ident:
            self.rows.append(ident)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Checker:
    c = Checker()
    c.feed(page)
    c.close()
    assert c.errors == [] and c.stack == [], (c.errors, c.stack)
    return c


def _window_bug() -> Replayed:
    rep = replay_file(TRACE)
    assert rep.program is not None and rep.initial is not None and rep.violation is not None
    return rep


def test_a_page_shows_every_step_the_violation_and_the_bounds() -> None:
    rep = _window_bug()
    assert rep.program is not None and rep.initial is not None and rep.violation is not None
    program, init, trace, v = rep.program, rep.initial, rep.trace, rep.violation
    page = html_page(program, init, trace, v, spec=str(TRACE), notes=["engine: explicit"])
    c = parse(page)
    text = "".join(c.text)
    assert c.rows == [f"step-{i}" for i in range(1, len(trace) + 1)]
    for view in step_views(program, init, trace):
        assert f"{view.transition.proc}.{view.transition.label}" in text
        for change in view.changes:
            assert change in text
    assert "outcome=NEW" in text and v.message in text
    assert f"threads{program.client.threads}" in text.replace("\n", "")
    assert "SWAPCACHE_PIN=true" in text and "NOFFSETS=2" in text
    src = program.sources[v.span.file].split("\n")[v.span.line - 1]
    assert src in text                                       # the source line
    assert f"{v.span.file}:{v.span.line}:{v.span.col}" in text
    assert "<script" not in page and "http" not in page.replace(
        "http-equiv", "")                                  # self-contained, no JavaScript
    assert page == html_page(program, init, trace, v, spec=str(TRACE),
                             notes=["engine: explicit"])


def test_text_is_escaped(spec: SpecFactory) -> None:
    program = spec.program("""
var n: 0..3 = 0;
op bump() {
S1:
  n = n + 1;
S2:
  assert n < 1 && n >= 0, "<b>n</b> & friends";
  return;
}
client { threads 2; }
""")
    res = search(program, 4)
    assert res.verdict is Verdict.VIOLATED and res.violation is not None
    page = html_page(program, res.initial, res.trace, res.violation,
                     spec="<spec & co>.zspec", title="a <title> & more")
    assert "<b>" not in page and "& friends" not in page and "<spec" not in page
    assert "&lt;b&gt;n&lt;/b&gt; &amp; friends" in page
    assert "n &lt; 1 &amp;&amp; n &gt;= 0" in page
    c = parse(page)
    text = "".join(c.text)
    assert "<b>n</b> & friends" in text and "<spec & co>.zspec" in text
    assert "a <title> & more" in text
    assert "the step faulted" in text


def test_a_trace_without_violation_shows_the_locks_held(spec: SpecFactory) -> None:
    program = spec.program((ROOT / "tests" / "corpus" / "lock-counter.zspec").read_text())
    interp = Interpreter(program)
    init = interp.initial()
    (first,) = interp.step_outcomes(init, 1, "inc", ())
    assert first.state is not None
    (second,) = interp.step_outcomes(first.state, 1)
    trace = [TraceStep(first.transition, first.state), TraceStep(second.transition, second.state)]
    page = html_page(program, init, trace, None)
    c = parse(page)
    text = "".join(c.text)
    assert c.rows == ["step-1", "step-2"]
    assert "holds: l" in text and text.count("holds:") == 1
    assert "n: 0 -> 1" in text and "=> done" in text
    assert "No violation at the end of the trace." in text
