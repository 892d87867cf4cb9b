"""The z3 encoding of a step agrees with the interpreter, outcome for outcome.

For reachable states of the bundled spec and its variants, and every thread, the set of
outcomes the interpreter gives for the thread's next step (post-state, where the thread goes
next, or the kind of fault) must equal the set of models of the step's z3 encoding with the
pre-state fixed. This is the foundation the bounded and inductive z3 engines stand on.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import z3
from conftest import NO_MAPCOUNT, bfs_layers, bundled

from zbudspec.engines import z3_num as num
from zbudspec.engines.interpreter import Interpreter, _Chooser, _StepRun
from zbudspec.engines.state import State
from zbudspec.engines.z3_exprs import SEnv
from zbudspec.engines.z3_step import StepEncoder
from zbudspec.engines.z3_values import concrete, const, default, eq
from zbudspec.engines.z3_width import required_width
from zbudspec.semantics import ir


def _frames_cb(program: ir.Program, interp: Interpreter, state: State):  # type: ignore[no-untyped-def]
    def cb(t: int, proc: str, what: str, name: str) -> Any:
        frames = interp.frames_view(state, t)
        yes = z3.BoolVal(True)
        if what == "idle":
            return z3.BoolVal(not frames), yes
        p = program.procs[proc]
        types = {**dict(p.params), **{n: ty for n, ty, _ in p.locals}}
        for fproc, flabel, flocals in reversed(frames):
            if fproc == proc:
                if what == "at":
                    return z3.BoolVal(flabel == name), yes
                return const(types[name], flocals[name]), yes
        if what == "at":
            return z3.BoolVal(False), yes
        return default(types[name]), z3.BoolVal(False)

    return cb


def _env(program: ir.Program, interp: Interpreter, state: State, t: int,
         proc: str, locals_: dict[str, Any]) -> SEnv:
    p = program.procs[proc]
    types = {**dict(p.params), **{n: ty for n, ty, _ in p.locals}}
    return SEnv([const(g.type, v) for g, v in zip(program.globals, state.globals, strict=True)],
                {n: const(types[n], v) for n, v in locals_.items()}, t,
                [num.val(-1 if h is None else h) for h in state.locks],
                _frames_cb(program, interp, state))


def _z3_outcomes(program: ir.Program, interp: Interpreter, state: State, t: int,
                 op: str | None, args: tuple[Any, ...]) -> set[Any]:
    enc = StepEncoder(program)
    if op is not None:
        run = _StepRun(interp, state, t, _Chooser(()))
        frame = run.new_frame(op, args, program.procs[op].span)
        proc, label = op, frame.label
        locals_ = dict(zip(interp.local_names[op], frame.locals, strict=True))
    else:
        top = state.threads[t][-1]
        proc, label = top.proc, top.label
        locals_ = dict(zip(interp.local_names[proc], top.locals, strict=True))
    env = _env(program, interp, state, t, proc, locals_)
    guard: Any = z3.BoolVal(True)
    if op is not None:
        for req in program.procs[op].requires:
            guard = z3.And(guard, enc.x.enc(req, env, z3.BoolVal(True)))
    res = enc.step(proc, label, env)
    out: set[Any] = set()
    gt = [g.type for g in program.globals]
    ptypes = enc.local_types[proc]
    for f in env.faults:
        s = z3.Solver()
        s.add(guard, f.cond)
        if s.check() == z3.sat:
            out.add(("fault", f.kind))
    for ex in res.exits:
        s = z3.Solver()
        s.add(guard, ex.cond)
        proj: list[tuple[Any, Any]] = [(ty, x) for ty, x in zip(gt, ex.env.globals, strict=True)]
        lock_terms = list(ex.env.locks)
        loc_names = sorted(n for n in ex.env.locals if n in ptypes)
        if ex.kind in ("goto", "call"):
            proj += [(ptypes[n], ex.env.locals[n]) for n in loc_names]
        if ex.kind == "return" and ex.value is not None and program.procs[proc].result:
            proj.append((program.procs[proc].result, ex.value))
        if ex.kind == "call":
            assert ex.call is not None
            callee = program.procs[ex.call.proc]
            proj += [(pt, a) for (_, pt), a in zip(callee.params, ex.args, strict=True)]
        for _ in range(200):
            if s.check() != z3.sat:
                break
            m = s.model()
            vals = tuple(concrete(ty, x, m) for ty, x in proj)
            locks = tuple(None if (h := num.as_int(m.eval(x, model_completion=True))) < 0 else h
                          for x in lock_terms)
            out.add((ex.kind, ex.label, ex.call.proc if ex.call else None, vals, locks))
            s.add(z3.Not(z3.And(*[eq(ty, x, const(ty, v)) for (ty, x), v in zip(proj, vals,
                                                                                 strict=True)],
                                *[x == (-1 if v is None else v)
                                  for x, v in zip(lock_terms, locks, strict=True)])))
        else:
            raise AssertionError("too many models")
    return out


def _interp_outcomes(program: ir.Program, interp: Interpreter, state: State, t: int,
                     op: str | None, args: tuple[Any, ...]) -> set[Any]:
    out: set[Any] = set()
    pre_depth = len(state.threads[t])
    for o in interp._enumerate(state, t, op, args, False):
        if o.violation is not None:
            out.add(("fault", o.violation.kind))
            continue
        post = o.state
        assert post is not None
        frames = post.threads[t]
        tr = o.transition
        depth0 = pre_depth if op is None else 1
        proc = tr.proc
        p = program.procs[proc]
        names = interp.local_names[proc]
        gvals = tuple(post.globals)
        if tr.finished or len(frames) < depth0:
            vals = gvals
            if p.result is not None:
                if tr.finished:
                    vals = (*gvals, tr.result)
                else:
                    caller = frames[-1]
                    pre_caller = state.threads[t][-2]
                    cs = interp.call_sites[pre_caller.call_site]
                    if cs.target is None or cs.target.path:
                        continue
                    cnames = interp.local_names[caller.proc]
                    vals = (*gvals, dict(zip(cnames, caller.locals,
                                             strict=True))[cs.target.name])
            out.add(("return", "", None, vals, post.locks))
        elif len(frames) > depth0:
            caller, callee = frames[-2], frames[-1]
            ploc = dict(zip(names, caller.locals, strict=True))
            cp = program.procs[callee.proc]
            cargs = tuple(callee.locals[: len(cp.params)])
            vals = (*gvals, *(ploc[n] for n in sorted(ploc)), *cargs)
            out.add(("call", caller.label, callee.proc, vals, post.locks))
        else:
            top = frames[-1]
            ploc = dict(zip(names, top.locals, strict=True))
            vals = (*gvals, *(ploc[n] for n in sorted(ploc)))
            out.add(("goto", top.label, None, vals, post.locks))
    return out


def _sample_states(program: ir.Program, n: int, seed: int, depth: int = 8) -> list[State]:
    """States reachable within `depth` (breadth-first), sampled: deep ones weigh as much."""
    rng = random.Random(seed)
    layers = bfs_layers(Interpreter(program), depth)
    per_layer = max(1, n // len(layers))
    out: list[State] = []
    for layer in layers:
        out.extend(rng.sample(layer, min(per_layer, len(layer))))
    return out


def _numbers(mode: str, program: ir.Program) -> num.Num:
    """Both numeric encodings: unbounded Ints, and the bit-vectors `required_width` proves
    safe (the encoding the bounded engine uses)."""
    if mode == "int":
        return num.Num()
    w = required_width(program)
    assert w is not None
    return num.Num(w)


@pytest.mark.parametrize("mode", ["int", "bv"])
@pytest.mark.parametrize("variant", ["bundled", "no-mapcount"])
def test_z3_step_encoding_matches_the_interpreter(variant: str, mode: str) -> None:
    program = bundled() if variant == "bundled" else bundled(path=NO_MAPCOUNT)
    with num.use(_numbers(mode, program)):
        _matches_the_interpreter(variant, program)


def _matches_the_interpreter(variant: str, program: ir.Program) -> None:
    interp = Interpreter(program)
    checked = 0
    steps_seen: set[tuple[str, str]] = set()
    for state in _sample_states(program, 60, seed=3):
        for t in range(program.client.threads):
            if state.threads[t]:
                cases: list[tuple[str | None, tuple[Any, ...]]] = [(None, ())]
            else:
                cases = [(op, args) for op in program.ops_for(t)
                         for args in interp.arg_domains[op][:6]]
            for op, args in cases:
                want = _interp_outcomes(program, interp, state, t, op, args)
                got = _z3_outcomes(program, interp, state, t, op, args)
                assert got == want, (variant, t, op, args, state.threads[t])
                checked += 1
                top = state.threads[t][-1] if state.threads[t] else None
                if top is not None:
                    steps_seen.add((top.proc, top.label))
    assert checked > 100
    assert len(steps_seen) >= 8


SMALL_SPECS = {
    "locks held across steps": (Path(__file__).parent / "corpus" / "lock-counter.zspec")
    .read_text(),
    "choose, either, await, lists and calls": """
