"""A counterexample as one self-contained HTML page: per-thread swimlanes.

A pure function returning the page; only the CLI writes it. No external assets and no
JavaScript: the style sheet is inline, every text is escaped, and the page is a function of
its arguments only (no time stamps), so the same trace gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.state import State, Violation
from zbudspec.render import StepView, params_text, pick_texts, step_views
from zbudspec.semantics import ir

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
.violation { border-left: 4px solid #c00; background: #fff3f3; padding: .5em 1em; }
.violation pre { margin: .3em 0; }
table.lanes { border-collapse: collapse; margin-top: 1em; }
table.lanes th, table.lanes td { border: 1px solid #bbb; padding: .3em .5em;
  vertical-align: top; }
table.lanes th { background: #eee; position: sticky; top: 0; }
td.n { text-align: right; color: #666; }
td.step { background: #f4f8ff; min-width: 14em; }
tr.last td.step { background: #ffecec; }
.call { font-weight: bold; }
.where, .picks, .locks, .result, .changes, pre { font-family: monospace; }
.picks { color: #704000; }
.locks { color: #004080; }
.result { color: #006000; }
.changes { margin: .3em 0 0 0; padding-left: 1.2em; font-size: .9em; }
.fault { color: #c00; font-style: italic; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _source_line(program: ir.Program, v: Violation) -> str | None:
    text = program.sources.get(v.span.file)
    if text is None or v.span.line < 1:
        return None
    lines = text.split("\n")
    return lines[v.span.line - 1].rstrip("\r") if v.span.line <= len(lines) else None


def _violation_html(program: ir.Program, v: Violation) -> list[str]:
    where = f"{v.span.file}:{v.span.line}:{v.span.col}"
    out = ['<section class="violation">',
           f'<h2>violation[{_e(v.kind)}]: {_e(v.message)}</h2>',
           f'<p>at <code>{_e(where)}</code>'
           + (f' (invariant <code>{_e(v.name)}</code>)' if v.name else "") + "</p>"]
    src = _source_line(program, v)
    if src is not None:
        caret = " " * (len(f"{v.span.line:>5} | ") + max(v.span.col, 1) - 1) + "^"
        out.append(f"<pre>{_e(f'{v.span.line:>5} | {src}')}\n{_e(caret)}</pre>")
    out.append("</section>")
    return out


def _cell(view: StepView) -> str:
    tr = view.transition
    parts = []
    if tr.started:
        args = ", ".join(f"{p.what[4:]}={p.value}" for p in tr.picks if p.what.startswith("arg "))
        parts.append(f'<div class="call">{_e(tr.op)}({_e(args)})</div>')
    parts.append(f'<div class="where">{_e(tr.proc)}.{_e(tr.label)}</div>')
    picks = pick_texts(tr)
    if picks:
        parts.append('<div class="picks">picks: ' + ", ".join(_e(p) for p in picks) + "</div>")
    if view.locks:
        parts.append('<div class="locks">holds: ' + ", ".join(_e(lk) for lk in view.locks)
                     + "</div>")
    if tr.finished:
        result = "done" if tr.result is None else str(tr.result)
        parts.append(f'<div class="result">=&gt; {_e(result)}</div>')
    if view.faulted:
        parts.append('<div class="fault">the step faulted (nothing changed)</div>')
    elif view.changes:
        parts.append('<ul class="changes">' + "".join(f"<li>{_e(c)}</li>" for c in view.changes)
                     + "</ul>")
    return "".join(parts)


def html_page(program: ir.Program, initial: State, trace: Sequence[TraceStep],
              violation: Violation | None, spec: str = "", title: str = "",
              notes: Sequence[str] = ()) -> str:
    """The page for `trace` run from `initial`: a header (spec, threads, parameters,
    invariants, `notes` such as the engine or "minimised from N to M steps"), the violation
    with its location and source line, and one table row per step with the step in its
    thread's column: operation and arguments, `proc.label`, picks, locks held after the step,
    result, and the state variables that changed."""
    n = program.client.threads
    heading = title or (f"zbudspec counterexample: {violation.kind}" if violation
                        else "zbudspec trace")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{_e(heading)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
           f"<h1>{_e(heading)}</h1>", '<dl class="meta">']
    meta = [("spec", spec or program.path), ("threads", str(n)),
            ("parameters", params_text(program)),
            ("invariants", ", ".join(i.name for i in program.invariants) or "(none)"),
            ("steps", str(len(trace)))]
    meta.extend(("note", note) for note in notes)
    out.extend(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
    out.append("</dl>")
    if violation is not None:
        out.extend(_violation_html(program, violation))
    else:
        out.append("<p>No violation at the end of the trace.</p>")
    out.append('<table class="lanes">')
    out.append("<thead><tr><th>step</th>" + "".join(f"<th>thread {t}</th>" for t in range(n))
               + "</tr></thead>")
    out.append("<tbody>")
    views = step_views(program, initial, trace)
    for k, view in enumerate(views):
        last = ' class="last"' if violation is not None and k == len(views) - 1 else ""
        cells = "".join(f'<td class="step">{_cell(view)}</td>' if t == view.thread else "<td></td>"
                        for t in range(n))
        out.append(f'<tr id="step-{view.number}"{last}><td class="n">{view.number}</td>'
                   f"{cells}</tr>")
    out.extend(["</tbody>", "</table>", "</body>", "</html>"])
    return "\n".join(out) + "\n"
