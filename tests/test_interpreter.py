"""The interpreter is the semantics: steps, enabledness, locks, nondeterminism, calls."""

from __future__ import annotations

from conftest import SpecFactory

from zbudspec.engines.explicit import Verdict, search
from zbudspec.engines.interpreter import Interpreter

LOCKED_COUNTER = """
var n: 0..3 = 0;
lock l;
op inc() {
S1:
  spin_lock(l);
  n = n + 1;
S2:
  spin_unlock(l);
  return;
}
client { threads 2; ops inc; }
"""


def test_a_step_that_needs_a_held_lock_is_disabled(spec: SpecFactory) -> None:
    p = spec.program(LOCKED_COUNTER)
    interp = Interpreter(p)
    s0 = interp.initial()
    (first,) = [o for o in interp.thread_successors(s0, 0)]
    assert first.state is not None and first.state.locks == (0,)
    # thread 1 cannot start: its first step takes the lock thread 0 holds
    assert list(interp.thread_successors(first.state, 1)) == []
    # thread 0 can go on
    (second,) = list(interp.thread_successors(first.state, 0))
    assert second.state is not None and second.state.locks == (None,)
    assert second.transition.finished


def test_no_lost_update_under_the_lock_all_interleavings(spec: SpecFactory) -> None:
    p = spec.program(LOCKED_COUNTER + "invariant bounded: n <= 2;\n")
    res = search(p, depth=4)
    assert res.verdict is Verdict.NO_VIOLATION
    res = search(p, depth=6)
    assert res.verdict is Verdict.VIOLATED  # a third increment overflows the bound
    assert res.violation is not None and res.violation.name == "bounded"


def test_reacquiring_a_held_lock_is_a_self_deadlock(spec: SpecFactory) -> None:
    p = spec.program("""
lock l;
op f() {
S1:
  spin_lock(l);
  spin_lock(l);
  spin_unlock(l);
  return;
}
client { threads 1; }
""")
    res = search(p, depth=2)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.kind == "lock"
    assert "already holds" in res.violation.message


def test_releasing_a_lock_not_held_is_a_violation(spec: SpecFactory) -> None:
    p = spec.program("""
lock l;
op f() {
S1:
  spin_unlock(l);
  return;
}
client { threads 1; }
""")
    res = search(p, depth=1)
    assert res.violation is not None and "does not hold" in res.violation.message


def test_ending_an_operation_holding_a_lock_is_a_violation(spec: SpecFactory) -> None:
    p = spec.program("""
lock l;
op f() {
S1:
  spin_lock(l);
  return;
}
client { threads 1; }
""")
    res = search(p, depth=1)
    assert res.violation is not None and "ends holding `l`" in res.violation.message


def test_choose_enumerates_every_value_that_satisfies_where(spec: SpecFactory) -> None:
    p = spec.program("""
var seen: set of 0..7 = {};
op pick() {
  local x: 0..7 = 0;
S1:
  choose x in 0..7 where x % 3 == 1;
  seen = seen + {x};
  return;
}
client { threads 1; }
""")
    interp = Interpreter(p)
    outs = interp.successors(interp.initial())
    assert sorted(min(o.state.globals[0]) for o in outs if o.state) == [1, 4, 7]
    assert all(o.transition.picks[-1].what == "choose x" for o in outs)


def test_choose_from_nothing_blocks(spec: SpecFactory) -> None:
    p = spec.program("""
var x: 0..3 = 0;
op pick() {
  local y: 0..3 = 0;
S1:
  choose y in 0..3 where y > 5;
  x = y;
  return;
}
client { threads 1; }
""")
    interp = Interpreter(p)
    assert interp.successors(interp.initial()) == []


def test_either_branches_are_all_explored(spec: SpecFactory) -> None:
    p = spec.program("""
var x: 0..3 = 0;
op f() {
S1:
  either { x = 1; } or { x = 2; } or { x = 3; }
  return;
}
client { threads 1; }
""")
    interp = Interpreter(p)
    assert sorted(o.state.globals[0] for o in interp.successors(interp.initial())
                  if o.state) == [1, 2, 3]


def test_await_blocks_until_its_condition_holds(spec: SpecFactory) -> None:
    p = spec.program("""
var flag: bool = false;
var done: bool = false;
op waiter() {
W1:
  await flag;
  done = true;
  return;
}
op setter() {
S1:
  flag = true;
  return;
}
client { threads 2; thread 0 ops waiter; thread 1 ops setter; }
invariant done_after_flag: done ==> flag;
""")
    interp = Interpreter(p)
    s0 = interp.initial()
    assert list(interp.thread_successors(s0, 0)) == []
    res = search(p, depth=6)
    assert res.verdict in (Verdict.PROVED, Verdict.NO_VIOLATION)
    assert ("waiter", "W1") in res.coverage.steps


def test_multi_step_procedure_returns_its_value_to_the_caller(spec: SpecFactory) -> None:
    p = spec.program("""
var out: 0..9 = 0;
proc twice(a: 0..4) -> 0..9 {
  local r: 0..9 = 0;
T1:
  r = a;
T2:
  r = r + a;
  return r;
}
op f() {
  local v: 0..9 = 0;
F1:
  v = twice(3);
F2:
  out = v;
  return;
}
client { threads 1; }
invariant out_is_zero_or_six: out == 0 || out == 6;
""")
    res = search(p, depth=10)
    assert res.verdict is Verdict.PROVED
    assert {("twice", "T1"), ("twice", "T2"), ("f", "F2")} <= res.coverage.steps


