"""Shared helpers: build a checked program from spec text."""

from __future__ import annotations

from pathlib import Path

import pytest

from zbudspec.pipeline import frontend
from zbudspec.semantics import ir
from zbudspec.semantics.lower import Options

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "zswap.zspec"
NO_MAPCOUNT = ROOT / "spec" / "variants" / "no-mapcount.zspec"


class SpecFactory:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.n = 0

    def path(self, text: str, name: str | None = None) -> Path:
        self.n += 1
        p = self.tmp / (name or f"spec{self.n}.zspec")
        p.write_text(text)
        return p

    def program(self, text: str, threads: int | None = None,
                defines: tuple[tuple[str, str], ...] = ()) -> ir.Program:
        result = frontend(self.path(text), Options(defines, None, threads))
        errors = [d for d in result.diagnostics if d.is_error]
        assert result.program is not None, [f"{d.span}: {d.message}" for d in errors]
        return result.program


@pytest.fixture
def spec(tmp_path: Path) -> SpecFactory:
    return SpecFactory(tmp_path)


def bfs_layers(interp, depth: int,  # type: ignore[no-untyped-def]
               limit: int | None = None) -> list[list[object]]:
    """The states breadth-first search reaches, layer by layer (layer k: first reached after
    k steps, in successor order), by the interpreter alone; stops once `limit` are found."""
    frontier = [interp.initial()]
    seen = set(frontier)
    layers = [frontier]
    for _ in range(depth):
        nxt = []
        for s in frontier:
            for o in interp.successors(s, invariants=False):
                if o.state is not None and o.state not in seen:
                    seen.add(o.state)
                    nxt.append(o.state)
                    if limit is not None and len(seen) >= limit:
                        layers.append(nxt)
                        return layers
        frontier = nxt
        layers.append(nxt)
    return layers


# A counter whose invariant `bounded` no step preserves alone (x = 2, y = 3 steps to y = 4);
# with the lemma x == y it is 1-inductive. {LEMMA} and {THREADS} are filled in by `counter`.
COUNTER = """
var x: 0..7 = 0;
var y: 0..7 = 0;
op step() {
S1:
  if (x < 3) { x = x + 1; y = y + 1; }
  return;
}
invariant bounded: y <= 3;
{LEMMA}
client { threads {THREADS}; }
"""


def counter(lemma: str, threads: int = 1) -> str:
    return COUNTER.replace("{LEMMA}", lemma).replace("{THREADS}", str(threads))


def bundled(config: str | None = "default", threads: int | None = None,
            defines: tuple[tuple[str, str], ...] = (), path: Path = SPEC) -> ir.Program:
    result = frontend(path, Options(defines, config, threads))
    assert result.program is not None, [d.message for d in result.diagnostics]
    return result.program


def run_op(program: ir.Program, state, t: int, op: str,  # type: ignore[no-untyped-def]
           args: tuple[object, ...], prefer: dict[str, str] | None = None,
           interp=None):
    """Run one operation to completion on thread t, alone: at each step take the outcome
    whose picks match `prefer` ({"choose outcome": "NEW", "either": "branch 1"}), else the
    first. Returns (state, result, violation)."""
    from zbudspec.engines.interpreter import Interpreter

    interp = interp or Interpreter(program)
    prefer = prefer or {}
    started = False
    while True:
        outs = interp.step_outcomes(state, t, None if started else op, () if started else args)
        assert outs, f"{op}: no enabled step on thread {t}"
        chosen = outs[0]
        for o in outs:
            if all(p.value == prefer[p.what] for p in o.transition.picks if p.what in prefer):
                chosen = o
                break
        started = True
        if chosen.violation is not None:
            return chosen.state, None, chosen.violation
        state = chosen.state
        if chosen.transition.finished:
            return state, chosen.transition.result, None