var l: list of 0..2 = [];
var s: set of 0..2 = {};
var flag: bool = false;
proc put(x: 0..2) -> bool {
  if (x in l) {
    return false;
  }
  l = list_add_tail(l, x);
  return true;
}
proc slow(x: 0..2) -> 0..3 {
  local r: 0..3 = 0;
P1:
  r = x + 1;
P2:
  return r;
}
op f(a: 0..2) {
  local k: 0..2 = 0;
  local ok: bool = false;
  local v: 0..3 = 0;
F1:
  choose k in 0..2 where k != a;
  either { ok = put(k); } or { s = s + {k}; }
  v = slow(k);
F2:
  await flag || len(l) < 3;
  if (len(l) > 0 && list_first(l) == a) { l = list_del(l, a); }
  flag = !flag;
  return;
}
client { threads 2; }
""",
}


@pytest.mark.parametrize("mode", ["int", "bv"])
@pytest.mark.parametrize("name", sorted(SMALL_SPECS))
def test_z3_step_encoding_matches_on_small_specs(name: str, mode: str, spec) -> None:  # type: ignore[no-untyped-def]
    program = spec.program(SMALL_SPECS[name])
    with num.use(_numbers(mode, program)):
        _matches_on_small_specs(program)


def _matches_on_small_specs(program: ir.Program) -> None:
    interp = Interpreter(program)
    for state in _sample_states(program, 60, seed=5, depth=6):
        for t in range(program.client.threads):
            cases: list[tuple[str | None, tuple[Any, ...]]] = [(None, ())] if \
                state.threads[t] else [(op, args) for op in program.ops_for(t)
                                       for args in interp.arg_domains[op]]
            for op, args in cases:
                want = _interp_outcomes(program, interp, state, t, op, args)
                got = _z3_outcomes(program, interp, state, t, op, args)
                assert got == want, (t, op, args, state)