def test_atomic_procedure_runs_inside_the_callers_step(spec: SpecFactory) -> None:
    p = spec.program("""
var a: 0..1 = 0;
var b: 0..1 = 0;
proc both() {
  a = 1;
  b = 1;
}
op f() {
S1:
  both();
  return;
}
op g() {
G1:
  assert a == b, "never half done";
  return;
}
client { threads 2; thread 0 ops f; thread 1 ops g; }
""")
    assert search(p, depth=4).verdict is Verdict.PROVED


def test_requires_is_an_environment_assumption(spec: SpecFactory) -> None:
    p = spec.program("""
var n: 0..2 = 0;
op f() requires (n < 2) {
S1:
  n = n + 1;
  return;
}
client { threads 1; }
""")
    res = search(p, depth=10)
    assert res.verdict is Verdict.PROVED  # n never leaves its range: f is not called at 2


def test_assigning_outside_a_range_is_a_violation(spec: SpecFactory) -> None:
    p = spec.program("""
var n: 0..2 = 0;
op f() {
S1:
  n = n + 1;
  return;
}
client { threads 1; }
""")
    res = search(p, depth=5)
    assert res.violation is not None and res.violation.kind == "range"
    assert len(res.trace) == 3


def test_a_range_fault_names_the_location_and_a_bad_key_is_its_own_fault(
        spec: SpecFactory) -> None:
    """An assignment's map keys are evaluated once, in order; the target's text is built
    only for the range message; a key outside the map's domain is reported after the
    stored value is checked, as when the keys were evaluated twice (D61)."""
    text = """
record R { a: 0..3, b: 0..3 }
var m: map[0..1] of map[0..2] of R = [_ -> [_ -> R { a: 0, b: 0 }]];
op f(i: 0..1, j: 0..3, v: 0..5) {
S1:
  m[i][j].b = v;
  return;
}
client { threads 1; }
"""
    p = spec.program(text)
    interp = Interpreter(p)
    s = interp.initial()

    def fault(args: tuple[int, int, int]) -> str | None:
        (o,) = interp.step_outcomes(s, 0, "f", args)
        return None if o.violation is None else o.violation.message

    assert fault((1, 2, 3)) is None
    assert fault((1, 2, 5)) == "`m[1][2].b` = 5 is outside 0..3"
    assert fault((0, 3, 1)) == "key 3 is outside the map's domain 0..2"
    assert fault((0, 3, 5)) == "`m[0][3].b` = 5 is outside 0..3"  # the value first
    (ok,) = interp.step_outcomes(s, 0, "f", (1, 2, 3))
    assert ok.state is not None
    assert ok.state.globals[0][1][2] == (0, 3) and ok.state.globals[0][0][2] == (0, 0)


def test_list_corruption_is_a_violation(spec: SpecFactory) -> None:
    p = spec.program("""
var lru: list of 0..1 = [];
op add(p: 0..1) {
S1:
  lru = list_add(lru, p);
  return;
}
client { threads 1; }
""")
    res = search(p, depth=3)
    assert res.violation is not None and res.violation.kind == "list"
    assert "already on the list" in res.violation.message


def test_kernel_list_order(spec: SpecFactory) -> None:
    p = spec.program("""
var l: list of 0..3 = [];
var ok: bool = false;
op f() {
S1:
  l = list_add(l, 1);
  l = list_add(l, 2);
  l = list_add_tail(l, 3);
  ok = list_first(l) == 2 && list_last(l) == 3 && len(l) == 3;
  l = list_del(l, 2);
  ok = ok && list_first(l) == 1 && list_replace(l, 1, 0) == list_add(list_del(l, 1), 0);
  return;
}
client { threads 1; }
invariant ordered: ok || l == [];
""")
    res = search(p, depth=1)
    assert res.verdict is Verdict.NO_VIOLATION
    assert res.states == 2
    # a second run list_adds 1 again: the kernel's list corruption, caught
    res = search(p, depth=2)
    assert res.violation is not None and res.violation.kind == "list"


def test_deadlock_is_reported(spec: SpecFactory) -> None:
    p = spec.program("""
lock a;
lock b;
op ab() {
S1:
  spin_lock(a);
S2:
  spin_lock(b);
  spin_unlock(b);
  spin_unlock(a);
  return;
}
op ba() {
T1:
  spin_lock(b);
T2:
  spin_lock(a);
  spin_unlock(a);
  spin_unlock(b);
  return;
}
client { threads 2; thread 0 ops ab; thread 1 ops ba; }
""")
    res = search(p, depth=4)
    assert res.verdict is Verdict.VIOLATED
    assert res.violation is not None and res.violation.kind == "deadlock"


def test_invariants_read_other_threads_state(spec: SpecFactory) -> None:
    p = spec.program("""
var x: 0..1 = 0;
op f(v: 0..1) {
S1:
  x = v;
S2:
  return;
}
client { threads 2; }
invariant at_s2_x_was_set:
  forall t in Thread: at(t, f.S2) ==> (local(t, f.v) == x || exists u in Thread: u != t);
""")
    assert search(p, depth=6).verdict is Verdict.PROVED
