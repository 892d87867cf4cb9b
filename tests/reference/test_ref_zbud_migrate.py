"""zbud page migration (patch 6): refused while referenced beyond its slots, else moved."""

from __future__ import annotations

from ref_helpers import CHUNK, assert_invariants, read_buddy, store_filled, where

from reference import Buddy, Errno, PageAllocator, ZbudPool
from reference.pagealloc import POISON_FREE


def filled_pool(allocator: PageAllocator | None = None) -> tuple[ZbudPool, int]:
    pool = ZbudPool(allocator=allocator)
    store_filled(pool, 1, 31 * CHUNK, 0x11)
    store_filled(pool, 2, 32 * CHUNK, 0x22)
    store_filled(pool, 3, 40 * CHUNK, 0x33)  # another page, LRU head
    return pool, where(pool, 1)[0]


def test_migration_copies_the_data_and_the_index_follows_the_new_frame() -> None:
    allocator = PageAllocator()
    pool, old_pfn = filled_pool(allocator)
    before = pool.inspect()
    assert pool.migrate(old_pfn) == 0
    after = assert_invariants(pool)
    new_pfn = after["index"][1][0]
    assert new_pfn != old_pfn
    assert after["index"][1] == (new_pfn, Buddy.FIRST)
    assert after["index"][2] == (new_pfn, Buddy.LAST)
    assert read_buddy(pool, 1) == b"\x11" * 31 * CHUNK
    assert read_buddy(pool, 2) == b"\x22" * 32 * CHUNK
    assert old_pfn not in after["pages"]
    assert after["pages"][new_pfn]["refcount"] == 2
    rename = {old_pfn: new_pfn}
    assert after["lru"] == [rename.get(p, p) for p in before["lru"]]
    assert after["buddied"] == [rename.get(p, p) for p in before["buddied"]]
    assert allocator.in_use == 2  # the old frame was released


def test_migration_is_refused_while_a_buddy_is_mapped() -> None:
    allocator = PageAllocator()
    pool, pfn = filled_pool(allocator)
    assert not isinstance(pool.map(2), int)
    before = pool.inspect()
    assert pool.migrate(pfn) == -Errno.EAGAIN
    assert pool.inspect() == before
    assert allocator.in_use == 2
    assert pool.unmap(2) == 0
    assert pool.migrate(pfn) == 0


def test_migration_is_refused_while_the_page_is_under_reclaim() -> None:
    results: list[int] = []

    def evict(pool: ZbudPool, offset: int) -> int:
        results.append(pool.migrate(where(pool, offset)[0]))
        return -Errno.EAGAIN

    pool = ZbudPool(evict)
    assert pool.alloc(100, 1) == 0
    assert pool.reclaim_page(1) == -Errno.EAGAIN
    assert results == [-Errno.EAGAIN]
    assert_invariants(pool)


def test_migration_of_a_page_the_pool_does_not_own_is_enoent() -> None:
    pool, _ = filled_pool()
    assert pool.migrate(12345) == -Errno.ENOENT


def test_migration_without_a_free_target_frame_is_enomem() -> None:
    allocator = PageAllocator(budget=2)
    pool, pfn = filled_pool(allocator)
    before = pool.inspect()
    assert pool.migrate(pfn) == -Errno.ENOMEM
    assert pool.inspect() == before


def test_a_migrated_page_keeps_serving_alloc_and_free() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 10 * CHUNK, 0x11)
    pfn = where(pool, 1)[0]
    assert pool.migrate(pfn) == 0
    new_pfn = where(pool, 1)[0]
    assert pool.inspect()["unbuddied"] == {53: [new_pfn]}
    store_filled(pool, 2, 10 * CHUNK, 0x22)
    assert where(pool, 2) == (new_pfn, Buddy.LAST)
    assert pool.free(1) == 0
    assert read_buddy(pool, 2) == b"\x22" * 10 * CHUNK
    assert_invariants(pool)


def test_migration_cannot_see_a_mapper_of_a_slot_freed_while_mapped() -> None:
    # Patch 6 counts references: a slot freed while mapped holds the mapper's reference in
    # place of the buddy's, so 1 + occupied slots matches and the page moves under its mapper.
    # zswap never gets here (D7 keeps invalidate away from mapped offsets); this documents it.
    pool = ZbudPool()
    store_filled(pool, 1, 100, 0x42)
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    view, _ = mapped
    assert pool.free(1) == 0
    assert pool.migrate(where(pool, 1)[0]) == 0
    assert bytes(view) == bytes([POISON_FREE]) * 100  # the mapper now reads a freed frame
    assert pool.unmap(1) == -Errno.EFAULT
    assert pool.get_pool_size() == 0
