"""zbud_alloc: argument checks in D3's order, best fit, LIFO, slot choice, LRU, placement."""

from __future__ import annotations

import pytest
from ref_helpers import CHUNK, assert_invariants, read_buddy, store_filled, where, write_buddy

from reference import Buddy, Errno, PageAllocator, ZbudGeometry, ZbudPool


@pytest.mark.parametrize(
    ("page_shift", "chunk", "max_alloc"),
    [(12, 64, 3968), (13, 128, 7936), (16, 1024, 63488), (7, 2, 124)],
)
def test_geometry_has_64_chunks_and_the_header_owns_chunk_zero(
    page_shift: int, chunk: int, max_alloc: int
) -> None:
    geometry = ZbudGeometry(page_shift)
    assert geometry.nchunks == 64
    assert geometry.chunk_size == geometry.zhdr_size_aligned == chunk
    assert geometry.max_alloc_size == max_alloc == geometry.page_size - 2 * chunk
    assert geometry.size_to_chunks(geometry.max_alloc_size) == 62
    assert geometry.num_free_chunks(0, 0) == 63


def test_errors_are_negative_linux_errnos() -> None:
    assert (-Errno.EINVAL, -Errno.ENOSPC, -Errno.ENOMEM, -Errno.EEXIST) == (-22, -28, -12, -17)
    assert (-Errno.ENOENT, -Errno.EFAULT, -Errno.EAGAIN, -Errno.ENODEV) == (-2, -14, -11, -19)


@pytest.mark.parametrize("size", [0, -1, -4096])
def test_alloc_of_nonpositive_size_is_einval(size: int) -> None:
    pool = ZbudPool()
    assert pool.alloc(size, 1) == -Errno.EINVAL
    assert pool.get_pool_size() == 0


def test_alloc_larger_than_page_minus_header_minus_a_chunk_is_enospc() -> None:
    pool = ZbudPool()
    assert pool.alloc(4096 - 64 - 64 + 1, 1) == -Errno.ENOSPC
    assert pool.alloc(4096 - 64 - 64, 1) == 0
    assert_invariants(pool)


def test_size_checks_come_before_the_duplicate_check() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 7) == 0
    assert pool.alloc(0, 7) == -Errno.EINVAL
    assert pool.alloc(5000, 7) == -Errno.ENOSPC
    assert pool.alloc(100, 7) == -Errno.EEXIST


def test_duplicate_with_a_fitting_page_changes_nothing() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 1) == 0
    before = pool.inspect()
    assert pool.alloc(100, 1) == -Errno.EEXIST
    assert pool.inspect() == before


def test_duplicate_needing_a_new_page_releases_that_frame_and_keeps_pages_nr() -> None:
    allocator = PageAllocator()
    pool = ZbudPool(allocator=allocator)
    assert pool.alloc(3968, 1) == 0  # fills the page: 1 free chunk left
    before = pool.inspect()
    assert pool.alloc(1000, 1) == -Errno.EEXIST
    assert pool.inspect() == before
    assert allocator.in_use == 1


def test_duplicate_needing_a_page_that_cannot_be_had_is_enomem_not_eexist() -> None:
    pool = ZbudPool(allocator=PageAllocator(budget=1))
    assert pool.alloc(3968, 1) == 0
    assert pool.alloc(1000, 1) == -Errno.ENOMEM


def test_alloc_page_failure_is_enomem_and_changes_nothing() -> None:
    allocator = PageAllocator(budget=1)
    pool = ZbudPool(allocator=allocator)
    assert pool.alloc(3968, 1) == 0
    before = pool.inspect()
    assert pool.alloc(200, 2) == -Errno.ENOMEM
    assert pool.inspect() == before
    assert pool.alloc(50, 2) == 0  # still fits the one free chunk of the existing page


def test_injected_alloc_page_failure_is_enomem() -> None:
    failures = iter([True, False])
    pool = ZbudPool(allocator=PageAllocator(fail_hook=lambda: next(failures)))
    assert pool.alloc(100, 1) == -Errno.ENOMEM
    assert pool.alloc(100, 1) == 0


