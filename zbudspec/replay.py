"""Re-run a JSON trace (format in `trace_json.py`) through the interpreter.

Every step must be enabled with the recorded picks and reach the recorded label and state;
the last step must hit the recorded violation. Anything else is a `ReplayError`: the trace
does not belong to this spec, or an engine and the interpreter disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zbudspec.engines.explicit import TraceStep
from zbudspec.engines.interpreter import Interpreter
from zbudspec.engines.state import State, Violation
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import CheckResult, Options
from zbudspec.semantics.types import Type, Value, domain_values, show_value
from zbudspec.trace_json import VERSION, state_json


class ReplayError(Exception):
    pass


@dataclass
class Replayed:
    program: ir.Program | None
    initial: State | None
    trace: list[TraceStep] = field(default_factory=list)
    violation: Violation | None = None
    diagnostics: CheckResult | None = None


def _value_of(t: Type, spelled: object) -> Value:
    for v in domain_values(t):
        if show_value(t, v) == str(spelled) or v == spelled:
            return v
    raise ReplayError(f"argument value {spelled!r} is not in {t}")


def replay(program: ir.Program, data: dict[str, Any]) -> Replayed:
    interp = Interpreter(program)
    state = interp.initial()
    init = state
    out: list[TraceStep] = []
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        raise ReplayError("`steps` must be a list")
    for n, st in enumerate(steps, start=1):
        if not isinstance(st, dict):
            raise ReplayError(f"step {n}: not an object")
        t = int(st["thread"])
        if not 0 <= t < program.client.threads:
            raise ReplayError(f"step {n}: thread {t} does not exist (the trace runs "
                              f"{program.client.threads} threads)")
        if bool(st.get("started")) == bool(state.threads[t]):
            what = "starts an operation on a busy" if st.get("started") else \
                "continues an operation on an idle"
            raise ReplayError(f"step {n}: {what} thread {t}")
        op = st["op"] if st.get("started") else None
        args: tuple[Value, ...] = ()
        if op is not None:
            if op not in program.procs:
                raise ReplayError(f"step {n}: no operation `{op}` in the spec")
            proc = program.procs[op]
            args = tuple(_value_of(pt, st["args"][name]) for name, pt in proc.params)
        picks = [int(p["index"]) for p in st.get("picks", [])]
        outcome = interp.replay_step(state, t, op, args, picks)
        if outcome is None:
            raise ReplayError(f"step {n} (thread {t}, {st.get('proc')}.{st.get('label')}) "
                              "is not enabled with the recorded picks")
        tr = outcome.transition
        if (tr.proc, tr.label) != (st.get("proc"), st.get("label")):
            raise ReplayError(f"step {n}: the interpreter ran {tr.proc}.{tr.label}, the trace "
                              f"says {st.get('proc')}.{st.get('label')}")
        out.append(TraceStep(tr, outcome.state))
        if outcome.violation is not None:
            if n != len(steps):
                raise ReplayError(f"step {n} hits a violation before the trace ends: "
                                  f"{outcome.violation.message}")
            return Replayed(program, init, out, outcome.violation)
        assert outcome.state is not None
        recorded = st.get("state")
        if recorded is not None and state_json(program, outcome.state) != recorded:
            raise ReplayError(f"step {n}: the state after the step differs from the trace")
        state = outcome.state
    expected = data.get("violation")
    if expected is not None:
        raise ReplayError(f"the trace ends without the recorded violation "
                          f"({expected.get('message')})")
    return Replayed(program, init, out, None)


def replay_file(path: Path, spec: Path | None = None) -> Replayed:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("zbudspec_trace") != VERSION:
        raise ReplayError(f"{path}: not a zbudspec trace (version {VERSION})")
    spec_path = spec or Path(str(data.get("spec", "")))
    defines = tuple((k, json.dumps(v) if isinstance(v, bool) else str(v))
                    for k, v in data.get("params", {}).items())
    defines = tuple((k, v.lower() if v in ("true", "false") else v) for k, v in defines)
    result = frontend(spec_path, Options(defines, None, int(data.get("threads", 2))))
    if result.program is None:
        return Replayed(None, None, diagnostics=result)
    try:
        return replay(result.program, data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReplayError(f"{path}: malformed trace: {exc!r}") from None
