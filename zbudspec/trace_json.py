"""The JSON trace format (version 1): what `prove --trace-out` writes and `replay` reads.

```
{"zbudspec_trace": 1, "spec": PATH, "threads": T, "params": {NAME: VALUE},
 "violation": {"kind", "message", "file", "line", "col", "invariant"} | null,
 "steps": [{"thread", "op", "proc", "label", "started", "args": {NAME: VALUE},
            "picks": [{"what", "value", "index"}], "finished", "result",
            "state": {VAR: VALUE}}]}
```
Values are JSON: integers, booleans, enum members as strings, none as null, records as
objects, maps as objects keyed by the key's spelling, sets and lists as arrays.
"""

from __future__ import annotations

from typing import Any

from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.state import State, Violation
from zbudspec.semantics import ir
from zbudspec.semantics.types import (
    TList,
    TMap,
    TOption,
    TRecord,
    TSet,
    Type,
    Value,
    domain_values,
    show_value,
)

VERSION = 1


def to_json(t: Type, v: Value) -> Any:
    if v is None:
        return None
    if isinstance(t, TOption):
        return to_json(t.inner, v)
    if isinstance(t, TRecord):
        assert isinstance(v, tuple)
        return {n: to_json(ft, x) for (n, ft), x in zip(t.fields, v, strict=True)}
    if isinstance(t, TMap):
        assert isinstance(v, tuple)
        return {show_value(t.key, k): to_json(t.value, x)
                for k, x in zip(domain_values(t.key), v, strict=True)}
    if isinstance(t, TSet):
        assert isinstance(v, frozenset)
        return sorted((to_json(t.elem, x) for x in v), key=repr)
    if isinstance(t, TList):
        assert isinstance(v, tuple)
        return [to_json(t.elem, x) for x in v]
    return v


def state_json(program: ir.Program, state: State) -> dict[str, Any]:
    return {g.name: to_json(g.type, v)
            for g, v in zip(program.globals, state.globals, strict=True)}


def violation_json(v: Violation | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"kind": v.kind, "message": v.message, "file": v.span.file, "line": v.span.line,
            "col": v.span.col, "invariant": v.name}


def trace_json(program: ir.Program, spec: str, trace: list[TraceStep],
               violation: Violation | None, params: dict[str, Value]) -> dict[str, Any]:
    steps = []
    for ts in trace:
        tr = ts.transition
        proc = program.procs[tr.op]
        args = {p.what[4:]: p.value for p in tr.picks if p.what.startswith("arg ")}
        result_type = proc.result
        steps.append({
            "thread": tr.thread, "op": tr.op, "proc": tr.proc, "label": tr.label,
            "started": tr.started, "args": args,
            "picks": [{"what": p.what, "value": p.value, "index": p.index}
                      for p in tr.picks if not p.what.startswith("arg ")],
            "finished": tr.finished,
            "result": to_json(result_type, tr.result) if result_type and tr.finished else None,
            "state": state_json(program, ts.state) if ts.state is not None else None,
        })
    return {"zbudspec_trace": VERSION, "spec": spec, "threads": program.client.threads,
            "params": {k: params[k] for k in program.param_names},
            "violation": violation_json(violation), "steps": steps}
