"""Differential testing against the interpreter: random sequences, expected by the spec.

`expected_case` runs calls through the spec (`spec_model.py`) and records a case with the
spec's result and full abstract state after every call; a call on which the spec itself
faults (e.g. a page count past `MAX_REFS`) is dropped, never sent. `random_calls` draws
sequences biased towards the boundaries (sizes around the chunk size and the largest
allocation, offsets colliding, failures injected). `shrink` reduces a failing sequence by
delta debugging (drop chunks of calls, then single calls), then shrinks arguments and drops
environment pins, keeping only changes after which the implementation still diverges.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from zbudspec.conformance import abstract
from zbudspec.conformance.cases import Case, Step
from zbudspec.conformance.protocol import Json
from zbudspec.conformance.runner import CaseResult, Session, run_case
from zbudspec.conformance.spec_model import ModelError, SpecModel

RANDOM_PARAMS: dict[str, int | bool] = {
    "PAGE_SHIFT": 7, "NCHUNKS_ORDER": 6, "NPAGES": 3, "NOFFSETS": 4, "NTAGS": 2,
    "MAX_REFS": 7, "POOL_LIMIT": 2,
}


@dataclass(frozen=True, slots=True)
class Call:
    op: str
    args: Mapping[str, Json]
    env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def render(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args.items())
        env = " ".join(f"{k}={','.join(v)}" for k, v in self.env.items() if v)
        return f"{self.op}({args})" + (f"  [env {env}]" if env else "")


def expected_case(name: str, level: str, params: Mapping[str, int | bool],
                  calls: Sequence[Call], spec: str | None = None,
                  model: SpecModel | None = None) -> Case:
    spec = spec or ("zbud.zspec" if level == "zbud" else "zswap.zspec")
    model = model or SpecModel(level, spec, params)
    state = model.initial()
    steps: list[Step] = []
    for c in calls:
        try:
            got = model.run(state, c.op, c.args, c.env)
        except ModelError:
            continue  # an environment the spec does not allow here: not sent
        if got.violation is not None or got.state is None:
            continue
        state = got.state
        steps.append(Step(0, c.op, dict(c.args), dict(c.env), got.result,
                          abstract.normal(model.abstract(state))))
    return Case(name=name, description="differential: expected results and states from "
                "the interpreter", covers=(), level=level, spec=spec, params=dict(params),
                steps=tuple(steps))


def _size(rng: random.Random, page: int, chunk: int) -> int:
    largest = page - 2 * chunk
    pick = rng.random()
    if pick < 0.5:
        return rng.choice([1, chunk, chunk + 1, 2 * chunk, largest - 1, largest, largest + 1,
                           page // 2, page // 2 + 1, page])
    return rng.randint(1, page)


def _env(rng: random.Random, kinds: Sequence[str]) -> dict[str, tuple[str, ...]]:
    env: dict[str, tuple[str, ...]] = {}
    for k in kinds:
        r = rng.random()
        if k == "swapcache" and r < 0.3:
            env[k] = tuple(rng.choice(["NEW", "EXIST", "FAIL"]) for _ in range(3))
        elif k != "swapcache" and r < 0.1:
            env[k] = ("fail",)
    return env


def random_calls(rng: random.Random, level: str, params: Mapping[str, int | bool],
                 n: int) -> list[Call]:
    page = 1 << int(params["PAGE_SHIFT"])
    chunk = page >> int(params["NCHUNKS_ORDER"])
    offsets = int(params["NOFFSETS"])
    tags = int(params["NTAGS"])
    npages = int(params["NPAGES"])
    calls: list[Call] = []
    for _ in range(n):
        o = rng.randrange(offsets)
        r = rng.random()
        if level == "zswap":
            if r < 0.55:
                calls.append(Call("zswap_frontswap_store",
                                  {"offset": o, "dlen": _size(rng, page, chunk),
                                   "tag": rng.randrange(tags)},
                                  _env(rng, ("compress", "alloc_page", "swapcache"))))
            elif r < 0.75:
                calls.append(Call("zswap_frontswap_load", {"offset": o}))
            elif r < 0.9:
                calls.append(Call("zswap_frontswap_invalidate_page", {"offset": o}))
            elif r < 0.93:
                calls.append(Call("zswap_frontswap_invalidate_area", {}))
            else:
                calls.append(Call("zbud_migrate_page", {"page": rng.randrange(npages)}))
        else:
            if r < 0.4:
                calls.append(Call("zbud_alloc", {"size": _size(rng, page, chunk), "offset": o},
                                  _env(rng, ("alloc_page",))))
            elif r < 0.55:
                calls.append(Call("zbud_free", {"offset": o}))
            elif r < 0.67:
                calls.append(Call("zbud_map", {"offset": o}))
            elif r < 0.79:
                calls.append(Call("zbud_unmap", {"offset": o}))
            elif r < 0.86:
                calls.append(Call("zbud_reclaim_page", {"retries": rng.randrange(4)}))
            elif r < 0.9:
                calls.append(Call("zbud_get_pool_size", {}))
            elif r < 0.93:
                calls.append(Call("zbud_free_all", {}))
            else:
                calls.append(Call("zbud_migrate_page", {"page": rng.randrange(npages)}))
    return calls


Check = Callable[[Sequence[Call]], CaseResult]


def checker(session: Session, level: str, params: Mapping[str, int | bool],
            model: SpecModel) -> Check:
    def check(calls: Sequence[Call]) -> CaseResult:
        case = expected_case("random", level, params, calls, model=model)
        return run_case(session, case)
    return check


def _fails(r: CaseResult) -> bool:
    return r.verdict in ("fail", "error")


def _smaller_args(c: Call) -> list[Call]:
    out: list[Call] = []
    if c.env:
        out.append(replace(c, env={}))
        for k in c.env:
            out.append(replace(c, env={x: v for x, v in c.env.items() if x != k}))
    for k, v in c.args.items():
        if isinstance(v, int) and not isinstance(v, bool):
            for smaller in sorted({0 if k != "dlen" and k != "size" else 1, v // 2, v - 1}):
                if 0 <= smaller < v:
                    out.append(replace(c, args={**c.args, k: smaller}))
    return out


def shrink(calls: Sequence[Call], check: Check, budget: int = 400) -> list[Call]:
    """A smaller sequence on which `check` still fails (1-minimal in calls if the budget
    allows), then with smaller arguments and fewer environment pins."""
    cur = list(calls)
    tries = 0
    n = 2
    while len(cur) >= 2 and tries < budget:
        chunk = max(1, len(cur) // n)
        reduced = False
        for start in range(0, len(cur), chunk):
            cand = cur[:start] + cur[start + chunk:]
            tries += 1
            if cand and _fails(check(cand)):
                cur = cand
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(cur), n * 2)
    changed = True
    while changed and tries < budget:
        changed = False
        for i, c in enumerate(cur):
            for smaller in _smaller_args(c):
                tries += 1
                cand = [*cur[:i], smaller, *cur[i + 1:]]
                if _fails(check(cand)):
                    cur = cand
                    changed = True
                    break
            if changed or tries >= budget:
                break
    return cur
