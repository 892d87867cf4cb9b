"""`zbudspec gen`: its arguments and command (wired into `zbudspec.cli`).

Writes through the `out`/`err` streams the CLI passes; prints nothing itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from zbudspec.conformance.gen import Generator, GenReport, write_suite
from zbudspec.conformance.gen_model import ModelError
from zbudspec.pipeline import bundled_spec

DEFAULT_OUT = "conformance/generated"


def gen_arguments(p: argparse.ArgumentParser,
                  define: Callable[[str], tuple[str, str]]) -> None:
    p.add_argument("spec", nargs="?", help="spec file (default: the bundled v3 spec)")
    p.add_argument("-D", dest="defines", action="append", type=define, default=[],
                   metavar="NAME=VALUE", help="set a `param` of the spec in every case "
                   "(repeatable; a scenario's own settings still win)")
    p.add_argument("-o", "--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"suite directory, its *.json replaced (default: {DEFAULT_OUT})")
    p.add_argument("--bfs-states", type=int, default=8_000, metavar="N",
                   help="state budget of the search for targets the walks miss (0: none)")


def coverage_text(report: GenReport) -> str:
    hit = [t for t in report.targets if t in report.hit]
    lines = [f"coverage: {len(hit)}/{len(report.targets)} targets "
             f"({len(report.cases)} cases, {len(report.findings)} finding(s))"]
    kinds: dict[str, list[int]] = {}
    for t in report.targets:
        k = kinds.setdefault(t.split(":", 1)[0], [0, 0])
        k[1] += 1
        k[0] += t in report.hit
    lines.append("  " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in kinds.items()))
    if report.missed:
        lines.append("missed: " + ", ".join(report.missed))
    for s in report.skipped:
        lines.append(f"skipped: {s}")
    return "\n".join(lines)


def cmd_gen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    spec = Path(args.spec) if args.spec else bundled_spec()
    try:
        gen = Generator(spec, tuple(args.defines),
                        lambda msg: _say(err, msg), bfs_states=args.bfs_states)
        report = gen.run()
    except ModelError as exc:
        err.write(f"zbudspec gen: {exc}\n")
        return 2
    written = write_suite(report, Path(args.out))
    out.write(f"wrote {len(written)} file(s) to {args.out}\n")
    out.write(coverage_text(report) + "\n")
    return 0


def _say(err: TextIO, msg: str) -> None:
    err.write(f"  {msg}\n")
