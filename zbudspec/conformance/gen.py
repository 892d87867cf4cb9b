"""`zbudspec gen`: conformance cases from a spec, with the coverage they reach.

Four sources, in this order, each adding cases only for what it shows:
1. directed scenarios (`gen_scenarios`), at the kernel's geometry and at the spec's small
   default config;
2. concurrent scenarios (`gen_races`): the variants' counterexamples and v3's races as
   schedules, on the small config;
3. coverage-guided random walks (`gen_walk`), sequential and concurrent;
4. a breadth-first search over schedules for every target still missed.
The interpreter computes every expected result and state. Output is a pure function of the
spec and the parameters: fixed seeds, sorted names, no timings in files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zbudspec.conformance.cases import Case, dumps_case
from zbudspec.conformance.gen_cover import targets
from zbudspec.conformance.gen_emit import abstract_state, spec_name, to_case
from zbudspec.conformance.gen_model import Model, ModelError, Rec, Script
from zbudspec.conformance.gen_races import RACES, no_mapcount_counterexample, replay_schedule
from zbudspec.conformance.gen_scenarios import SCENARIOS, Geo
from zbudspec.conformance.gen_walk import bfs_for, walks
from zbudspec.engines.state import State
from zbudspec.pipeline import bundled_spec
from zbudspec.trace_json import to_json

Defines = tuple[tuple[str, str], ...]

# The kernel's geometry (x86: 4 KiB pages, NCHUNKS_ORDER 6) with room for the scenarios;
# POOL_LIMIT 8 keeps the pool from being full unless a scenario lowers it.
KERNEL: Defines = (("PAGE_SHIFT", "12"), ("NCHUNKS_ORDER", "6"), ("NPAGES", "4"),
                   ("NOFFSETS", "5"), ("NTAGS", "2"), ("POOL_LIMIT", "8"))
# The spec's small default config, with the pool limit out of the way (NPAGES is 2).
SMALL: Defines = (("POOL_LIMIT", "2"),)
PROFILES: dict[str, Defines] = {"kernel": KERNEL, "small": SMALL}
# Walks: a pool that fills after one page, so reclaim runs often.
WALK_KERNEL: Defines = (("NPAGES", "3"), ("NOFFSETS", "4"), ("POOL_LIMIT", "1"))
SEED = 20131008  # the day Seth Jennings acked patches 1-4


@dataclass
class GenReport:
    spec: str
    cases: list[Case] = field(default_factory=list)
    findings: list[dict[str, object]] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    hit: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # scenarios that do not apply
    first_hit: dict[str, str] = field(default_factory=dict)  # target -> case

    @property
    def missed(self) -> list[str]:
        return [t for t in self.targets if t not in self.hit]


class Generator:
    def __init__(self, spec: Path, defines: Defines = (),
                 progress: Callable[[str], None] | None = None,
                 walk_scale: float = 1.0, bfs_states: int = 8_000) -> None:
        self.spec = spec
        self.defines = defines
        self.progress = progress or (lambda _msg: None)
        self.walk_scale = walk_scale
        self.bfs_states = bfs_states
        self.models: dict[tuple[Defines, int], Model] = {}
        base = self.model((), 1)
        self.report = GenReport(spec_name(spec), targets=targets(base.program))

    def model(self, extra: Defines, threads: int) -> Model:
        """The spec's default config, then the user's -D, then `extra` (later wins)."""
        merged: dict[str, str] = {}
        for k, v in (*self.defines, *extra):
            merged[k] = v
        key = (tuple(sorted(merged.items())), threads)
        if key not in self.models:
            self.models[key] = Model(self.spec, key[0], "default" if _has_default(self.spec)
                                     else None, threads)
        return self.models[key]

    # ---- collecting
    def add(self, model: Model, name: str, description: str, steps: Sequence[Rec],
            threads: int, bug: bool = False) -> None:
        hits = {h for r in steps for h in r.hits}
        order = {t: i for i, t in enumerate(self.report.targets)}
        covers = sorted(hits & order.keys(), key=order.__getitem__)
        case = to_case(model, name, description, steps, covers, threads, bug)
        for t in covers:
            self.report.first_hit.setdefault(t, name)
        self.report.hit |= hits
        self.report.cases.append(case)

    def run(self) -> GenReport:
        self.directed()
        self.races()
        self.walks()
        self.search()
        return self.report

    def directed(self) -> None:
        for sc in SCENARIOS:
            for prof in sc.profiles:
                model = self.model((*_profile(prof, self.defines), *sc.params), sc.threads)
                name = f"{prof}-{sc.name}"
                s = Script(model)
                try:
                    sc.build(s, Geo.of(model))
                except ModelError as exc:
                    self.report.skipped.append(f"{name}: {exc}")
                    continue
                self.add(model, name, sc.purpose, s.steps, sc.threads)
        self.progress(f"directed scenarios: {len(self.report.cases)} cases")

    def races(self) -> None:
        for r in RACES:
            model = self.model(r.params, 2)
            s = Script(model)
            name = f"small-race-{r.name}"
            try:
                r.build(s)
            except ModelError as exc:
                self.report.skipped.append(f"{name}: {exc}")
                continue
            if r.finding:
                self.add(model, name, r.purpose, s.steps, 2, bug=True)
            else:
                self.add(model, name, r.purpose, s.steps, 2)
        variant = self.spec.parent / "variants" / "no-mapcount.zspec"
        if not variant.exists():
            return
        try:
            sched = no_mapcount_counterexample(variant)
            vmodel = Model(variant)
            vs = Script(vmodel)
            replay_schedule_until_violation(vs, sched)
            self.finding(vmodel, "no-mapcount-seed-race", "the no-mapcount variant's shortest "
                         "counterexample: writeback reads a buddy invalidate freed", vs.steps)
            model = self.model((("SWAPCACHE_PIN", "false"),), 2)
            s = Script(model)
            steps = replay_schedule(s, sched)
        except (ModelError, StopIteration) as exc:
            self.report.skipped.append(f"no-mapcount schedule: {exc}")
            return
        self.add(model, "small-race-no-mapcount-schedule-on-v3", "the no-mapcount variant's "
                 "counterexample schedule on v3 (swap-cache pin off, as in the variant): the "
                 "map count defers invalidate's free; writeback's unmap frees and answers "
                 "EFAULT, writeback returns 0 without writing", steps, 2)

    def finding(self, model: Model, name: str, purpose: str, steps: Sequence[Rec]) -> None:
        last = steps[-1] if steps else None
        if last is None or last.violation is None:
            self.report.skipped.append(f"{name}: expected a violation, the run has none")
            return
        program = model.program

        def result(r: Rec) -> object:
            rt = program.procs[r.op].result
            return to_json(rt, r.result) if r.finished and rt is not None else None

        self.report.findings.append({
            "name": name, "description": purpose, "spec": spec_name(model.spec),
            "params": dict(model.params), "threads": program.client.threads,
            "violation": last.violation.message,
            "schedule": [{"thread": r.thread, "proc": r.proc, "label": r.label,
                          "started": r.started,
                          "args": model.arg_spelling(r.op, r.args) if r.started else {},
                          "picks": [f"{w}={v}" for w, v in r.picks],
                          "result": result(r)}
                         for r in steps],
            "state_before_violation": abstract_state(model, _last_state(model, steps)),
        })

    def walks(self) -> None:
        plans: list[tuple[str, Defines, int, int, int]] = [
            ("kernel", (*KERNEL, *WALK_KERNEL), 1, 40, 12),
            ("small", (), 1, 40, 10),
            ("small", (), 2, 60, 16),
        ]
        covered = set(self.report.hit)
        for i, (prof, extra, threads, count, length) in enumerate(plans):
            model = self.model(extra, threads)
            kind = "walk" if threads == 1 else "cwalk"
            found_all = walks(model, SEED + i, max(1, int(count * self.walk_scale)), length,
                              threads > 1, covered)
            for n, found in enumerate(found_all, start=1):
                self.add(model, f"{prof}-{kind}-{n:02d}",
                         "random walk kept for reaching " + ", ".join(found.new[:6])
                         + (" ..." if len(found.new) > 6 else ""), found.steps, threads)
        self.progress(f"walks: {len(self.report.cases)} cases")

    def search(self) -> None:
        missing = set(self.report.missed)
        if not missing or self.bfs_states <= 0:
            return
        model = self.model((), 2)
        n = 0
        for found in bfs_for(model, missing, self.bfs_states):
            n += 1
            self.add(model, f"small-bfs-{n:02d}", "shortest schedule found for "
                     + ", ".join(found.new), found.steps, 2)
        self.progress(f"search: {n} cases")


def replay_schedule_until_violation(s: Script, sched: list[tuple[int, str | None,
                                                                 tuple[str, ...],
                                                                 tuple[int, ...]]]) -> None:
    from zbudspec.conformance.gen_races import replay_schedule as _rs
    try:
        _rs(s, sched)
    except ModelError:
        if s.violated is None:
            raise


def _last_state(model: Model, steps: Sequence[Rec]) -> State:
    for r in reversed(steps):
        if r.state is not None and r.violation is None:
            return r.state
    return model.interp.initial()


def _profile(name: str, defines: Defines) -> Defines:
    return PROFILES[name]


def _has_default(spec: Path) -> bool:
    from zbudspec.semantics.loader import load
    from zbudspec.syntax import ast as A

    return any(isinstance(d, A.ConfigDecl) and d.name == "default" for d in load(spec).decls)


# ---- writing


def write_suite(report: GenReport, out: Path) -> list[Path]:
    """Replace the generated files in `out` by the report's cases and metadata."""
    out.mkdir(parents=True, exist_ok=True)
    for old in sorted(out.glob("*.json")):
        old.unlink()
    written = []
    for case in report.cases:
        p = out / f"{case.name}.json"
        p.write_text(dumps_case(case), encoding="utf-8")
        written.append(p)
    for f in report.findings:
        p = out / f"_finding-{f['name']}.json"
        p.write_text(_dumps(f), encoding="utf-8")
        written.append(p)
    cov = {"spec": report.spec, "targets": len(report.targets), "hit": len(
        [t for t in report.targets if t in report.hit]), "missed": report.missed,
        "skipped": report.skipped, "first_hit": {t: report.first_hit.get(t)
                                                 for t in report.targets}}
    p = out / "_coverage.json"
    p.write_text(_dumps(cov), encoding="utf-8")
    written.append(p)
    return written


def _dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def generate(spec: Path | None = None, defines: Defines = (),
             progress: Callable[[str], None] | None = None) -> GenReport:
    return Generator(spec or bundled_spec(), defines, progress).run()
