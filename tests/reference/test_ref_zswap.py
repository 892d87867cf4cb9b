"""zswap store / load / invalidate over zbud (patch 5), the pool limit (D10), counters."""

from __future__ import annotations

import os
import zlib

import pytest
from ref_helpers import (
    assert_invariants,
    compressible_page,
    half_compressible_page,
    incompressible_page,
    make_zswap,
)

from reference import (
    ZSWAP_HEADER,
    Buddy,
    Errno,
    FileSwapDevice,
    MemorySwapDevice,
    ScriptedSwapCache,
    SwapCacheOutcome,
    ZbudPool,
    Zswap,
    ZswapConfig,
)


def pool_of(zswap: Zswap, swap_type: int = 0) -> ZbudPool:
    pool = zswap.pool(swap_type)
    assert pool is not None
    return pool


def test_a_stored_page_loads_back_identical() -> None:
    zswap, _ = make_zswap()
    pages = [compressible_page(1), half_compressible_page(2)]
    for offset, page in enumerate(pages):
        assert zswap.store(0, offset, page) == 0
    for offset, page in enumerate(pages):
        assert zswap.load(0, offset) == page
    assert zswap.stats.snapshot()["stored_pages"] == 2


def test_loads_are_not_exclusive() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(0, 5, compressible_page(5)) == 0
    assert zswap.load(0, 5) == compressible_page(5)
    assert zswap.load(0, 5) == compressible_page(5)
    assert_invariants(pool_of(zswap))


def test_the_buddy_is_a_header_with_the_exact_length_followed_by_the_data() -> None:
    zswap, _ = make_zswap()
    page = half_compressible_page(9)
    assert zswap.store(0, 9, page) == 0
    compressed = zlib.compress(page, 1)
    pool = pool_of(zswap)
    pfn, slot = pool.inspect()["index"][9]
    assert slot is Buddy.FIRST
    info = pool.inspect()["pages"][pfn]["first"]
    assert info is not None and info["size"] == ZSWAP_HEADER.size + len(compressed)
    frame = pool.frame_bytes(pfn)
    start = info["start"]
    assert ZSWAP_HEADER.unpack_from(frame, start) == (len(compressed), 9)
    assert frame[start + ZSWAP_HEADER.size : start + info["size"]] == compressed


def test_each_swap_type_has_its_own_pool_d1() -> None:
    zswap, _ = make_zswap(types=(0, 1))
    assert zswap.store(0, 3, compressible_page(10)) == 0
    assert zswap.store(1, 3, compressible_page(11)) == 0
    assert zswap.load(0, 3) == compressible_page(10)
    assert zswap.load(1, 3) == compressible_page(11)
    assert pool_of(zswap, 0) is not pool_of(zswap, 1)
    assert zswap.pool_pages() == 2


def test_operations_on_a_type_without_a_pool_are_enodev() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(4, 0, compressible_page(0)) == -Errno.ENODEV
    assert zswap.load(4, 0) == -Errno.ENODEV
    assert zswap.invalidate_page(4, 0) == -Errno.ENODEV
    assert zswap.invalidate_area(4) == -Errno.ENODEV


def test_initialising_a_type_twice_is_eexist() -> None:
    zswap, _ = make_zswap()
    assert zswap.init(0) == -Errno.EEXIST


def test_a_page_of_the_wrong_length_is_einval() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(0, 0, b"short") == -Errno.EINVAL


def test_a_page_that_compresses_poorly_is_enospc_and_counted() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(0, 0, incompressible_page(1)) == -Errno.ENOSPC
    assert zswap.stats.snapshot()["reject_compress_poor"] == 1
    assert zswap.load(0, 0) == -Errno.ENOENT
    assert zswap.stats.snapshot()["stored_pages"] == 0


