"""Benchmarks of the reference zbud/zswap (a script, not a test).

    python benchmarks/bench_reference.py [--json] [--quick]

Measures, single-threaded:

* zbud alloc+free pairs/s: a pool kept at 2,000 live buddies of mixed sizes (200..3000 bytes);
  each pair frees the oldest buddy and allocates a new one, so pairs exercise best fit, new
  pages and page release. Target >= 300,000 pairs/s.
* zswap store+load pairs/s: pages of mixed compressibility (40% highly compressible, 40% about
  half, 20% random and therefore refused with -ENOSPC), zlib level 1, in-memory swap device,
  no pool limit; each pair stores a page at a fresh offset and loads it back.
* pool density: stored pages per zbud page after storing each kind of page alone and the mix.
* peak memory per million stored pages: ``tracemalloc``'s peak of traced Python allocations
  while storing N pages of the mix into a fresh zswap (frames, index, headers, lists; the
  interpreter and modules are not counted), divided by the pages actually stored and scaled
  to 10**6. ``tracemalloc`` slows the run, so this pass is not timed.

Best of several repetitions is reported for the rates.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

if importlib.util.find_spec("reference") is None:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference import MemorySwapDevice, ZbudPool, Zswap, ZswapConfig

PAGE_SIZE = 4096


def make_page(kind: str, seed: int) -> bytes:
    """A 4 KiB page of the given compressibility, distinct per seed."""
    rng = random.Random(seed)
    stamp = seed.to_bytes(8, "little")
    if kind == "small":
        return (stamp + bytes([seed % 251]) * 56) * (PAGE_SIZE // 64)
    if kind == "half":
        return (stamp + rng.randbytes(PAGE_SIZE // 2) + bytes(PAGE_SIZE))[:PAGE_SIZE]
    return rng.randbytes(PAGE_SIZE)


def mixed_pages(count: int, seed: int = 1) -> list[bytes]:
    """40% small, 40% half, 20% random, from a pool of 64 distinct templates."""
    rng = random.Random(seed)
    kinds = ["small"] * 2 + ["half"] * 2 + ["random"]
    templates = [make_page(kinds[i % 5], i) for i in range(64)]
    return [templates[rng.randrange(64)] for _ in range(count)]


def best_of(repeats: int, run: Callable[[], float]) -> float:
    return max(run() for _ in range(repeats))


def bench_zbud_pairs(pairs: int) -> float:
    """alloc+free pairs per second on a pool of 2,000 live buddies."""
    rng = random.Random(1)
    sizes = [rng.randint(200, 3000) for _ in range(1 << 16)]
    pool = ZbudPool()
    live = list(range(2000))
    for offset in live:
        pool.alloc(sizes[offset], offset)
    alloc, free = pool.alloc, pool.free
    next_offset = 2000
    started = time.perf_counter()
    for i in range(pairs):
        slot = i % 2000
        free(live[slot])
        live[slot] = next_offset
        alloc(sizes[next_offset & 0xFFFF], next_offset)
        next_offset += 1
    elapsed = time.perf_counter() - started
    assert pool.free_all() == 2000
    return pairs / elapsed


def new_zswap() -> Zswap:
    zswap = Zswap(ZswapConfig(), swap_device=MemorySwapDevice())
    zswap.init(0)
    return zswap


def bench_zswap_pairs(pages: list[bytes]) -> float:
    """store+load pairs per second (refused stores still count as a pair)."""
    zswap = new_zswap()
    store, load = zswap.store, zswap.load
    started = time.perf_counter()
    for offset, page in enumerate(pages):
        if store(0, offset, page) == 0:
            assert load(0, offset) == page
        else:
            load(0, offset)
    elapsed = time.perf_counter() - started
    return len(pages) / elapsed


def density(pages: list[bytes]) -> tuple[int, int, float]:
    """(stored pages, pool pages, stored per pool page)."""
    zswap = new_zswap()
    stored = sum(zswap.store(0, offset, page) == 0 for offset, page in enumerate(pages))
    pool_pages = zswap.pool_pages()
    return stored, pool_pages, stored / pool_pages if pool_pages else 0.0


def peak_memory_per_million(pages: list[bytes]) -> tuple[float, int, int]:
    """(peak MiB per 10**6 stored pages, stored pages, pool pages)."""
    zswap = new_zswap()
    tracemalloc.start()
    try:
        stored = sum(zswap.store(0, offset, page) == 0 for offset, page in enumerate(pages))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / stored * 1_000_000 / 2**20, stored, zswap.pool_pages()


def run(quick: bool) -> dict[str, object]:
    repeats = 2 if quick else 5
    zbud_pairs = 100_000 if quick else 300_000
    zswap_pairs = 5_000 if quick else 30_000
    memory_pages = 20_000 if quick else 100_000
    mix = mixed_pages(zswap_pairs)
    results: dict[str, object] = {
        "python": sys.version.split()[0],
        "zbud_alloc_free_pairs_per_s": best_of(repeats, lambda: bench_zbud_pairs(zbud_pairs)),
        "zswap_store_load_pairs_per_s": best_of(repeats, lambda: bench_zswap_pairs(mix)),
    }
    for kind in ("small", "half"):
        stored, pool_pages, ratio = density([make_page(kind, i) for i in range(4000)])
        results[f"density_{kind}"] = {"stored": stored, "pool_pages": pool_pages, "ratio": ratio}
    stored, pool_pages, ratio = density(mixed_pages(10_000, seed=2))
    results["density_mixed"] = {"stored": stored, "pool_pages": pool_pages, "ratio": ratio}
    mib, stored, pool_pages = peak_memory_per_million(mixed_pages(memory_pages, seed=3))
    results["peak_mib_per_million_stored"] = {
        "mib": mib,
        "stored": stored,
        "pool_pages": pool_pages,
        "frame_mib_per_million": pool_pages * PAGE_SIZE / stored * 1_000_000 / 2**20,
    }
    return results


def render(results: dict[str, object]) -> str:
    rows: list[tuple[str, str]] = [
        ("python", str(results["python"])),
        ("zbud alloc+free pairs/s", f"{results['zbud_alloc_free_pairs_per_s']:,.0f}"),
        ("zswap store+load pairs/s (mixed)", f"{results['zswap_store_load_pairs_per_s']:,.0f}"),
    ]
    for kind in ("small", "half", "mixed"):
        entry = results[f"density_{kind}"]
        assert isinstance(entry, dict)
        rows.append(
            (
                f"density, {kind} pages",
                f"{entry['ratio']:.2f} stored/pool page "
                f"({entry['stored']:,} in {entry['pool_pages']:,})",
            )
        )
    memory = results["peak_mib_per_million_stored"]
    assert isinstance(memory, dict)
    rows.append(
        (
            "peak memory per 10^6 stored (mixed)",
            f"{memory['mib']:,.0f} MiB (frames alone {memory['frame_mib_per_million']:,.0f} MiB;"
            f" tracemalloc peak over {memory['stored']:,} stored)",
        )
    )
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller runs, fewer repeats")
    args = parser.parse_args(argv)
    results = run(args.quick)
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
