"""Abstract states as the protocol carries them: normal form, page renaming, readable diffs.

States are `trace_json` objects of the spec's non-ghost variables. Two states are compared in
normal form: map entries whose value is empty (null, 0, false, [], {}, a record of empty
fields: the spec's free page) are dropped, and pages are renamed canonically (D22): the
pages on the LRU get the names 0, 1, ... in LRU order (head first); other pages still
referenced follow in the order of their own names. Page names appear in `lru`, `buddied`,
the lists of `unbuddied`, the `page` of `index` entries and of `zbud_map` results, and as the
keys of `pages`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Json = Any
Renaming = dict[int, int]

PAGE_LISTS = ("lru", "buddied")


def empty(v: Json) -> bool:
    """An entry that may be left out: null, [], {}, or a record of zero fields (a free page).
    A bare 0 is a value (tag 0 on the swap device), not an empty entry."""
    if v is None or v == [] or v == {}:
        return True
    if isinstance(v, dict):
        return all(x is None or x is False or x == 0 or x == [] or x == {} for x in v.values())
    return False


def normal(state: Mapping[str, Json]) -> dict[str, Json]:
    """Drop empty map entries (top-level maps and maps inside them)."""
    out: dict[str, Json] = {}
    for name, v in state.items():
        if isinstance(v, dict) and _is_map(name):
            out[name] = {k: x for k, x in v.items() if not empty(x)}
        else:
            out[name] = v
    return out


def _is_map(name: str) -> bool:
    return name not in ("pages_nr",)


def canonical_names(state: Mapping[str, Json]) -> Renaming:
    """old page name -> canonical name."""
    ren: Renaming = {}
    for p in state.get("lru") or []:
        if isinstance(p, int) and p not in ren:
            ren[p] = len(ren)
    rest: list[int] = []
    pages = state.get("pages")
    if isinstance(pages, dict):
        for k, rec in pages.items():
            try:
                p = int(k)
            except ValueError:
                continue
            if p not in ren and not empty(rec):
                rest.append(p)
    for p in sorted(rest):
        ren[p] = len(ren)
    return ren


def _page(p: Json, ren: Renaming) -> Json:
    if isinstance(p, int) and not isinstance(p, bool):
        return ren.get(p, f"?{p}")
    return p


def rename(state: Mapping[str, Json], ren: Renaming) -> dict[str, Json]:
    out = dict(state)
    for name in PAGE_LISTS:
        if isinstance(out.get(name), list):
            out[name] = [_page(p, ren) for p in out[name]]
    if isinstance(out.get("unbuddied"), dict):
        out["unbuddied"] = {k: [_page(p, ren) for p in v] if isinstance(v, list) else v
                            for k, v in out["unbuddied"].items()}
    if isinstance(out.get("index"), dict):
        out["index"] = {k: rename_buddy(v, ren) for k, v in out["index"].items()}
    if isinstance(out.get("pages"), dict):
        pages: dict[str, Json] = {}
        for k, rec in out["pages"].items():
            try:
                key = str(_page(int(k), ren))
            except ValueError:
                key = k
            pages[key] = rec
        out["pages"] = dict(sorted(pages.items(), key=lambda kv: _sort_key(kv[0])))
    return out


def _sort_key(k: str) -> tuple[int, str]:
    return (int(k), "") if k.isdigit() else (1 << 30, k)


def rename_buddy(v: Json, ren: Renaming) -> Json:
    if isinstance(v, dict) and "page" in v:
        return {**v, "page": _page(v["page"], ren)}
    return v


def canonical(state: Mapping[str, Json]) -> tuple[dict[str, Json], Renaming]:
    n = normal(state)
    ren = canonical_names(n)
    return rename(n, ren), ren


def diff(expected: Json, actual: Json, path: str = "") -> list[str]:
    """Readable differences, one line per differing leaf (`pages[0].count: expected 2, got 1`)."""
    if expected == actual:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for k in sorted(set(expected) | set(actual), key=_sort_key):
            sub = f"{path}[{k}]" if k.lstrip("-").isdigit() else f"{path}.{k}" if path else k
            if k not in actual:
                out.append(f"{sub}: expected {_show(expected[k])}, missing")
            elif k not in expected:
                out.append(f"{sub}: unexpected {_show(actual[k])}")
            else:
                out.extend(diff(expected[k], actual[k], sub))
        return out
    return [f"{path or 'value'}: expected {_show(expected)}, got {_show(actual)}"]


def _show(v: Json) -> str:
    return json.dumps(v, sort_keys=True, separators=(", ", ": "))


def compare(expected: Mapping[str, Json], actual: Mapping[str, Json]) -> list[str]:
    """Differences on the variables `expected` pins, both sides in canonical form."""
    exp_n, act_n = normal(expected), normal(actual)
    if all(act_n.get(k) == v for k, v in exp_n.items()):
        return []  # equal as named: the renaming cannot change that
    exp, _ = canonical(expected)
    act, _ = canonical(actual)
    out: list[str] = []
    for name in sorted(exp):
        if name not in act:
            out.append(f"{name}: expected {_show(exp[name])}, the implementation reports none")
            continue
        out.extend(diff(exp[name], act[name], name))
    return out
