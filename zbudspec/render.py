"""Render results for people: traces as per-thread swimlanes, with what each step changed.

Pure functions returning strings; only the CLI writes them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    head = ""
    if tr.started:
        head = f"{tr.op}(" + ", ".join(f"{p.what[4:]}={p.value}" for p in args) + ") "
    body = f"{tr.proc}.{tr.label}" if tr.proc != tr.op or not tr.started else tr.label
    picks = "".join(f" [{p}]" for p in pick_texts(tr))
    tail = f" => {tr.result}" if tr.finished and tr.result is not None else (
        " => done" if tr.finished else "")
    return head + body + picks + tail


def pick_texts(tr: Transition) -> list[str]:
    """The step's nondeterministic picks other than arguments: `outcome=NEW`."""
    return [f"{p.what.replace('choose ', '')}={p.value}" for p in tr.picks
            if not p.what.startswith("arg ")]


@dataclass(frozen=True, slots=True)
class StepView:
    """What a renderer shows of one step: shared by the text swimlanes and the HTML page."""

    number: int
    thread: int
    title: str  # `op(args) label [picks] => result`, as in the swimlanes
    transition: Transition
    locks: tuple[str, ...]  # held by the thread after the step
    changes: tuple[str, ...]  # `name: old -> new`, one per changed leaf of the state
    faulted: bool  # the step hit a run-time violation and changed nothing


def step_views(program: ir.Program, initial: State, trace: Sequence[TraceStep],
               first_step: int = 1) -> list[StepView]:
    out: list[StepView] = []
    prev = initial
    for i, ts in enumerate(trace, start=first_step):
        tr = ts.transition
        locks: tuple[str, ...] = ()
        diff: tuple[str, ...] = ()
        if ts.state is not None:
            locks = tuple(held_locks(program, ts.state, tr.thread))
            diff = tuple(changes(program, prev, ts.state))
            prev = ts.state
        out.append(StepView(i, tr.thread, step_title(tr), tr, locks, diff, ts.state is None))
    return out


def swimlanes(program: ir.Program, initial: State, trace: Sequence[TraceStep],
              first_step: int = 1) -> str:
    """Per-thread columns: each step in its thread's column (operation, label, picks, locks
    held after it), then what it changed, indented under that column."""
    n = program.client.threads
    views = step_views(program, initial, trace, first_step)
    titles = [v.title + ("  {" + ", ".join(v.locks) + "}" if v.locks else "") for v in views]
    width = [len(f"thread {t}") for t in range(n)]
    for v, title in zip(views, titles, strict=True):
        width[v.thread] = min(max(width[v.thread], len(title)), COL_MAX)
    header = "step | " + " | ".join(f"thread {t}".ljust(width[t]) for t in range(n))
    lines = [header.rstrip(), "-" * len(header)]
    for v, title in zip(views, titles, strict=True):
        t = v.thread
        cells = [""] * n
        cells[t] = title
        lines.append((f"{v.number:>4} | " + " | ".join(c.ljust(width[k])
                                                       for k, c in enumerate(cells))).rstrip())
        indent = "     | " + "".join(" " * (width[k] + 3) for k in range(t)) + "  "
        if v.faulted:
            lines.append(indent + "(the step faulted)")
        else:
            lines.extend(indent + ch for ch in v.changes)
    return "\n".join(lines)


def params_text(program: ir.Program) -> str:
    """`NAME=VALUE, ...` of the overridable parameters, as the CLI prints the bounds."""
    return ", ".join(f"{n}={_value_text(program.params[n])}"
                     for n in program.param_names) or "no parameters"


def _value_text(v: object) -> str:
    return "true" if v is True else "false" if v is False else str(v)


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
