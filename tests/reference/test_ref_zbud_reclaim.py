"""zbud_reclaim_page exactly as D5 (patch 1 + patch 5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ref_helpers import CHUNK, assert_invariants, where

from reference import Buddy, Errno, PageAllocator, ZbudPool


class Evictor:
    """An evict callback that records its calls and answers from a script.

    ``answer(offset)`` returns the result; a result of 0 frees the offset first, honouring the
    contract "0 only after zbud_free".
    """

    def __init__(self, answer: Callable[[int], int] = lambda offset: 0) -> None:
        self.calls: list[int] = []
        self.answer = answer
        self.pool: ZbudPool | None = None
        self.during: Callable[[ZbudPool, int], None] | None = None

    def __call__(self, pool: ZbudPool, offset: int) -> int:
        self.calls.append(offset)
        if self.during is not None:
            self.during(pool, offset)
        result = self.answer(offset)
        if result == 0:
            pool.free(offset)
        return result


def two_pages(evict: Evictor, allocator: PageAllocator | None = None) -> tuple[ZbudPool, int, int]:
    """Pool with page A (offsets 1, 2; the LRU tail) and page B (offsets 3, 4)."""
    pool = ZbudPool(evict, allocator=allocator)
    for offset in (1, 2, 3, 4):
        assert pool.alloc(30 * CHUNK, offset) == 0
    return pool, where(pool, 1)[0], where(pool, 3)[0]


def test_reclaim_on_an_empty_lru_is_einval() -> None:
    pool = ZbudPool(Evictor())
    assert pool.reclaim_page(8) == -Errno.EINVAL


def test_reclaim_with_zero_retries_is_einval_and_touches_nothing() -> None:
    evict = Evictor()
    pool, _, _ = two_pages(evict)
    before = pool.inspect()
    assert pool.reclaim_page(0) == -Errno.EINVAL
    assert pool.inspect() == before
    assert evict.calls == []


def test_reclaim_without_an_evict_callback_is_einval() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    assert pool.reclaim_page(8) == -Errno.EINVAL


def test_reclaim_evicts_first_then_last_of_the_lru_tail_and_releases_it() -> None:
    evict = Evictor()
    allocator = PageAllocator()
    pool, _, page_b = two_pages(evict, allocator)
    assert pool.reclaim_page(8) == 0
    assert evict.calls == [1, 2]
    snap = assert_invariants(pool)
    assert list(snap["pages"]) == [page_b]
    assert (snap["pages_nr"], allocator.in_use) == (1, 1)


def test_reclaim_evicts_a_single_last_buddy_when_first_is_empty() -> None:
    evict = Evictor()
    pool, _, _ = two_pages(evict)
    assert pool.free(1) == 0
    assert pool.reclaim_page(1) == 0
    assert evict.calls == [2]


def test_reclaim_gives_up_with_eagain_after_retries_tries_rotating_the_lru() -> None:
    evict = Evictor(lambda offset: -Errno.EAGAIN)
    pool, page_a, page_b = two_pages(evict)
    assert pool.inspect()["lru"] == [page_b, page_a]
    assert pool.reclaim_page(3) == -Errno.EAGAIN
    assert evict.calls == [1, 3, 1]  # the tail each time; LAST skipped because FIRST failed
    assert pool.inspect()["lru"] == [page_a, page_b]
    assert_invariants(pool)


def test_with_one_page_and_failing_evict_the_same_page_is_retried() -> None:
    evict = Evictor(lambda offset: -Errno.EEXIST)
    pool = ZbudPool(evict)
    assert pool.alloc(100, 7) == 0
    assert pool.reclaim_page(4) == -Errno.EAGAIN
    assert evict.calls == [7, 7, 7, 7]


def test_a_partially_evicted_page_is_a_failed_try() -> None:
    evict = Evictor(lambda offset: 0 if offset == 1 else -Errno.ENOMEM)
    pool, page_a, page_b = two_pages(evict)
    assert pool.reclaim_page(1) == -Errno.EAGAIN
    assert evict.calls == [1, 2]
    snap = assert_invariants(pool)
    assert snap["index"][2] == (page_a, "LAST")
    assert snap["lru"] == [page_a, page_b]  # rotated to the head, still listed


def test_reclaim_succeeds_when_someone_else_empties_the_page() -> None:
    def free_partner(pool: ZbudPool, offset: int) -> None:
        if offset == 1:
            assert pool.free(2) == 0  # a concurrent invalidate of the other buddy

    evict = Evictor()
    evict.during = free_partner
    pool, _, _ = two_pages(evict)
    assert pool.reclaim_page(1) == 0
    assert evict.calls == [1, 2]  # LAST still called with its captured offset ...
    assert 2 not in pool.inspect()["index"]  # ... which is already gone


def test_evict_runs_without_the_pool_lock_and_with_a_reclaim_reference() -> None:
    seen: list[tuple[bool, int]] = []

    def look(pool: ZbudPool, offset: int) -> None:
        snap = pool.inspect()  # would deadlock if reclaim held the lock
        pfn = snap["index"][offset][0]
        seen.append((pool._lock.locked(), snap["pages"][pfn]["refcount"]))
        assert snap["lru"][0] == pfn  # moved to the LRU head before evicting

    evict = Evictor(lambda offset: -Errno.EAGAIN)
    evict.during = look
    pool, _, _ = two_pages(evict)
    assert pool.reclaim_page(1) == -Errno.EAGAIN
    assert seen == [(False, 3)]  # two buddies + reclaim's reference


def test_the_page_stays_listed_during_reclaim_so_its_freed_slot_is_reusable() -> None:
    def evict(pool: ZbudPool, offset: int) -> int:
        if offset != 1:
            return -Errno.EAGAIN
        assert pool.free(1) == 0
        assert pool.alloc(10 * CHUNK, 99) == 0  # lands in the page under reclaim (v3)
        assert where(pool, 99) == (where(pool, 2)[0], Buddy.FIRST)
        return 0

    pool = ZbudPool(evict)
    for offset in (1, 2, 3, 4):
        assert pool.alloc(30 * CHUNK, offset) == 0
    assert pool.reclaim_page(1) == -Errno.EAGAIN  # the page was refilled, not released
    assert_invariants(pool)


def test_reclaim_returns_zero_when_the_lru_empties_under_a_page_it_cannot_release() -> None:
    # Outer reclaim holds page A; inside its first evict a second reclaim empties A. The
    # inner one finds the LRU empty after its put (the outer reference keeps the frame) and
    # returns 0; the outer one's put then releases the frame and it returns 0 as well.
    allocator = PageAllocator()
    pool = ZbudPool(allocator=allocator)
    results: list[int] = []

    def evict(inner_pool: ZbudPool, offset: int) -> int:
        if not results and offset == 1:
            results.append(-1)
            results.append(inner_pool.reclaim_page(1))
        inner_pool.free(offset)
        return 0

    pool._evict = evict
    assert pool.alloc(30 * CHUNK, 1) == 0
    assert pool.alloc(30 * CHUNK, 2) == 0
    assert pool.reclaim_page(1) == 0
    assert results == [-1, 0]
    assert (pool.get_pool_size(), allocator.in_use) == (0, 0)


def test_reclaim_drops_its_reference_even_if_evict_raises() -> None:
    def boom(offset: int) -> int:
        raise RuntimeError("evict failed hard")

    evict = Evictor(boom)
    pool, _, _ = two_pages(evict)
    with pytest.raises(RuntimeError):
        pool.reclaim_page(1)
    assert_invariants(pool)
    assert not pool._lock.locked()
