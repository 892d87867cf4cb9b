"""Conformance cases and suites: frozen data, read from and written to reviewable JSON.

A suite is a directory; every `*.json` file under it (recursively, in sorted path order) is
one case, except files whose name starts with `_` (suite metadata, e.g. a coverage report).
A case file (format version `SUITE_VERSION`, keys sorted, two-space indent):

```
{"zbudspec_conformance": 1, "name": "store-enospc-3969", "description": "...",
 "covers": ["op:zswap_frontswap_store", "return:zbud_alloc@200"],
 "level": "zswap", "spec": "zswap.zspec", "threads": 1,
 "params": {"PAGE_SHIFT": 12, "NCHUNKS_ORDER": 6, "NPAGES": 3, ...},
 "steps": [{"thread": 0, "op": "zswap_frontswap_store",
            "args": {"offset": 0, "dlen": 3969, "tag": 1},
            "env": {"compress": ["ok"]}, "result": "ENOSPC",
            "state": {"pages_nr": 0, ...}, "note": "..."}],
 "schedule": null}
```

`params` are the spec's `-D` values (all of the spec's overridable parameters the case
relies on); `spec` is a bundled spec name (`zswap.zspec`, `zbud.zspec`,
`variants/accept-duplicates.zspec`). A step's `state` is the expected abstract state after it
(`trace_json` encoding, ghost variables left out, page names as the spec numbers them), or
only the variables it pins, or absent. A step with `expect_bug` (the spec's violation
message) must be answered with the error `bug`; the case then passes and stops there.
`schedule` (concurrent cases) lists the spec steps in
the order they ran: `{"thread", "proc", "label"}`. See `conformance/PROTOCOL.md` for the
values of `op`, `args`, `env` and `result`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUITE_VERSION = 1
MARKER = "zbudspec_conformance"

LEVELS = ("zswap", "zbud")
ENV_CONTROLS: dict[str, tuple[str, ...]] = {
    "compress": ("ok", "fail"),
    "alloc_page": ("ok", "fail"),
    "swapcache": ("NEW", "EXIST", "FAIL"),
}
# The spec's parameter that each `create` field carries (PROTOCOL.md, `create`).
CONFIG_PARAMS: dict[str, str] = {
    "page_shift": "PAGE_SHIFT",
    "nchunks_order": "NCHUNKS_ORDER",
    "page_budget": "NPAGES",
    "offsets": "NOFFSETS",
    "tags": "NTAGS",
    "max_refs": "MAX_REFS",
    "pool_limit": "POOL_LIMIT",
}
# The spec's own defaults (spec/zbud.zspec, spec/zswap.zspec) for parameters a case omits.
SPEC_DEFAULTS: dict[str, int | bool] = {
    "PAGE_SHIFT": 12, "NCHUNKS_ORDER": 6, "NPAGES": 3, "NOFFSETS": 3, "NTAGS": 2,
    "MAX_REFS": 7, "POOL_LIMIT": 2, "SWAPCACHE_PIN": True,
}

Json = Any


class CaseError(Exception):
    """A case or suite file is malformed: the message names the file and what was expected."""


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """What `create` carries (PROTOCOL.md): the pool's parameters."""

    level: str
    page_shift: int
    nchunks_order: int
    page_budget: int
    offsets: int
    tags: int
    max_refs: int
    pool_limit: int | None
    duplicates: str  # "refuse" | "accept"

    def to_json(self) -> dict[str, Json]:
        return {"page_shift": self.page_shift, "nchunks_order": self.nchunks_order,
                "page_budget": self.page_budget, "offsets": self.offsets, "tags": self.tags,
                "max_refs": self.max_refs, "pool_limit": self.pool_limit,
                "duplicates": self.duplicates}

    @staticmethod
    def from_json(level: str, data: Mapping[str, Json]) -> PoolConfig:
        """The inverse of `to_json` (implementations' side); KeyError/TypeError if malformed."""
        limit = data.get("pool_limit")
        return PoolConfig(level, int(data["page_shift"]), int(data["nchunks_order"]),
                          int(data["page_budget"]), int(data["offsets"]), int(data["tags"]),
                          int(data.get("max_refs", 7)), None if limit is None else int(limit),
                          str(data.get("duplicates", "refuse")))


