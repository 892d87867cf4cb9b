"""The interpreter as the generator's oracle: run client operations with every pick pinned.

A :class:`Model` is one checked program (a spec with its parameter values). A
:class:`Script` runs moves on it and records every step: which thread ran which step, the
picks it took, the result when an operation ended, the state after it, the coverage
targets it hit. Picks are asked for by value (:class:`Want`: procedure, pick, value): a step takes
the first outcome whose picks agree with the queued ones for its procedure, else the
interpreter's first outcome (option 0 of every pick: compression and page allocation
succeed, the swap cache answers NEW when it may).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zbudspec.conformance.gen_cover import Covered, CoverInterpreter
from zbudspec.engines.state import State, Violation
from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options
from zbudspec.semantics.types import Value, show_value


class ModelError(Exception):
    """A script asked for something the spec does not allow (a generator bug)."""


@dataclass(frozen=True, slots=True)
class Want:
    """A pick asked for: in a step of procedure `proc`, the pick `what` takes `value`."""

    proc: str
    what: str
    value: str


@dataclass(frozen=True, slots=True)
class Rec:
    """One recorded step."""

    thread: int
    op: str
    proc: str
    label: str
    started: bool
    args: tuple[Value, ...]
    picks: tuple[tuple[str, str], ...]  # (what, value), operation arguments excluded
    finished: bool
    result: Value
    state: State | None
    violation: Violation | None
    hits: tuple[str, ...]


class Model:
    def __init__(self, spec: Path, defines: Sequence[tuple[str, str]] = (),
                 config: str | None = "default", threads: int | None = None) -> None:
        result = frontend(spec, Options(tuple(defines), config, threads))
        if result.program is None:
            msgs = "; ".join(d.message for d in result.diagnostics if d.is_error)
            raise ModelError(f"{spec}: {msgs}")
        self.spec = spec
        self.program: ir.Program = result.program
        self.interp = CoverInterpreter(self.program)
        self.params: dict[str, Value] = {n: self.program.params[n]
                                         for n in self.program.param_names}

    def const(self, name: str) -> int:
        v = self.program.params[name]
        assert isinstance(v, int)
        return v

    def global_index(self, name: str) -> int:
        return next(i for i, g in enumerate(self.program.globals) if g.name == name)

    def arg_spelling(self, op: str, args: tuple[Value, ...]) -> dict[str, str]:
        proc = self.program.procs[op]
        return {n: show_value(t, v) for (n, t), v in zip(proc.params, args, strict=True)}


@dataclass
class Script:
    """Moves run on a model from its initial state, recorded step by step."""

    model: Model
    state: State = field(init=False)
    steps: list[Rec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = self.model.interp.initial()

    @property
    def violated(self) -> Violation | None:
        return self.steps[-1].violation if self.steps else None

    def busy(self, t: int) -> bool:
        return bool(self.state.threads[t])

    def at(self, t: int) -> str | None:
        """`proc.label` of thread t's next step, None when idle."""
        frames = self.state.threads[t]
        return f"{frames[-1].proc}.{frames[-1].label}" if frames else None

    def step(self, t: int, op: str | None = None, args: tuple[Value, ...] = (),
             want: list[Want] | None = None,
             pick: Callable[[list[Covered]], Covered] | None = None) -> Rec:
        """One step of thread t (starting `op(args)` if given), picks as `want` says (or
        as `pick` chooses among the step's outcomes)."""
        if self.violated is not None:
            raise ModelError("the script already hit a violation")
        if (op is not None) == self.busy(t):
            raise ModelError(f"thread {t} is {'busy' if self.busy(t) else 'idle'}")
        outs = self.model.interp.covered_outcomes(self.state, t, op, args)
        if not outs:
            raise ModelError(f"thread {t}: no enabled step"
                             + (f" for {op}{args}" if op else f" at {self.at(t)}"))
        chosen = pick(outs) if pick is not None else _select(outs, want if want is not None
                                                             else [])
        o = chosen.outcome
        tr = o.transition
        rec = Rec(t, tr.op, tr.proc, tr.label, tr.started, args if tr.started else (),
                  tuple((p.what, p.value) for p in tr.picks if not p.what.startswith("arg ")),
                  tr.finished, tr.result, o.state, o.violation, chosen.hits)
        self.steps.append(rec)
        if o.state is not None and o.violation is None:
            self.state = o.state
        return rec

    def enabled(self, t: int, op: str | None = None, args: tuple[Value, ...] = ()) -> bool:
        return bool(self.model.interp.covered_outcomes(self.state, t, op, args))

    def call(self, op: str, *args: Value, t: int = 0, want: Sequence[Want] = ()) -> Value:
        """Run `op(args)` on thread t to its end; the result (ModelError on a violation)."""
        queue = list(want)
        rec = self.step(t, op, tuple(args), queue)
        while not rec.finished:
            if rec.violation is not None:
                raise ModelError(f"{op}{args}: {rec.violation.message}")
            rec = self.step(t, None, (), queue)
        if rec.violation is not None:
            raise ModelError(f"{op}{args}: {rec.violation.message}")
        if queue:
            raise ModelError(f"{op}{args}: picks asked for but never met: {queue}")
        return rec.result

    def run_to(self, t: int, where: str, want: list[Want] | None = None,
               limit: int = 50) -> None:
        """Step thread t until its next step is `where` (``proc.label``)."""
        for _ in range(limit):
            if self.at(t) == where:
                return
            if not self.busy(t):
                raise ModelError(f"thread {t} ended before reaching {where}")
            self.step(t, None, (), want)
        raise ModelError(f"thread {t} did not reach {where}")

    def finish(self, t: int, want: list[Want] | None = None) -> Value:
        rec: Rec | None = None
        while self.busy(t):
            rec = self.step(t, None, (), want)
            if rec.violation is not None:
                return None
        return rec.result if rec is not None else None

    def hits(self) -> set[str]:
        return {h for r in self.steps for h in r.hits}


def _select(outs: list[Covered], want: list[Want]) -> Covered:
    """The first outcome whose picks agree with the first queued pick of each kind asked
    for at its step; the queued picks it used are consumed. No agreeing outcome: an error."""
    for c in outs:
        tr = c.outcome.transition
        used: list[int] = []
        ok = True
        for p in tr.picks:
            k = next((i for i, w in enumerate(want)
                      if w.proc == tr.proc and w.what == p.what and i not in used), None)
            if k is None:
                if p.index != 0 and not p.what.startswith("arg "):
                    ok = False
                continue
            used.append(k)
            if want[k].value != p.value:
                ok = False
        if ok:
            for k in sorted(used, reverse=True):
                del want[k]
            return c
    raise ModelError("no outcome takes the picks asked for: "
                     + ", ".join(f"{w.proc} {w.what}={w.value}" for w in want))