def test_first_buddy_of_a_new_page_goes_to_first_and_the_page_to_unbuddied() -> None:
    pool = ZbudPool()
    assert pool.alloc(10 * CHUNK, 1) == 0
    pfn, slot = where(pool, 1)
    assert slot is Buddy.FIRST
    snap = assert_invariants(pool)
    assert snap["unbuddied"] == {64 - 10 - 1: [pfn]}
    assert snap["pages_nr"] == 1


def test_second_buddy_takes_last_and_the_page_becomes_buddied() -> None:
    pool = ZbudPool()
    assert pool.alloc(10 * CHUNK, 1) == 0
    assert pool.alloc(20 * CHUNK, 2) == 0
    (pfn1, slot1), (pfn2, slot2) = where(pool, 1), where(pool, 2)
    assert (pfn1, slot1, slot2) == (pfn2, Buddy.FIRST, Buddy.LAST)
    snap = assert_invariants(pool)
    assert snap["buddied"] == [pfn1]
    assert snap["unbuddied"] == {}


def test_a_page_whose_first_was_freed_gets_the_next_buddy_in_first() -> None:
    pool = ZbudPool()
    assert pool.alloc(10 * CHUNK, 1) == 0
    assert pool.alloc(10 * CHUNK, 2) == 0
    assert pool.free(1) == 0
    assert pool.alloc(10 * CHUNK, 3) == 0
    assert where(pool, 3) == (where(pool, 2)[0], Buddy.FIRST)
    assert_invariants(pool)


def test_best_fit_picks_the_smallest_free_space_that_fits() -> None:
    pool = ZbudPool()
    assert pool.alloc(53 * CHUNK, 1) == 0  # page A: 10 free chunks
    assert pool.alloc(43 * CHUNK, 2) == 0  # page B: 20 free chunks
    page_a, page_b = where(pool, 1)[0], where(pool, 2)[0]
    assert page_a != page_b
    assert pool.alloc(5 * CHUNK, 3) == 0
    assert where(pool, 3) == (page_a, Buddy.LAST)
    assert pool.alloc(15 * CHUNK, 4) == 0
    assert where(pool, 4) == (page_b, Buddy.LAST)
    assert_invariants(pool)


def test_best_fit_opens_a_new_page_when_no_unbuddied_page_fits() -> None:
    pool = ZbudPool()
    assert pool.alloc(53 * CHUNK, 1) == 0  # 10 free chunks
    assert pool.alloc(11 * CHUNK, 2) == 0
    assert where(pool, 2)[0] != where(pool, 1)[0]
    assert pool.get_pool_size() == 2


def test_within_a_free_class_the_most_recently_listed_page_is_picked() -> None:
    pool = ZbudPool()
    assert pool.alloc(53 * CHUNK, 1) == 0
    assert pool.alloc(53 * CHUNK, 2) == 0
    page_a, page_b = where(pool, 1)[0], where(pool, 2)[0]
    assert pool.inspect()["unbuddied"] == {10: [page_b, page_a]}
    assert pool.alloc(CHUNK, 3) == 0
    assert where(pool, 3)[0] == page_b
    assert pool.free(3) == 0  # page B relisted at the head again
    assert pool.alloc(CHUNK, 4) == 0
    assert where(pool, 4)[0] == page_b


def test_a_freed_buddy_relists_its_page_at_the_head_of_its_new_class() -> None:
    pool = ZbudPool()
    assert pool.alloc(30 * CHUNK, 1) == 0
    assert pool.alloc(30 * CHUNK, 2) == 0  # page A buddied, 3 free
    assert pool.alloc(60 * CHUNK, 3) == 0  # page B: 3 free
    page_a = where(pool, 1)[0]
    page_b = where(pool, 3)[0]
    assert pool.inspect()["unbuddied"] == {3: [page_b]}
    assert pool.free(2) == 0  # A: 33 free
    assert pool.inspect()["unbuddied"] == {3: [page_b], 33: [page_a]}
    assert_invariants(pool)


def test_lru_head_is_the_page_most_recently_allocated_into() -> None:
    pool = ZbudPool()
    assert pool.alloc(10 * CHUNK, 1) == 0  # A: 53 free
    assert pool.alloc(60 * CHUNK, 2) == 0  # B: 3 free
    assert pool.alloc(60 * CHUNK, 3) == 0  # C: 3 free
    page_a, page_b, page_c = (where(pool, o)[0] for o in (1, 2, 3))
    assert pool.inspect()["lru"] == [page_c, page_b, page_a]
    assert pool.alloc(50 * CHUNK, 4) == 0  # only A fits: allocating into it makes it newest
    assert where(pool, 4)[0] == page_a
    assert pool.inspect()["lru"] == [page_a, page_c, page_b]
    assert pool.free(4) == 0
    assert pool.inspect()["lru"] == [page_a, page_c, page_b]