@dataclass(frozen=True, slots=True)
class Step:
    """One operation of a case, on one thread, with its pinned environment and expectations."""

    thread: int
    op: str
    args: Mapping[str, Json]
    env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    result: Json = None
    state: Mapping[str, Json] | None = None  # expected (pinned) abstract state after the step
    note: str = ""
    expect_bug: str = ""  # the implementation must answer `bug` here (the spec's violation)
    # the spec's state (or the variables it pins) when the operation started: concurrent
    # cases give `lru` for an operation with a `page` argument, to translate it (D22)
    before: Mapping[str, Json] | None = None
    unfinished: bool = False  # the spec run stops (expect_bug) before this operation returns


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    thread: int
    proc: str
    label: str


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    description: str
    covers: tuple[str, ...]
    level: str
    spec: str
    params: Mapping[str, int | bool]
    steps: tuple[Step, ...]
    threads: int = 1
    schedule: tuple[ScheduleEntry, ...] | None = None
    source: str = ""  # the file it was read from (not written)

    def param(self, name: str) -> int | bool:
        return self.params.get(name, SPEC_DEFAULTS[name])

    def pool_config(self) -> PoolConfig:
        def num(name: str) -> int:
            v = self.param(name)
            return int(v)
        return PoolConfig(self.level, num("PAGE_SHIFT"), num("NCHUNKS_ORDER"), num("NPAGES"),
                          num("NOFFSETS"), num("NTAGS"), num("MAX_REFS"), num("POOL_LIMIT"),
                          "accept" if "accept-duplicates" in self.spec else "refuse")


@dataclass(frozen=True, slots=True)
class Suite:
    root: Path
    cases: tuple[Case, ...]


# ---- writing

def step_json(s: Step) -> dict[str, Json]:
    out: dict[str, Json] = {"thread": s.thread, "op": s.op, "args": dict(s.args),
                            "result": s.result}
    if s.env:
        out["env"] = {k: list(v) for k, v in s.env.items()}
    if s.state is not None:
        out["state"] = dict(s.state)
    if s.note:
        out["note"] = s.note
    if s.expect_bug:
        out["expect_bug"] = s.expect_bug
    if s.before is not None:
        out["before"] = dict(s.before)
    if s.unfinished:
        out["unfinished"] = True
    return out


def case_json(case: Case) -> dict[str, Json]:
    return {
        MARKER: SUITE_VERSION, "name": case.name, "description": case.description,
        "covers": list(case.covers), "level": case.level, "spec": case.spec,
        "params": dict(case.params), "threads": case.threads,
        "steps": [step_json(s) for s in case.steps],
        "schedule": None if case.schedule is None else
        [{"thread": e.thread, "proc": e.proc, "label": e.label} for e in case.schedule],
    }