def test_a_failed_page_allocation_is_enomem_and_counted() -> None:
    zswap, _ = make_zswap(page_budget=0)
    assert zswap.store(0, 0, compressible_page(1)) == -Errno.ENOMEM
    assert zswap.stats.snapshot()["reject_alloc_fail"] == 1


def test_a_duplicate_store_is_refused_and_the_old_data_kept_v3() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(0, 1, compressible_page(1)) == 0
    assert zswap.store(0, 1, compressible_page(2)) == -Errno.EEXIST
    assert zswap.load(0, 1) == compressible_page(1)
    stats = zswap.stats.snapshot()
    assert (stats["duplicate_entry"], stats["stored_pages"]) == (1, 1)


def test_with_accept_duplicates_a_duplicate_store_replaces_the_old_data() -> None:
    zswap, _ = make_zswap(accept_duplicates=True)
    assert zswap.store(0, 1, compressible_page(1)) == 0
    assert zswap.store(0, 1, compressible_page(2)) == 0
    assert zswap.load(0, 1) == compressible_page(2)
    stats = zswap.stats.snapshot()
    assert (stats["duplicate_entry"], stats["stored_pages"]) == (1, 1)
    assert_invariants(pool_of(zswap))


def test_accepting_a_duplicate_of_an_offset_still_mapped_is_eexist() -> None:
    zswap, _ = make_zswap(accept_duplicates=True)
    assert zswap.store(0, 1, compressible_page(1)) == 0
    pool = pool_of(zswap)
    assert not isinstance(pool.map(1), int)  # e.g. writeback between W2 and W4
    assert zswap.store(0, 1, compressible_page(2)) == -Errno.EEXIST
    assert pool.unmap(1) == -Errno.EFAULT  # the replacement's free was deferred to here
    assert zswap.load(0, 1) == -Errno.ENOENT


def test_load_of_an_offset_never_stored_is_enoent() -> None:
    zswap, _ = make_zswap()
    assert zswap.load(0, 1) == -Errno.ENOENT


def test_invalidate_page_frees_the_offset_and_counts_only_real_frees() -> None:
    zswap, _ = make_zswap()
    assert zswap.store(0, 1, compressible_page(1)) == 0
    assert zswap.invalidate_page(0, 1) == 0
    assert zswap.invalidate_page(0, 1) == -Errno.ENOENT
    assert zswap.load(0, 1) == -Errno.ENOENT
    assert zswap.stats.snapshot()["stored_pages"] == 0
    assert pool_of(zswap).get_pool_size() == 0


def test_invalidate_area_frees_everything_of_one_type_and_keeps_the_pool() -> None:
    zswap, _ = make_zswap(types=(0, 1))
    for offset in range(5):
        assert zswap.store(0, offset, compressible_page(offset)) == 0
    assert zswap.store(1, 0, compressible_page(99)) == 0
    pool = pool_of(zswap, 0)
    assert zswap.invalidate_area(0) == 5
    assert pool.get_pool_size() == 0
    assert zswap.pool(0) is pool
    assert zswap.store(0, 0, compressible_page(7)) == 0
    assert zswap.load(1, 0) == compressible_page(99)
    assert zswap.stats.snapshot()["stored_pages"] == 2


def test_over_the_pool_limit_a_store_reclaims_one_page_first_d10() -> None:
    zswap, device = make_zswap(pool_limit=1)
    for offset in range(4):  # half-compressible pages: one per zbud page
        assert zswap.store(0, offset, half_compressible_page(offset)) == 0
    stats = zswap.stats.snapshot()
    assert stats["pool_limit_hit"] == 2  # at the 3rd and 4th store (pages_nr 2 > 1)
    assert stats["written_back_pages"] == 2
    assert stats["stored_pages"] == 2
    assert device.written(0) == {0, 1}  # the LRU tail each time
    for offset in (0, 1):
        assert zswap.load(0, offset) == -Errno.ENOENT
        assert device.read(0, offset) == half_compressible_page(offset)
    assert zswap.load(0, 3) == half_compressible_page(3)


