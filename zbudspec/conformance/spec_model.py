"""The spec as the oracle: protocol operations run by the interpreter, environment pinned.

A `SpecModel` is the bundled spec (or one of its variants) checked with a case's parameters
and one thread. Level `zswap` runs the spec's own operations; level `zbud` runs
`spec/zbud.zspec` through a generated wrapper with one operation per zbud API call (the
interpreter starts operations, and `zbud_free` & co. are procedures). `run` takes the
protocol's JSON arguments and `env` queues and returns the result in the protocol's encoding,
the next state, and the violation if the spec itself faults (a generator must not send such
a step). `outcomes` enumerates every (result, state) of an operation under any environment,
for the linearizability checker.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zbudspec.engines.interpreter import Interpreter, _Chooser
from zbudspec.engines.state import Outcome, State, Violation
from zbudspec.pipeline import bundled_spec
from zbudspec.semantics import ir
from zbudspec.semantics.loader import load
from zbudspec.semantics.lower import Options, check
from zbudspec.trace_json import to_json

from .protocol import Json

ZBUD_OPS: dict[str, tuple[str, str, str]] = {
    # protocol op: (params, result type, call arguments)
    "zbud_alloc": ("size: Size, offset: Offset", "Errno", "size, offset"),
    "zbud_free": ("offset: Offset", "Errno", "offset"),
    "zbud_free_all": ("", "0..NOFFSETS", ""),
    "zbud_map": ("offset: Offset", "option Buddy", "offset"),
    "zbud_unmap": ("offset: Offset", "Errno", "offset"),
    "zbud_reclaim_page": ("retries: 0..8", "Errno", "retries"),
    "zbud_get_pool_size": ("", "0..NPAGES", ""),
}
ZSWAP_OPS = ("zswap_frontswap_store", "zswap_frontswap_load",
             "zswap_frontswap_invalidate_page", "zswap_frontswap_invalidate_area",
             "zbud_migrate_page")
WRAP = "api_"


class ModelError(Exception):
    """The spec cannot run what was asked (unknown op, bad argument, impossible env)."""


def _wrapper_text(zbud_spec: Path) -> str:
    lines = [f'import "{zbud_spec.as_posix()}";', ""]
    for op, (params, result, call) in ZBUD_OPS.items():
        init = {"Errno": "OK", "option Buddy": "none"}.get(result, "0")
        # multi-step callees need a label after the call; atomic ones do not mind one
        lines.append(f"op {WRAP}{op}({params}) -> {result} {{\n"
                     f"  local r: {result} = {init};\n"
                     f"Z1:\n  r = {op}({call});\nZ2:\n  return r;\n}}\n")
    lines.append("client {\n  ops " + ", ".join(WRAP + o for o in ZBUD_OPS)
                 + ", zbud_migrate_page;\n}\n")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _wrapper_path() -> Path:
    zbud = bundled_spec().parent / "zbud.zspec"
    d = Path(tempfile.mkdtemp(prefix="zbudspec-conformance-"))
    path = d / "zbud-api.zspec"
    path.write_text(_wrapper_text(zbud), encoding="utf-8")
    return path


def spec_path(level: str, spec: str) -> Path:
    if level == "zbud":
        return _wrapper_path()
    p = Path(spec)
    return p if p.is_absolute() else bundled_spec().parent / p


@lru_cache(maxsize=32)
def _program(path: str, defines: tuple[tuple[str, str], ...]) -> ir.Program:
    result = check(load(path), Options(defines, None, 1))
    if result.program is None:
        msgs = "; ".join(d.message for d in result.diagnostics if d.is_error)
        raise ModelError(f"{path}: the spec does not check: {msgs}")
    return result.program


@dataclass(frozen=True, slots=True)
class SpecStep:
    result: Json
    state: State | None
    violation: Violation | None


class _EnvChooser(_Chooser):
    """Replays a prefix of picks and records each pick's options."""

    def __init__(self, prefix: Sequence[int]) -> None:
        super().__init__(prefix)
        self.options: list[Sequence[str]] = []

    def pick(self, what: str, options: Sequence[str]) -> int:
        self.options.append(list(options))
        return super().pick(what, options)


def _control(proc: str, what: str) -> str | None:
    if what == "either":
        return "alloc_page" if proc == "zbud_alloc" else "compress"
    if what.startswith("choose"):
        return "swapcache"
    return None


_EITHER = {"ok": 0, "fail": 1}


