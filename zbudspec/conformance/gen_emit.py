"""Recorded interpreter runs as conformance cases (`zbudspec.conformance.cases`).

Sequential runs (one thread, every operation run to its end before the next starts) become
one `Step` per operation, each with its result and the whole abstract state after it.
Concurrent runs also carry the `schedule`: every spec step, in the order it ran; their
operations are listed in the order they started, and only the last one to finish pins the
state (the quiescent state at the end). The environment controls (PROTOCOL.md) are read off
the picks each operation actually took, written out in full. An operation with a `page`
argument in a concurrent run carries `before.lru`, the spec's LRU when it started, so the
runner can translate the page (D22).

A run that ends in a BUG of the spec (a failed `assert`, `bug=True`) becomes a case whose
faulting operation carries `expect_bug` (the assertion's message); operations the fault
leaves unfinished carry `unfinished` and no result, and no state is pinned (D54).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zbudspec.conformance.cases import Case, ScheduleEntry, Step
from zbudspec.conformance.gen_model import Model, Rec
from zbudspec.engines.state import State
from zbudspec.pipeline import bundled_spec
from zbudspec.trace_json import to_json

# (procedure of the step, pick) -> (control, {pick value -> control value})
CONTROLS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("zswap_frontswap_store", "either"): ("compress", {"branch 1": "ok", "branch 2": "fail"}),
    ("zbud_alloc", "either"): ("alloc_page", {"branch 1": "ok", "branch 2": "fail"}),
    ("zbud_evict", "choose outcome"): ("swapcache", {v: v for v in ("NEW", "EXIST", "FAIL")}),
}


class EmitError(Exception):
    pass


def spec_name(spec: Path) -> str:
    """The case's `spec`: a bundled spec's name relative to the bundled directory."""
    root = bundled_spec().resolve().parent
    try:
        return spec.resolve().relative_to(root).as_posix()
    except ValueError:
        return spec.as_posix()


def abstract_state(model: Model, state: State) -> dict[str, Any]:
    """The spec's state variables without the ghost ones, in `trace_json` encoding."""
    return {g.name: to_json(g.type, v)
            for g, v in zip(model.program.globals, state.globals, strict=True) if not g.ghost}


def _ops(steps: Sequence[Rec]) -> list[list[Rec]]:
    """The recorded steps grouped by operation, in the order the operations started."""
    open_: dict[int, list[Rec]] = {}
    out: list[list[Rec]] = []
    for r in steps:
        if r.started:
            open_[r.thread] = []
            out.append(open_[r.thread])
        open_[r.thread].append(r)
    return out


def _env(op: list[Rec]) -> dict[str, tuple[str, ...]]:
    env: dict[str, list[str]] = {}
    for r in op:
        for what, value in r.picks:
            ctl = CONTROLS.get((r.proc, what))
            if ctl is None:
                raise EmitError(f"{r.proc}: pick `{what}` has no environment control")
            env.setdefault(ctl[0], []).append(ctl[1][value])
    return {k: tuple(v) for k, v in sorted(env.items())}


BUG_PREFIX = "assertion failed: "


def to_case(model: Model, name: str, description: str, steps: Sequence[Rec],
            covers: Sequence[str], threads: int, bug: bool = False) -> Case:
    violations = [r for r in steps if r.violation is not None]
    bug_at: Rec | None = None
    if bug:
        bug_at = steps[-1] if steps else None
        if bug_at is None or violations != [bug_at] or \
                not bug_at.violation.message.startswith(BUG_PREFIX):  # type: ignore[union-attr]
            raise EmitError(f"{name}: an expected-BUG case ends in one failed assertion")
    elif not steps or violations:
        raise EmitError(f"{name}: a case must be a run without violations")
    program = model.program
    ops = _ops(steps)
    if bug_at is None and any(not op[-1].finished for op in ops):
        raise EmitError(f"{name}: every operation must run to its end")
    concurrent = threads > 1
    last_end = max(range(len(ops)), key=lambda i: steps.index(ops[i][-1]))
    out: list[Step] = []
    for i, op in enumerate(ops):
        first, last = op[0], op[-1]
        proc = program.procs[first.op]
        args = {n: to_json(t, v) for (n, t), v in zip(proc.params, first.args, strict=True)}
        unfinished = not last.finished
        result = to_json(proc.result, last.result) \
            if proc.result is not None and not unfinished else None
        pin = bug_at is None and (not concurrent or i == last_end)
        before = None
        if concurrent and "page" in args:
            at = steps.index(first)
            prev = steps[at - 1].state if at else model.interp.initial()
            assert prev is not None
            before = {"lru": abstract_state(model, prev)["lru"]}
        expect_bug = ""
        if bug_at is not None and last is bug_at:
            assert bug_at.violation is not None
            expect_bug = bug_at.violation.message[len(BUG_PREFIX):]
        assert last.state is not None or unfinished
        out.append(Step(first.thread, first.op, args, _env(op), result,
                        abstract_state(model, last.state) if pin and last.state else None,
                        expect_bug=expect_bug, before=before,
                        unfinished=unfinished and not expect_bug))
    schedule = tuple(ScheduleEntry(r.thread, r.proc, r.label) for r in steps) \
        if concurrent else None
    params = {n: v for n, v in model.params.items() if isinstance(v, int | bool)}
    return Case(name=name, description=description, covers=tuple(covers), level="zswap",
                spec=spec_name(model.spec), params=params, steps=tuple(out),
                threads=threads, schedule=schedule)
