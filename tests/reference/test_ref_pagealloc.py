"""The page allocator under zbud: budget, failure hook, stable pfns, poison, refcounts."""

from __future__ import annotations

import pytest

from reference import Errno, PageAllocator, errno_name, is_error
from reference.pagealloc import POISON_FREE


def test_a_budget_bounds_the_frames_in_use_and_freed_frames_come_back() -> None:
    allocator = PageAllocator(budget=2)
    first, second = allocator.alloc_page(), allocator.alloc_page()
    assert first is not None and second is not None
    assert allocator.alloc_page() is None
    assert allocator.frames_free() == 0
    assert allocator.put_page(first)
    assert allocator.frames_free() == 1
    again = allocator.alloc_page()
    assert again is first  # reused LIFO, with its pfn
    assert {first.pfn, second.pfn} == {0, 1}


def test_a_new_frame_has_one_reference_and_is_released_at_zero() -> None:
    allocator = PageAllocator()
    frame = allocator.alloc_page()
    assert frame is not None and frame.refcount == 1
    frame.get_page()
    assert not allocator.put_page(frame)
    assert allocator.in_use == 1
    assert allocator.put_page(frame)
    assert allocator.in_use == 0


def test_a_released_frame_is_poisoned() -> None:
    allocator = PageAllocator(page_size=128)
    frame = allocator.alloc_page()
    assert frame is not None
    frame.data[:] = bytes(range(128))
    allocator.put_page(frame)
    assert frame.data == bytes([POISON_FREE]) * 128


def test_poisoning_can_be_turned_off() -> None:
    allocator = PageAllocator(page_size=128, poison=False)
    frame = allocator.alloc_page()
    assert frame is not None
    frame.data[:4] = b"abcd"
    allocator.put_page(frame)
    assert frame.data[:4] == b"abcd"


def test_the_failure_hook_fails_allocations_until_cleared() -> None:
    allocator = PageAllocator(fail_hook=lambda: True)
    assert allocator.alloc_page() is None
    allocator.set_fail_hook(None)
    assert allocator.alloc_page() is not None


def test_dropping_a_reference_that_is_not_held_is_an_error() -> None:
    allocator = PageAllocator()
    frame = allocator.alloc_page()
    assert frame is not None
    assert allocator.put_page(frame)
    with pytest.raises(AssertionError, match="underflow"):
        frame.put_page_testzero()


def test_errno_helpers_name_negative_codes() -> None:
    assert errno_name(-Errno.EFAULT) == "-EFAULT"
    assert errno_name(0) == "0"
    assert errno_name(-999) == "-999"
    assert is_error(-Errno.ENOENT)
    assert not is_error(0)
    assert not is_error(b"page")