def test_free_and_map_do_not_move_a_page_in_the_lru() -> None:
    pool = ZbudPool()
    for offset in (1, 2, 3, 4):
        assert pool.alloc(30 * CHUNK, offset) == 0  # pages A(1,2), B(3,4)
    lru = pool.inspect()["lru"]
    assert pool.free(1) == 0
    mapped = pool.map(2)
    assert not isinstance(mapped, int)
    assert pool.unmap(2) == 0
    assert pool.inspect()["lru"] == lru


def test_first_buddy_starts_right_after_the_header_chunk() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 100, 0xAA)
    pfn, _ = where(pool, 1)
    frame = pool.frame_bytes(pfn)
    assert frame[:CHUNK] == bytes(CHUNK)
    assert frame[CHUNK : CHUNK + 100] == b"\xaa" * 100
    assert frame[CHUNK + 100 :] == bytes(4096 - CHUNK - 100)


def test_last_buddy_is_right_aligned_to_the_page_end_by_whole_chunks() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 100, 0xAA)
    store_filled(pool, 2, 100, 0xBB)  # 2 chunks: starts at 4096 - 128
    pfn, slot = where(pool, 2)
    assert slot is Buddy.LAST
    frame = pool.frame_bytes(pfn)
    assert frame[4096 - 128 : 4096 - 28] == b"\xbb" * 100
    assert frame[4096 - 28 :] == bytes(28)
    assert frame[CHUNK + 100 : 4096 - 128] == bytes(4096 - 128 - CHUNK - 100)
    assert pool.inspect()["pages"][pfn]["last"] == {
        "offset": 2, "size": 100, "chunks": 2, "start": 3968, "map_count": 1,
    }


def test_two_buddies_that_fill_the_page_exactly_do_not_overlap() -> None:
    pool = ZbudPool()
    store_filled(pool, 1, 31 * CHUNK, 0x11)
    store_filled(pool, 2, 32 * CHUNK, 0x22)
    assert where(pool, 1)[0] == where(pool, 2)[0]
    assert read_buddy(pool, 1) == b"\x11" * 31 * CHUNK
    assert read_buddy(pool, 2) == b"\x22" * 32 * CHUNK
    assert pool.inspect()["pages"][where(pool, 1)[0]]["refcount"] == 2
    assert_invariants(pool)


def test_a_buddy_of_odd_size_keeps_its_byte_length_d2() -> None:
    pool = ZbudPool()
    assert pool.alloc(65, 1) == 0
    mapped = pool.map(1)
    assert not isinstance(mapped, int)
    view, length = mapped
    assert (length, len(view)) == (65, 65)
    assert pool.unmap(1) == 0
    pfn = where(pool, 1)[0]
    assert pool.inspect()["pages"][pfn]["first"] == {
        "offset": 1, "size": 65, "chunks": 2, "start": 64, "map_count": 1,
    }
    assert pool.inspect()["unbuddied"] == {61: [pfn]}


def test_offset_zero_is_a_usable_key() -> None:
    pool = ZbudPool()
    assert pool.alloc(100, 0) == 0
    assert write_buddy(pool, 0, 0x5A) == 100
    assert pool.free(0) == 0
    assert pool.free(0) == -Errno.ENOENT


def test_larger_pages_scale_chunks_and_placement() -> None:
    pool = ZbudPool(page_shift=16)
    store_filled(pool, 1, 1000, 0x01)  # 1 chunk of 1024
    store_filled(pool, 2, 1025, 0x02)  # 2 chunks: starts at 65536 - 2048
    snap = assert_invariants(pool)
    page = snap["pages"][where(pool, 2)[0]]
    assert page["first"] is not None and page["first"]["start"] == 1024
    assert page["last"] is not None and page["last"]["start"] == 65536 - 2048
    assert read_buddy(pool, 2) == b"\x02" * 1025