def dumps_case(case: Case) -> str:
    """Deterministic text: sorted keys, two-space indent, a final newline."""
    return json.dumps(case_json(case), sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def case_filename(case: Case) -> str:
    return f"{case.name}.json"


def dump_case(case: Case, directory: Path) -> Path:
    """Write `case` as `directory/NAME.json`; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / case_filename(case)
    path.write_text(dumps_case(case), encoding="utf-8")
    return path


# ---- reading

class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, what: str) -> CaseError:
        return CaseError(f"{self.where}: {what}")

    def get(self, obj: Mapping[str, Json], key: str, kind: type | tuple[type, ...],
            ctx: str, default: Json = ..., optional: bool = False) -> Json:
        if key not in obj or (optional and obj[key] is None):
            if default is not ...:
                return default
            raise self.fail(f"{ctx}: missing `{key}`")
        v = obj[key]
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            names = kind.__name__ if isinstance(kind, type) else \
                " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{ctx}: `{key}` must be {_article(names)}, got {json.dumps(v)}")
        return v


def _article(names: str) -> str:
    table = {"str": "a string", "int": "an integer", "dict": "an object", "list": "an array",
             "bool": "a boolean"}
    return " or ".join(table.get(n, n) for n in names.split(" or "))


def _step(r: _Reader, data: Json, n: int) -> Step:
    ctx = f"step {n}"
    if not isinstance(data, dict):
        raise r.fail(f"{ctx}: expected an object")
    thread = r.get(data, "thread", int, ctx)
    op = r.get(data, "op", str, ctx)
    args = r.get(data, "args", dict, ctx, default={})
    env_raw = r.get(data, "env", dict, ctx, default={}, optional=True)
    env: dict[str, tuple[str, ...]] = {}
    for k, v in env_raw.items():
        if k not in ENV_CONTROLS:
            raise r.fail(f"{ctx}: unknown environment control `{k}` (expected one of "
                         f"{', '.join(ENV_CONTROLS)})")
        if not isinstance(v, list) or any(x not in ENV_CONTROLS[k] for x in v):
            raise r.fail(f"{ctx}: `env.{k}` must be an array of "
                         f"{', '.join(map(json.dumps, ENV_CONTROLS[k]))}")
        env[k] = tuple(v)
    if "result" not in data:
        raise r.fail(f"{ctx}: missing `result` (null when the operation returns none)")
    state = r.get(data, "state", dict, ctx, default=None, optional=True)
    note = r.get(data, "note", str, ctx, default="")
    expect_bug = r.get(data, "expect_bug", str, ctx, default="")
    before = r.get(data, "before", dict, ctx, default=None, optional=True)
    unfinished = r.get(data, "unfinished", bool, ctx, default=False)
    return Step(thread, op, dict(args), env, data["result"], state, note, expect_bug, before,
                unfinished)


def parse_case(data: Json, where: str) -> Case:
    """A case from its JSON object; `where` names the file in error messages."""
    r = _Reader(where)
    if not isinstance(data, dict):
        raise r.fail("expected a JSON object (a conformance case)")
    version = data.get(MARKER)
    if version != SUITE_VERSION:
        raise r.fail(f"not a zbudspec conformance case of version {SUITE_VERSION} "
                     f"(`{MARKER}` is {json.dumps(version)})")
    name = r.get(data, "name", str, "case")
    ctx = f"case `{name}`"
    level = r.get(data, "level", str, ctx)
    if level not in LEVELS:
        raise r.fail(f"{ctx}: `level` must be one of {', '.join(LEVELS)}, got {level!r}")
    params = r.get(data, "params", dict, ctx, default={})
    for k, v in params.items():
        if not isinstance(v, (int, bool)):
            raise r.fail(f"{ctx}: parameter `{k}` must be an integer or a boolean")
    steps_raw = r.get(data, "steps", list, ctx)
    steps = tuple(_step(r, s, i) for i, s in enumerate(steps_raw, start=1))
    threads = r.get(data, "threads", int, ctx, default=1)
    for i, s in enumerate(steps, start=1):
        if not 0 <= s.thread < threads:
            raise r.fail(f"{ctx}: step {i} runs on thread {s.thread}, but the case has "
                         f"{threads} thread(s)")
    sched_raw = r.get(data, "schedule", list, ctx, default=None, optional=True)
    schedule: tuple[ScheduleEntry, ...] | None = None
    if sched_raw is not None:
        entries = []
        for i, e in enumerate(sched_raw, start=1):
            if not isinstance(e, dict):
                raise r.fail(f"{ctx}: schedule entry {i}: expected an object")
            sctx = f"{ctx}: schedule entry {i}"
            entries.append(ScheduleEntry(r.get(e, "thread", int, sctx),
                                         r.get(e, "proc", str, sctx),
                                         r.get(e, "label", str, sctx)))
        schedule = tuple(entries)
    covers = r.get(data, "covers", list, ctx, default=[])
    return Case(name=name, description=r.get(data, "description", str, ctx, default=""),
                covers=tuple(str(c) for c in covers), level=level,
                spec=r.get(data, "spec", str, ctx,
                           default="zbud.zspec" if level == "zbud" else "zswap.zspec"),
                params=dict(params), steps=steps, threads=threads, schedule=schedule,
                source=where)


def load_case(path: Path) -> Case:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    return parse_case(data, str(path))


def case_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.json")
                  if p.is_file() and not p.name.startswith("_"))


def load_suite(directory: Path | str) -> Suite:
    """Every case under `directory`; names must be unique. CaseError on the first bad file."""
    root = Path(directory)
    if not root.is_dir():
        raise CaseError(f"{root}: no such suite directory")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in case_files(root):
        case = load_case(path)
        if case.name in seen:
            raise CaseError(f"{path}: case name `{case.name}` is also used by {seen[case.name]}")
        seen[case.name] = str(path)
        cases.append(case)
    return Suite(root, tuple(cases))


def suite_from(cases: Sequence[Case], root: Path | str = "<memory>") -> Suite:
    return Suite(Path(root), tuple(cases))
