"""zbud_free, zbud_map/unmap and the map-count protocol of D4, zbud_free_all."""

from __future__ import annotations

from ref_helpers import CHUNK, assert_invariants, read_buddy, store_filled, where

from reference import Buddy, Errno, PageAllocator, ZbudPool
from reference.pagealloc import POISON_FREE


def test_free_of_an_unknown_offset_is_enoent() -> None:
    pool = ZbudPool()
    assert pool.free(1) == -Errno.ENOENT
    assert pool.alloc(100, 1) == 0
    assert pool.free(2) == -Errno.ENOENT
    assert pool.free(1) == 0
    assert pool.free(1) == -Errno.ENOENT


def test_freeing_the_last_buddy_releases_the_page_and_decrements_pages_nr() -> None:
    allocator = PageAllocator()
    pool = ZbudPool(allocator=allocator)
    assert pool.alloc(100, 1) == 0
    assert pool.alloc(100, 2) == 0
    assert pool.free(1) == 0
    assert (pool.get_pool_size(), allocator.in_use) == (1, 1)
    assert pool.free(2) == 0
    assert (pool.get_pool_size(), allocator.in_use) == (0, 0)
    assert pool.inspect()["lru"] == []
    assert_invariants(pool)


def test_freeing_one_of_two_buddies_keeps_the_other_intact() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 31 * CHUNK, 0x11)
    store_filled(pool, 2, 32 * CHUNK, 0x22)
    assert pool.free(1) == 0
    assert read_buddy(pool, 2) == b"\x22" * 32 * CHUNK
    store_filled(pool, 3, 31 * CHUNK, 0x33)
    assert where(pool, 3) == (where(pool, 2)[0], Buddy.FIRST)
    assert read_buddy(pool, 2) == b"\x22" * 32 * CHUNK
    assert read_buddy(pool, 3) == b"\x33" * 31 * CHUNK


def test_map_of_an_unknown_offset_is_enoent() -> None:
    pool = ZbudPool()
    assert pool.map(5) == -Errno.ENOENT


def test_unmap_of_an_unknown_offset_is_enoent() -> None:
    pool = ZbudPool()
    assert pool.unmap(5) == -Errno.ENOENT


def test_map_takes_a_page_reference_and_a_map_count_and_unmap_returns_them() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    pfn = where(pool, 1)[0]
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    page = pool.inspect()["pages"][pfn]
    assert page["refcount"] == 2
    assert page["first"] is not None and page["first"]["map_count"] == 2
    assert pool.unmap(1) == 0
    page = pool.inspect()["pages"][pfn]
    assert page["refcount"] == 1
    assert page["first"] is not None and page["first"]["map_count"] == 1


def test_map_returns_the_buddy_bytes_and_exact_length() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 777, 0x42)
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    view, length = mapped
    assert length == 777
    assert bytes(view) == b"\x42" * 777
    assert pool.unmap(1) == 0


def test_free_while_mapped_is_deferred_and_the_offset_stays_findable() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 100, 0x42)
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    view, _ = mapped
    assert pool.free(1) == 0
    snap = assert_invariants(pool)
    pfn, _ = snap["index"][1]
    assert snap["pages"][pfn]["refcount"] == 1  # only the mapper's reference is left
    assert bytes(view) == b"\x42" * 100  # the mapper can still read
    again = pool.map(1)  # and the offset can still be mapped (D4)
    assert not isinstance(again, int)
    assert pool.unmap(1) == 0
    assert pool.get_pool_size() == 1


def test_the_unmap_that_does_a_deferred_free_returns_efault() -> None:
    allocator = PageAllocator()
    pool = ZbudPool(allocator=allocator)
    assert pool.alloc(100, 1) == 0
    assert not isinstance(pool.map(1), int)
    assert pool.free(1) == 0
    assert pool.unmap(1) == -Errno.EFAULT
    assert pool.map(1) == -Errno.ENOENT
    assert (pool.get_pool_size(), allocator.in_use) == (0, 0)
    assert_invariants(pool)


def test_an_unmap_without_a_free_returns_zero_and_keeps_the_buddy() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    assert not isinstance(pool.map(1), int)
    assert pool.unmap(1) == 0
    assert pool.free(1) == 0
    assert pool.get_pool_size() == 0


def test_a_freed_page_frame_is_poisoned_so_a_stale_view_reads_poison() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 100, 0x42)
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    view, _ = mapped
    assert pool.free(1) == 0
    assert pool.unmap(1) == -Errno.EFAULT
    assert bytes(view) == bytes([POISON_FREE]) * 100


def test_deferred_free_keeps_the_page_listed_until_the_last_unmap() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    assert pool.alloc(100, 2) == 0
    assert not isinstance(pool.map(1), int)
    assert pool.free(1) == 0
    snap = assert_invariants(pool)
    assert snap["buddied"] == [snap["index"][1][0]]
    assert pool.unmap(1) == -Errno.EFAULT
    snap = assert_invariants(pool)
    assert snap["unbuddied"] == {64 - 2 - 1: [snap["index"][2][0]]}


def test_free_all_frees_every_offset_and_returns_the_count() -> None:
    allocator = PageAllocator()
    pool = ZbudPool(allocator=allocator)
    for offset in range(10):
        assert pool.alloc(500 + offset, offset) == 0
    assert pool.free_all() == 10
    assert (pool.get_pool_size(), allocator.in_use) == (0, 0)
    assert pool.inspect()["index"] == {}
    assert pool.free_all() == 0
    assert pool.alloc(100, 3) == 0  # the pool is still usable
    assert_invariants(pool)


def test_free_all_defers_mapped_offsets_like_free() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    assert pool.alloc(100, 2) == 0
    assert not isinstance(pool.map(2), int)
    assert pool.free_all() == 2
    assert list(pool.inspect()["index"]) == [2]
    assert pool.unmap(2) == -Errno.EFAULT
    assert pool.get_pool_size() == 0


def test_get_pool_size_counts_pages_not_buddies() -> None:
    pool = ZbudPool()
    for offset in range(6):
        assert pool.alloc(1000, offset) == 0
    assert pool.get_pool_size() == 3
