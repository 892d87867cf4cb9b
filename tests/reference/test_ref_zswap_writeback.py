"""zswap writeback, the evict callback, step by step as D6 (and the D7 window after W5)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from ref_helpers import assert_invariants, half_compressible_page, make_zswap

from reference import (
    Errno,
    MemorySwapDevice,
    ScriptedSwapCache,
    SwapCacheModel,
    SwapCacheOutcome,
    WritebackStep,
    ZbudPool,
    Zswap,
    ZswapBug,
)

Hook = Callable[[WritebackStep, int, int], None]


def one_stored_page(
    outcome: SwapCacheOutcome = SwapCacheOutcome.NEW, hook: Hook | None = None
) -> tuple[Zswap, ZbudPool, MemorySwapDevice, ScriptedSwapCache]:
    """zswap with offset 7 stored alone in its zbud page."""
    cache = ScriptedSwapCache(lambda swap_type, offset: outcome)
    zswap, device = make_zswap(swap_cache=cache)
    zswap.on_writeback_step = hook
    assert zswap.store(0, 7, half_compressible_page(7)) == 0
    pool = zswap.pool(0)
    assert pool is not None
    return zswap, pool, device, cache


def test_writeback_on_new_writes_the_page_then_frees_the_offset() -> None:
    steps: list[WritebackStep] = []
    zswap, pool, device, cache = one_stored_page(hook=lambda step, t, o: steps.append(step))
    assert pool.reclaim_page(1) == 0
    assert steps == list(WritebackStep)
    assert device.read(0, 7) == half_compressible_page(7)
    assert zswap.load(0, 7) == -Errno.ENOENT
    stats = zswap.stats.snapshot()
    assert (stats["written_back_pages"], stats["stored_pages"]) == (1, 0)
    assert cache.unlocked == [(0, 7)]


@pytest.mark.parametrize(
    ("outcome", "error"),
    [(SwapCacheOutcome.EXIST, -Errno.EEXIST), (SwapCacheOutcome.FAIL, -Errno.ENOMEM)],
)
def test_writeback_that_cannot_get_a_new_swap_cache_page_fails_without_touching_zbud(
    outcome: SwapCacheOutcome, error: int
) -> None:
    results: list[int] = []
    zswap, pool, device, cache = one_stored_page(outcome)
    evict = pool._evict
    assert evict is not None
    before = pool.inspect()
    results.append(evict(pool, 7))
    assert results == [error]
    assert pool.inspect() == before
    assert device.written(0) == set()
    assert cache.unlocked == []
    assert pool.reclaim_page(2) == -Errno.EAGAIN
    assert zswap.load(0, 7) == half_compressible_page(7)


def test_writeback_of_an_offset_invalidated_before_its_map_returns_zero() -> None:
    zswap: Zswap | None = None

    def invalidate_at_w2(step: WritebackStep, swap_type: int, offset: int) -> None:
        if step is WritebackStep.W2_MAP and zswap is not None:
            assert zswap.invalidate_page(swap_type, offset) == 0

    zswap, pool, device, cache = one_stored_page(hook=invalidate_at_w2)
    assert pool.reclaim_page(1) == 0  # evict said 0 ("already gone"), the page is empty
    assert device.written(0) == set()
    assert cache.unlocked == [(0, 7)]
    assert zswap.stats.snapshot()["stored_pages"] == 0


def test_an_unmap_that_did_the_deferred_free_skips_the_write() -> None:
    zswap: Zswap | None = None
    steps: list[WritebackStep] = []

    def invalidate_at_w3(step: WritebackStep, swap_type: int, offset: int) -> None:
        steps.append(step)
        if step is WritebackStep.W3_DECOMPRESS and zswap is not None:
            assert zswap.invalidate_page(swap_type, offset) == 0  # deferred: mapped
            assert zswap.pool(0) is not None

    zswap, pool, device, cache = one_stored_page(hook=invalidate_at_w3)
    assert pool.reclaim_page(1) == 0
    assert steps[-1] is WritebackStep.W4_UNMAP  # returned 0 at W4 (EFAULT), no W5
    assert device.written(0) == set()
    stats = zswap.stats.snapshot()
    assert (stats["written_back_pages"], stats["stored_pages"]) == (0, 0)
    assert cache.unlocked == [(0, 7)]
    assert_invariants(pool)


def test_writeback_reads_the_data_with_the_pool_lock_dropped() -> None:
    locked: list[bool] = []
    pool_ref: list[ZbudPool] = []

    def look(step: WritebackStep, swap_type: int, offset: int) -> None:
        if pool_ref:
            locked.append(pool_ref[0]._lock.locked())

    _, pool, _, _ = one_stored_page(hook=look)
    pool_ref.append(pool)
    assert pool.reclaim_page(1) == 0
    assert locked == [False] * 6


def test_the_window_between_write_and_free_is_open_so_a_restore_there_is_lost() -> None:
    # D7: after W5 the swap-cache page is unlocked under I/O; nothing stops an invalidate and
    # a new store of the same offset before W6, and W6 frees by offset: the new data goes.
    zswap: Zswap | None = None

    def restore_at_w6(step: WritebackStep, swap_type: int, offset: int) -> None:
        if step is WritebackStep.W6_FREE and zswap is not None:
            assert zswap.invalidate_page(swap_type, offset) == 0
            assert zswap.store(swap_type, offset, half_compressible_page(1000)) == 0

    zswap, pool, device, _ = one_stored_page(hook=restore_at_w6)
    assert pool.reclaim_page(1) == 0
    assert zswap.load(0, 7) == -Errno.ENOENT
    assert device.read(0, 7) == half_compressible_page(7)  # the old data, not page 1000
    assert zswap.stats.snapshot()["stored_pages"] == 0


def test_writeback_of_a_corrupt_buddy_is_a_bug_and_leaves_it_unmapped() -> None:
    zswap, pool, _, _ = one_stored_page()
    mapped = pool.map(7)
    assert not isinstance(mapped, int)
    mapped[0][12:20] = b"\xff" * 8  # scribble over the compressed stream
    assert pool.unmap(7) == 0
    with pytest.raises(ZswapBug):
        pool.reclaim_page(1)
    with pytest.raises(ZswapBug):
        zswap.load(0, 7)
    assert_invariants(pool)


def test_a_buddy_holding_another_offsets_header_is_a_bug() -> None:
    zswap, pool, _, _ = one_stored_page()
    mapped = pool.map(7)
    assert not isinstance(mapped, int)
    mapped[0][4:8] = (8).to_bytes(4, "little")
    assert pool.unmap(7) == 0
    with pytest.raises(ZswapBug, match="offset tag"):
        zswap.load(0, 7)


def test_a_load_that_maps_inside_the_open_window_gets_efault_from_its_unmap() -> None:
    # D7 leaves W5..W6 open to loads too. A load that has mapped the offset when W6 frees it
    # keeps the buddy alive (deferred free), but its own unmap then returns -EFAULT, which
    # patch 5's load answers with BUG_ON. The kernel's swap cache keeps such a load away.
    pool_ref: list[ZbudPool] = []

    def load_maps_at_w6(step: WritebackStep, swap_type: int, offset: int) -> None:
        if step is WritebackStep.W6_FREE:
            assert not isinstance(pool_ref[0].map(offset), int)  # zswap_frontswap_load's map

    zswap, pool, device, _ = one_stored_page(hook=load_maps_at_w6)
    pool_ref.append(pool)
    assert pool.reclaim_page(1) == -Errno.EAGAIN  # W6 only deferred: the page is not empty
    assert pool.unmap(7) == -Errno.EFAULT  # the load's unmap: BUG_ON in the kernel
    assert device.read(0, 7) == half_compressible_page(7)
    assert zswap.load(0, 7) == -Errno.ENOENT


def test_writeback_unlocks_the_swap_cache_page_after_the_write_and_puts_it_after_the_free() -> None:
    seen: list[tuple[WritebackStep, int, int]] = []
    cache_ref: list[ScriptedSwapCache] = []

    def record(step: WritebackStep, swap_type: int, offset: int) -> None:
        if cache_ref:
            seen.append((step, len(cache_ref[0].unlocked), len(cache_ref[0].released)))

    _, pool, _, cache = one_stored_page(hook=record)
    cache_ref.append(cache)
    assert pool.reclaim_page(1) == 0
    assert seen[-2:] == [(WritebackStep.W5_WRITE, 0, 0), (WritebackStep.W6_FREE, 1, 0)]
    assert cache.released == [(0, 7)]


@pytest.mark.parametrize("window_open", [True, False])
def test_the_swap_cache_model_frees_the_offset_at_w5_only_with_the_window_open(
    window_open: bool,
) -> None:
    cache = SwapCacheModel(window_open=window_open)
    held_at_w6: list[bool] = []

    def look(step: WritebackStep, swap_type: int, offset: int) -> None:
        if step is WritebackStep.W6_FREE:
            held_at_w6.append((swap_type, offset) in cache.locked())

    zswap, _ = make_zswap(swap_cache=cache)
    zswap.on_writeback_step = look
    assert zswap.store(0, 7, half_compressible_page(7)) == 0
    pool = zswap.pool(0)
    assert pool is not None
    assert pool.reclaim_page(1) == 0
    assert held_at_w6 == [not window_open]
    assert cache.locked() == set()


def test_the_swap_cache_model_makes_writeback_fail_on_a_locked_offset() -> None:
    cache = SwapCacheModel()
    zswap, device = make_zswap(swap_cache=cache)
    assert zswap.store(0, 7, half_compressible_page(7)) == 0
    pool = zswap.pool(0)
    assert pool is not None
    cache.lock_page(0, 7)  # a load of offset 7 is in progress
    assert pool.reclaim_page(3) == -Errno.EAGAIN
    cache.unlock_page(0, 7)
    assert device.written(0) == set()
    assert pool.reclaim_page(1) == 0


def test_the_swap_cache_model_makes_frontswap_wait_for_writeback() -> None:
    cache = SwapCacheModel(window_open=False)
    assert cache.get_page(0, 1) is SwapCacheOutcome.NEW  # writeback holds offset 1
    assert cache.get_page(0, 1) is SwapCacheOutcome.EXIST
    got_it = threading.Event()

    def frontswap() -> None:
        cache.lock_page(0, 1)
        got_it.set()
        cache.unlock_page(0, 1)

    thread = threading.Thread(target=frontswap)
    thread.start()
    cache.unlock_page(0, 1)  # W5: with the window closed the page stays held
    assert not got_it.wait(0.05)
    cache.put_page(0, 1)
    assert got_it.wait(5)
    thread.join(5)
    assert cache.locked() == set()


def test_the_swap_cache_model_fail_hook_gives_fail() -> None:
    cache = SwapCacheModel(fail_hook=lambda swap_type, offset: offset == 3)
    assert cache.get_page(0, 3) is SwapCacheOutcome.FAIL
    assert cache.get_page(0, 4) is SwapCacheOutcome.NEW
