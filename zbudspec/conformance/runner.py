"""Running cases against an implementation: per case pass, fail, error or skip.

A case passes when every step's result equals the expected one and every pinned state
equals the implementation's `inspect` (both in canonical form, `abstract.py`). The first
divergence stops the case. A transport failure (crash, timeout, protocol, flood) is an
`error` for the case; the runner then starts a fresh implementation for the next case.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from zbudspec.conformance import abstract, scheduler
from zbudspec.conformance.cases import Case, Step, Suite
from zbudspec.conformance.protocol import (
    Implementation,
    ImplError,
    Json,
    TransportFailure,
    error_of,
)
from zbudspec.conformance.schedule_map import MappingError
from zbudspec.conformance.scheduler import ExpectedBug, Replay, ScheduleDivergence

Factory = Callable[[], Implementation]
VERDICTS = ("pass", "fail", "error", "skip")


@dataclass(frozen=True, slots=True)
class Divergence:
    step: int  # 1-based
    thread: int
    op: str
    args: Mapping[str, Json]
    expected: Json
    actual: Json
    state_diff: tuple[str, ...] = ()
    note: str = ""

    def render(self) -> str:
        args = ", ".join(f"{k}={json.dumps(v)}" for k, v in self.args.items())
        lines = [f"step {self.step}: thread {self.thread} {self.op}({args})"]
        if self.expected != self.actual:
            lines.append(f"  result: expected {json.dumps(self.expected)}, "
                         f"got {json.dumps(self.actual)}")
        if self.state_diff:
            lines.append("  state after the step (pages renamed by LRU position), "
                         "expected vs implementation:")
            lines.extend(f"    {d}" for d in self.state_diff)
        if self.note:
            lines.append(f"  ({self.note})")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    verdict: str
    message: str = ""
    steps: int = 0  # steps run
    seconds: float = 0.0
    divergence: Divergence | None = None
    stderr: str = ""
    source: str = ""


@dataclass
class SuiteResult:
    implementation: str
    results: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def ops(self) -> int:
        return sum(r.steps for r in self.results)

    @property
    def ok(self) -> bool:
        return self.count("fail") == 0 and self.count("error") == 0


class _Fail(Exception):
    def __init__(self, div: Divergence) -> None:
        super().__init__(div.render())
        self.div = div


class _Skip(Exception):
    pass


class Session:
    """One implementation instance, restarted after a transport failure."""

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.impl: Implementation | None = None
        self.features: frozenset[str] = frozenset()
        self.name = "?"

    def get(self) -> Implementation:
        if self.impl is None:
            impl = self.factory()
            self.impl = impl
            hello = impl.hello()
            self.features = frozenset(str(f) for f in hello.get("features", ()))
            self.name = str(hello.get("implementation", "?"))
        return self.impl

    def drop(self) -> None:
        if self.impl is not None:
            with contextlib.suppress(TransportFailure, ImplError, OSError):
                self.impl.close()
            self.impl = None

    def close(self) -> None:
        self.drop()


def _translate_page(args: Mapping[str, Json], spec_before: Mapping[str, Json] | None,
                    impl_before: Mapping[str, Json] | None) -> dict[str, Json]:
    """A spec page argument as the implementation names it (D22): by LRU position."""
    out = dict(args)
    if "page" not in out or spec_before is None or impl_before is None:
        return out
    spec_lru = list(spec_before.get("lru") or [])
    impl_lru = list(impl_before.get("lru") or [])
    p = out["page"]
    out["page"] = impl_lru[spec_lru.index(p)] if p in spec_lru and \
        spec_lru.index(p) < len(impl_lru) else -1
    return out


def _same_result(step: Step, actual: Json, spec_after: Mapping[str, Json] | None,
                 impl_after: Mapping[str, Json] | None) -> bool:
    exp = step.result
    if isinstance(exp, dict) and isinstance(actual, dict) and "page" in exp:
        if exp.get("slot") != actual.get("slot") or set(exp) != set(actual):
            return False
        if spec_after is None or impl_after is None:
            return True  # page names cannot be matched without states
        ren_e = abstract.canonical_names(abstract.normal(spec_after))
        ren_a = abstract.canonical_names(abstract.normal(impl_after))
        return bool(ren_e.get(exp["page"], -1) == ren_a.get(actual["page"], -2))
    return bool(exp == actual)


class _Guarded:
    """An implementation whose exceptions all become `ImplError` (or `TransportFailure`)."""

    def __init__(self, impl: Implementation) -> None:
        self.impl = impl

    def create(self, level: str, config: Mapping[str, Json]) -> None:
        try:
            self.impl.create(level, config)
        except (ImplError, TransportFailure):
            raise
        except Exception as exc:
            raise error_of(exc) from None

    def op(self, thread: int, op: str, args: Mapping[str, Json],
           env: Mapping[str, Sequence[str]] | None) -> Json:
        try:
            return self.impl.op(thread, op, args, env)
        except (ImplError, TransportFailure):
            raise
        except Exception as exc:
            raise error_of(exc) from None

    def op_inspect(self, thread: int, op: str, args: Mapping[str, Json],
                   env: Mapping[str, Sequence[str]] | None) -> tuple[Json, Mapping[str, Json]]:
        """The operation and the state after it; one round trip where the transport can."""
        both = getattr(self.impl, "op_inspect", None)
        if both is None:
            return self.op(thread, op, args, env), self.inspect()
        try:
            result, state = both(thread, op, args, env)
            return result, state
        except (ImplError, TransportFailure):
            raise
        except Exception as exc:
            raise error_of(exc) from None

    def inspect(self) -> Mapping[str, Json]:
        try:
            return self.impl.inspect()
        except (ImplError, TransportFailure):
            raise
        except Exception as exc:
            raise error_of(exc) from None


def run_case(session: Session, case: Case) -> CaseResult:
    t0 = time.perf_counter()
    steps_run = 0
    try:
        impl = _Guarded(session.get())
        if case.threads > 1 and case.schedule is None:
            raise _Skip("a concurrent case without a schedule")
        if case.schedule is not None and "schedule" not in session.features:
            raise _Skip("a concurrent case: the implementation does not offer `schedule`")
        if case.level not in session.features:
            raise _Skip(f"the implementation does not offer level `{case.level}`")
        try:
            impl.create(case.level, case.pool_config().to_json())
        except ImplError as exc:
            if exc.code == "unsupported":
                raise _Skip(f"create: {exc.message}") from None
            raise
        if case.schedule is not None:
            return _run_scheduled(session, case, t0)
        inspect = "inspect" in session.features
        spec_before: Mapping[str, Json] | None = {}
        impl_before: Mapping[str, Json] | None = None
        for n, step in enumerate(case.steps, start=1):
            args = step.args
            if "page" in args and inspect:
                if impl_before is None:
                    impl_before = impl.inspect()
                args = _translate_page(args, spec_before, impl_before)
            steps_run = n
            want_state = inspect and step.state is not None
            impl_after: Mapping[str, Json] | None = None
            try:
                if want_state:
                    actual, impl_after = impl.op_inspect(step.thread, step.op, args, step.env)
                else:
                    actual = impl.op(step.thread, step.op, args, step.env)
            except ImplError as exc:
                if exc.code == "bug" and step.expect_bug:
                    break  # the spec faults here too: the case passes and stops
                if exc.code == "bug":
                    raise _Fail(Divergence(n, step.thread, step.op, step.args, step.result,
                                           f"BUG: {exc.message}")) from None
                if exc.code == "unsupported":
                    raise _Skip(f"step {n}: {exc.message}") from None
                raise
            if step.expect_bug:
                raise _Fail(Divergence(n, step.thread, step.op, step.args,
                                       f"BUG: {step.expect_bug}", actual))
            diff: list[str] = []
            if impl_after is not None and step.state is not None:
                diff = abstract.compare(step.state, impl_after)
            if diff or not _same_result(step, actual, step.state, impl_after):
                raise _Fail(Divergence(n, step.thread, step.op, step.args, step.result, actual,
                                       tuple(diff), step.note))
            spec_before = step.state if step.state is not None and "lru" in step.state \
                else None
            impl_before = impl_after
        return CaseResult(case.name, "pass", steps=steps_run,
                          seconds=time.perf_counter() - t0, source=case.source)
    except _Fail as f:
        return CaseResult(case.name, "fail", f.div.render(), steps_run,
                          time.perf_counter() - t0, f.div, source=case.source)
    except _Skip as s:
        return CaseResult(case.name, "skip", str(s), steps_run, time.perf_counter() - t0,
                          source=case.source)
    except TransportFailure as tf:
        session.drop()
        return CaseResult(case.name, "error", f"{tf.kind}: {tf.message}", steps_run,
                          time.perf_counter() - t0, stderr=tf.stderr, source=case.source)
    except Exception as exc:  # an error reply (ImplError), or hello raised in process
        err = error_of(exc)
        return CaseResult(case.name, "error", f"step {steps_run}: {err.code}: {err.message}",
                          steps_run, time.perf_counter() - t0, source=case.source)


def _run_scheduled(session: Session, case: Case, t0: float) -> CaseResult:
    """A concurrent case: its schedule replayed through `spawn`/`proceed` (scheduler.py)."""
    impl = session.get()
    # a subprocess has its own per-request limit (`--timeout`); in process the adapter waits
    timeout = None if hasattr(impl, "limits") else scheduler.IN_PROCESS_TIMEOUT
    replay = Replay(impl, case, _translate_page, timeout)

    def done(verdict: str, message: str = "", div: Divergence | None = None) -> CaseResult:
        return CaseResult(case.name, verdict, message, replay.ops_run,
                          time.perf_counter() - t0, div, source=case.source)

    try:
        replay.run()
    except ExpectedBug:
        return done("pass")
    except ScheduleDivergence as sd:
        step = case.steps[sd.step - 1]
        div = Divergence(sd.step, step.thread, step.op, step.args, sd.expected, sd.actual,
                         sd.state_diff, sd.message)
        return done("fail", div.render(), div)
    except MappingError as exc:
        return done("error", f"schedule: {exc}")
    except TimeoutError as exc:
        session.drop()
        return done("error", f"timeout: {exc}")
    except ImplError as exc:
        if exc.code == "unsupported":
            return done("skip", exc.message)
        return done("error", f"{exc.code}: {exc.message}")
    return done("pass")


def run_suite(factory: Factory, suite: Suite | Sequence[Case],
              progress: Callable[[CaseResult], None] | None = None) -> SuiteResult:
    cases = suite.cases if isinstance(suite, Suite) else tuple(suite)
    session = Session(factory)
    out = SuiteResult("?")
    t0 = time.perf_counter()
    try:
        for case in cases:
            r = run_case(session, case)
            out.results.append(r)
            if session.name != "?":
                out.implementation = session.name
            if progress is not None:
                progress(r)
    finally:
        session.close()
    out.seconds = time.perf_counter() - t0
    return out