def test_at_the_pool_limit_a_store_does_not_reclaim() -> None:
    zswap, _ = make_zswap(pool_limit=1)
    assert zswap.store(0, 0, half_compressible_page(0)) == 0
    assert zswap.store(0, 1, half_compressible_page(1)) == 0  # pages_nr 1: not > 1
    assert zswap.stats.snapshot()["pool_limit_hit"] == 0


def test_when_reclaim_fails_the_store_is_enomem_and_counted() -> None:
    cache = ScriptedSwapCache(lambda swap_type, offset: SwapCacheOutcome.EXIST)
    zswap, _ = make_zswap(pool_limit=0, swap_cache=cache)
    assert zswap.store(0, 0, half_compressible_page(0)) == 0
    assert zswap.store(0, 1, half_compressible_page(1)) == -Errno.ENOMEM
    stats = zswap.stats.snapshot()
    assert (stats["pool_limit_hit"], stats["reject_reclaim_fail"]) == (1, 1)
    assert zswap.load(0, 0) == half_compressible_page(0)


def test_after_a_successful_reclaim_fullness_is_not_rechecked() -> None:
    zswap, _ = make_zswap(pool_limit=0)
    assert zswap.store(0, 0, half_compressible_page(0)) == 0  # pages_nr 0: no reclaim
    zswap_pool = pool_of(zswap)
    assert zswap.stats.snapshot()["pool_limit_hit"] == 0
    # Hold a second page so the pool stays over the limit after one reclaim.
    assert zswap_pool.alloc(3000, 1000) == 0
    assert zswap_pool.get_pool_size() == 2
    assert zswap.store(0, 1, half_compressible_page(1)) == 0
    assert zswap.stats.snapshot()["pool_limit_hit"] == 1
    assert zswap_pool.get_pool_size() == 2  # one reclaimed, one new: still over the limit


def test_counters_have_the_debugfs_names() -> None:
    zswap, _ = make_zswap()
    assert set(zswap.stats.snapshot()) == {
        "stored_pages",
        "pool_limit_hit",
        "written_back_pages",
        "reject_reclaim_fail",
        "reject_compress_poor",
        "reject_alloc_fail",
        "duplicate_entry",
    }


def test_the_default_swap_device_is_a_file_in_a_temporary_directory() -> None:
    zswap = Zswap(ZswapConfig(pool_limit=0))
    with zswap:
        assert zswap.init(0) == 0
        device = zswap.swap_device
        assert isinstance(device, FileSwapDevice)
        assert zswap.store(0, 2, half_compressible_page(2)) == 0
        assert zswap.store(0, 3, half_compressible_page(3)) == 0  # reclaims offset 2
        with open(device.path(0), "rb") as swapfile:
            swapfile.seek(2 * 4096)
            assert swapfile.read(4096) == half_compressible_page(2)
        assert device.read(0, 2) == half_compressible_page(2)
        assert device.read(0, 3) is None
        directory = device.directory
    assert not os.path.exists(directory)


def test_an_in_memory_swap_device_can_be_chosen() -> None:
    device = MemorySwapDevice()
    with Zswap(ZswapConfig(pool_limit=0), swap_device=device) as zswap:
        assert zswap.init(0) == 0
        assert zswap.store(0, 2, half_compressible_page(2)) == 0
        assert zswap.store(0, 3, half_compressible_page(3)) == 0
    assert device.read(0, 2) == half_compressible_page(2)  # not closed: zswap did not own it


@pytest.mark.parametrize("device_kind", ["file", "memory"])
def test_swap_devices_reject_partial_pages(device_kind: str) -> None:
    device = FileSwapDevice() if device_kind == "file" else MemorySwapDevice()
    try:
        with pytest.raises(ValueError):
            device.write(0, 0, b"x")
        assert device.read(0, 0) is None
    finally:
        device.close()
