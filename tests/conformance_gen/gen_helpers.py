"""Shared by the generator's tests: the bundled spec, the committed suite, a case re-runner."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.mutants.*` is imported by its dotted name
    sys.path.insert(0, str(ROOT))

from zbudspec.conformance.cases import Case  # noqa: E402
from zbudspec.conformance.gen_emit import CONTROLS, abstract_state  # noqa: E402
from zbudspec.conformance.gen_model import Model, Script, Want  # noqa: E402
from zbudspec.pipeline import bundled_spec  # noqa: E402
from zbudspec.semantics.types import domain_values  # noqa: E402
from zbudspec.trace_json import to_json  # noqa: E402

SUITE = ROOT / "conformance" / "generated"
SPEC = bundled_spec()
_BACK = {(ctl, v): Want(proc, what, pick) for (proc, what), (ctl, table) in CONTROLS.items()
         for pick, v in table.items()}


def wants(env: dict[str, tuple[str, ...]] | Any) -> list[Want]:
    return [_BACK[(ctl, v)] for ctl, vals in env.items() for v in vals]


def rerun(case: Case, models: dict[Any, Model]) -> list[str]:
    """Re-run a case in the interpreter from its own data; the mismatches, as text."""
    defines = tuple(sorted((k, str(v).lower() if isinstance(v, bool) else str(v))
                           for k, v in case.params.items()))
    key = (case.spec, defines, case.threads)
    if key not in models:
        models[key] = Model(SPEC.parent / case.spec, defines, None, case.threads)
    m = models[key]
    s = Script(m)
    problems: list[str] = []
    program = m.program
    if case.schedule is None:
        for n, st in enumerate(case.steps, start=1):
            proc = program.procs[st.op]
            args = tuple(next(v for v in domain_values(t) if to_json(t, v) == st.args[name])
                         for name, t in proc.params)
            got = s.call(st.op, *args, want=wants(st.env))
            if proc.result is not None and to_json(proc.result, got) != st.result:
                problems.append(f"step {n}: result {got!r}, case says {st.result!r}")
            if st.state is not None and abstract_state(m, s.state) != dict(st.state):
                problems.append(f"step {n}: state differs")
        return problems
    pending = {t: [st for st in case.steps if st.thread == t] for t in range(case.threads)}
    queues: dict[int, list[Want]] = {}
    current: dict[int, Any] = {}
    results: dict[int, list[Any]] = {t: [] for t in range(case.threads)}
    for e in case.schedule:
        t = e.thread
        if not s.busy(t):
            st = pending[t].pop(0)
            current[t] = st
            proc = program.procs[st.op]
            args = tuple(next(v for v in domain_values(ty) if to_json(ty, v) == st.args[name])
                         for name, ty in proc.params)
            queues[t] = wants(st.env)
            rec = s.step(t, st.op, args, queues[t])
        else:
            rec = s.step(t, None, (), queues[t])
        if (rec.proc, rec.label) != (e.proc, e.label):
            return [f"schedule: thread {t} ran {rec.proc}.{rec.label}, case says "
                    f"{e.proc}.{e.label}"]
        if rec.finished:
            rt = program.procs[rec.op].result
            results[t].append(to_json(rt, rec.result) if rt is not None else None)
    bugs = [st.expect_bug for st in case.steps if st.expect_bug]
    if bugs:  # the run must end in that BUG (a failed assertion) at its last step
        v = rec.violation
        if v is None or not v.message.endswith(bugs[0]):
            problems.append(f"expected the BUG {bugs[0]!r}, the run ends in {v!r}")
    for t in range(case.threads):
        want = [st.result for st in case.steps if st.thread == t
                and not st.unfinished and not st.expect_bug]
        if results[t] != want:
            problems.append(f"thread {t}: results {results[t]}, case says {want}")
    final = [st.state for st in case.steps if st.state is not None]
    if final and abstract_state(m, s.state) != dict(final[-1]):
        problems.append("final state differs")
    return problems