class SpecModel:
    def __init__(self, level: str, spec: str, params: Mapping[str, int | bool]) -> None:
        self.level = level
        defines = tuple(sorted((k, str(v).lower() if isinstance(v, bool) else str(v))
                               for k, v in params.items() if self._known(level, k)))
        self.program = _program(str(spec_path(level, spec)), defines)
        self.interp = Interpreter(self.program)
        self.ghost = {g.name for g in self.program.globals if g.ghost}
        self.ops = (*tuple(ZBUD_OPS), "zbud_migrate_page") if level == "zbud" else ZSWAP_OPS

    @staticmethod
    def _known(level: str, name: str) -> bool:
        return level == "zswap" or name not in ("POOL_LIMIT", "SWAPCACHE_PIN")

    def initial(self) -> State:
        return self.interp.initial()

    def spec_op(self, op: str) -> str:
        if op not in self.ops:
            raise ModelError(f"no operation `{op}` at level {self.level}")
        return WRAP + op if self.level == "zbud" and op in ZBUD_OPS else op

    def args(self, op: str, args: Mapping[str, Json]) -> tuple[object, ...]:
        proc = self.program.procs[self.spec_op(op)]
        try:
            return tuple(args[name] for name, _ in proc.params)
        except KeyError as exc:
            raise ModelError(f"`{op}` needs argument {exc}") from None

    def result_json(self, op: str, value: object) -> Json:
        t = self.program.procs[self.spec_op(op)].result
        return None if t is None else to_json(t, value)

    def abstract(self, state: State) -> dict[str, Json]:
        return {g.name: to_json(g.type, v)
                for g, v in zip(self.program.globals, state.globals, strict=True)
                if not g.ghost}

    def run(self, state: State, op: str, args: Mapping[str, Json],
            env: Mapping[str, Sequence[str]] | None = None, thread: int = 0) -> SpecStep:
        """Run `op` to completion on an idle thread with the env queues pinned."""
        name = self.spec_op(op)
        values = self.args(op, args)
        queues = {k: list(v) for k, v in (env or {}).items()}
        started = False
        while True:
            out = self._step(state, thread, None if started else name,
                             () if started else values, queues)
            started = True
            if out.violation is not None:
                return SpecStep(None, None, out.violation)
            assert out.state is not None
            state = out.state
            if out.transition.finished:
                return SpecStep(self.result_json(op, out.transition.result), state, None)

    def _step(self, state: State, t: int, op: str | None, args: tuple[object, ...],
              queues: dict[str, list[str]]) -> Outcome:
        prefix: list[int] = []
        for _ in range(16):
            chooser = _EnvChooser(prefix)
            out = self.interp.run_step(state, t, op, args, chooser, invariants=False)
            if out is None:
                raise ModelError(f"`{op or 'the operation'}` is not enabled here (a `requires` "
                                 "or `await` does not hold, or a lock is held)")
            proc = out.transition.proc
            want: list[int] = []
            used: dict[str, int] = {}
            picks = [p for p in chooser.picks if not p.what.startswith("arg ")]
            for i, (p, opts) in enumerate(zip(picks, chooser.options, strict=True)):
                kind = _control(proc, p.what)
                n = used.get(kind or "", 0)
                q = queues.get(kind or "", [])
                if kind is None or n >= len(q):
                    want.append(0)
                else:
                    idx = _EITHER.get(q[n]) if kind != "swapcache" else \
                        (opts.index(q[n]) if q[n] in opts else None)
                    if idx is None or idx >= len(opts):
                        raise ModelError(f"env `{kind}` = {q[n]!r} is not possible here "
                                         f"(the spec allows {', '.join(opts)})")
                    want.append(idx)
                if kind is not None:
                    used[kind] = n + 1
                if want[i] != p.index:
                    prefix = want[: i + 1]
                    break
            else:
                for kind, n in used.items():
                    if kind in queues:
                        del queues[kind][:n]
                if out.state is not None:
                    bad = self.interp.check_invariants(out.state)
                    if bad is not None:
                        return Outcome(out.transition, None, bad)
                return out
        raise ModelError("the environment's picks do not settle")

    def outcomes(self, state: State, op: str, args: Mapping[str, Json],
                 thread: int = 0) -> list[tuple[Json, State]]:
        """Every (result, final state) of `op` under any environment (violations dropped)."""
        name = self.spec_op(op)
        values = self.args(op, args)
        done: list[tuple[Json, State]] = []
        frontier: list[tuple[State, bool]] = [(state, False)]
        seen: set[State] = set()
        while frontier:
            s, started = frontier.pop()
            for out in self.interp.step_outcomes(s, thread, None if started else name,
                                                 () if started else values):
                if out.violation is not None or out.state is None:
                    continue
                if out.transition.finished:
                    done.append((self.result_json(op, out.transition.result), out.state))
                elif out.state not in seen:
                    seen.add(out.state)
                    frontier.append((out.state, True))
        return done
