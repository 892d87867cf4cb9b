"""Shared helpers for the reference tests (plain module, imported by name)."""

from __future__ import annotations

from reference import (
    Buddy,
    MemorySwapDevice,
    PoolSnapshot,
    ZbudPool,
    Zswap,
    ZswapConfig,
    check_pool_invariants,
)
from reference.swapcache import SwapCache

CHUNK = 64
"""CHUNK_SIZE with 4 KiB pages."""


def assert_invariants(pool: ZbudPool, *, quiescent: bool = True) -> PoolSnapshot:
    """Check the spec's invariants on a fresh snapshot and return it."""
    snap = pool.inspect()
    errors = check_pool_invariants(snap, quiescent=quiescent)
    assert not errors, "\n".join(errors)
    return snap


def where(pool: ZbudPool, offset: int) -> tuple[int, Buddy]:
    """(pfn, slot) of a stored offset."""
    return pool.inspect()["index"][offset]


def write_buddy(pool: ZbudPool, offset: int, fill: int) -> int:
    """Fill the buddy of ``offset`` with byte ``fill`` through map/unmap; return its length."""
    mapped = pool.map(offset)
    assert not isinstance(mapped, int), mapped
    view, length = mapped
    view[:] = bytes([fill]) * length
    assert pool.unmap(offset) == 0
    return length


def read_buddy(pool: ZbudPool, offset: int) -> bytes:
    """A copy of the buddy of ``offset`` through map/unmap."""
    mapped = pool.map(offset)
    assert not isinstance(mapped, int), mapped
    view, _ = mapped
    data = bytes(view)
    assert pool.unmap(offset) == 0
    return data


def store_filled(pool: ZbudPool, offset: int, size: int, fill: int) -> None:
    """alloc + write a recognisable pattern."""
    assert pool.alloc(size, offset) == 0
    write_buddy(pool, offset, fill)


def compressible_page(seed: int, page_size: int = 4096) -> bytes:
    """A page that zlib shrinks a lot, distinct per seed."""
    stamp = seed.to_bytes(8, "little")
    return (stamp + bytes([seed % 251]) * 56) * (page_size // 64)


def half_compressible_page(seed: int, page_size: int = 4096) -> bytes:
    """A page that compresses to roughly half, distinct per seed."""
    import random

    rng = random.Random(seed)
    noise = rng.randbytes(page_size // 2)
    return (seed.to_bytes(8, "little") + noise + bytes(page_size))[:page_size]


def incompressible_page(seed: int, page_size: int = 4096) -> bytes:
    """Random bytes: zlib output is larger than the largest zbud allocation."""
    import random

    return random.Random(seed).randbytes(page_size)


def make_zswap(
    *,
    pool_limit: int | None = None,
    page_budget: int | None = None,
    accept_duplicates: bool = False,
    swap_cache: SwapCache | None = None,
    types: tuple[int, ...] = (0,),
) -> tuple[Zswap, MemorySwapDevice]:
    """A zswap over an in-memory swap device, with the given swap types initialised."""
    device = MemorySwapDevice()
    zswap = Zswap(
        ZswapConfig(
            pool_limit=pool_limit, page_budget=page_budget, accept_duplicates=accept_duplicates
        ),
        swap_device=device,
        swap_cache=swap_cache,
    )
    for swap_type in types:
        assert zswap.init(swap_type) == 0
    return zswap, device
