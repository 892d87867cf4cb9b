"""Render results for people: traces as per-thread swimlanes, with what each step changed.

Pure functions returning strings; only the CLI writes them out.
"""

from __future__ import annotations

from collections.abc import Sequence

from zbudspec.diagnostics import Diagnostic, Severity, render
from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.state import State, Transition, Violation
from zbudspec.semantics import ir
from zbudspec.semantics.types import TMap, TRecord, Type, Value, domain_values, show_value

COL_MAX = 48


def diff_value(name: str, t: Type, old: Value, new: Value, out: list[str]) -> None:
    """Describe what changed between two values, descending into maps and records."""
    if old == new:
        return
    if isinstance(t, TMap) and isinstance(old, tuple) and isinstance(new, tuple):
        for k, a, b in zip(domain_values(t.key), old, new, strict=True):
            diff_value(f"{name}[{show_value(t.key, k)}]", t.value, a, b, out)
        return
    if isinstance(t, TRecord) and isinstance(old, tuple) and isinstance(new, tuple):
        for (fname, ft), a, b in zip(t.fields, old, new, strict=True):
            diff_value(f"{name}.{fname}", ft, a, b, out)
        return
    out.append(f"{name}: {show_value(t, old)} -> {show_value(t, new)}")


def changes(program: ir.Program, before: State, after: State) -> list[str]:
    out: list[str] = []
    for g, a, b in zip(program.globals, before.globals, after.globals, strict=True):
        diff_value(g.name, g.type, a, b, out)
    return out


def held_locks(program: ir.Program, state: State, thread: int) -> list[str]:
    return [program.locks[i] for i, h in enumerate(state.locks) if h == thread]


def step_title(tr: Transition) -> str:
    args = [p for p in tr.picks if p.what.startswith("arg ")]
    other = [p for p in tr.picks if not p.what.startswith("arg ")]
    head = ""
    if tr.started:
        head = f"{tr.op}(" + ", ".join(f"{p.what[4:]}={p.value}" for p in args) + ") "
    body = f"{tr.proc}.{tr.label}" if tr.proc != tr.op or not tr.started else tr.label
    picks = "".join(f" [{p.what.replace('choose ', '')}={p.value}]" for p in other)
    tail = f" => {tr.result}" if tr.finished and tr.result is not None else (
        " => done" if tr.finished else "")
    return head + body + picks + tail


def swimlanes(program: ir.Program, initial: State, trace: Sequence[TraceStep],
              first_step: int = 1) -> str:
    """Per-thread columns: each step in its thread's column (operation, label, picks, locks
    held after it), then what it changed, indented under that column."""
    n = program.client.threads
    titles = []
    for ts in trace:
        title = step_title(ts.transition)
        if ts.state is not None:
            locks = held_locks(program, ts.state, ts.transition.thread)
            if locks:
                title += "  {" + ", ".join(locks) + "}"
        titles.append(title)
    width = [len(f"thread {t}") for t in range(n)]
    for ts, title in zip(trace, titles, strict=True):
        t = ts.transition.thread
        width[t] = min(max(width[t], len(title)), COL_MAX)
    header = "step | " + " | ".join(f"thread {t}".ljust(width[t]) for t in range(n))
    lines = [header.rstrip(), "-" * len(header)]
    prev = initial
    for i, (ts, title) in enumerate(zip(trace, titles, strict=True), start=first_step):
        t = ts.transition.thread
        cells = [""] * n
        cells[t] = title
        lines.append((f"{i:>4} | " + " | ".join(c.ljust(width[k])
                                                for k, c in enumerate(cells))).rstrip())
        indent = "     | " + "".join(" " * (width[k] + 3) for k in range(t)) + "  "
        if ts.state is not None:
            lines.extend(indent + ch for ch in changes(program, prev, ts.state))
            prev = ts.state
        else:
            lines.append(indent + "(the step faulted)")
    return "\n".join(lines)


def violation_text(v: Violation, sources: dict[str, str]) -> str:
    return render(Diagnostic("VIOLATION", Severity.ERROR, v.message, v.span), sources).replace(
        "error[VIOLATION]", f"violation[{v.kind}]")


def state_text(program: ir.Program, state: State) -> str:
    lines = []
    for g, v in zip(program.globals, state.globals, strict=True):
        lines.append(f"  {g.name} = {show_value(g.type, v)}")
    for t, frames in enumerate(state.threads):
        where = " <- ".join(f"{f.proc}.{f.label}" for f in reversed(frames)) or "idle"
        lines.append(f"  thread {t}: {where}")
    return "\n".join(lines)
