"""A tiny page allocator: page frames with a reference count, a budget, a failure hook.

This stands in for ``alloc_page`` / ``get_page`` / ``put_page`` / ``__free_page``:

* a frame is a ``bytearray(PAGE_SIZE)`` with a stable page frame number (``pfn``);
* ``alloc_page`` hands out a frame with reference count 1 (the "initial reference" patch 1 of
  the v3 series lets stand for the first buddy), or ``None`` when the budget is exhausted or the
  injected failure hook says so (zbud turns that into ``-ENOMEM``);
* the reference count is an atomic counter (``atomic_t count``): every change goes through the
  frame's own lock, so reclaim may drop its reference without the pool lock, as in the kernel;
* a frame whose count reaches 0 goes back to the allocator. Released frames are reused LIFO
  (like the per-CPU hot page lists), keeping their pfn, and are filled with ``POISON_FREE``
  first when ``poison`` is on, so a use after free reads 0x6b bytes instead of plausible data.
  The kernel does not poison pages without ``debug_pagealloc``; it is a testing aid.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

POISON_FREE = 0x6B
"""The byte the kernel's slab debugging writes into freed objects (``POISON_FREE``)."""

FailHook = Callable[[], bool]
"""Called by ``alloc_page`` before it takes a frame; returning True makes the allocation fail."""


class PageFrame:
    """One page frame: ``struct page`` (pfn, atomic refcount) plus its memory.

    ``count`` is the ``atomic_t``: change it only while holding ``lock`` (zbud's hot paths do
    so inline; everything else uses the methods).
    """

    __slots__ = ("count", "data", "lock", "pfn", "view")

    def __init__(self, pfn: int, page_size: int) -> None:
        self.pfn = pfn
        self.data = bytearray(page_size)
        self.view = memoryview(self.data)
        self.count = 0
        self.lock = threading.Lock()

    @property
    def refcount(self) -> int:
        """``page_count(page)``: a plain read, like ``atomic_read``."""
        return self.count

    def get_page(self) -> None:
        """``get_page``: atomically add one reference."""
        with self.lock:
            self.count += 1

    def put_page_testzero(self) -> bool:
        """``put_page_testzero``: atomically drop one reference; True if it was the last."""
        with self.lock:
            self.count -= 1
            count = self.count
        if count < 0:
            raise AssertionError(f"page {self.pfn}: reference count underflow")
        return count == 0

    def move_references(self, new: PageFrame, keep: int) -> None:
        """Migration: ``new`` takes every reference but ``keep`` (the isolation reference).

        ``new``'s own ``alloc_page`` reference is the one the migration core drops when it is
        done with the target; it is folded in here.
        """
        with self.lock, new.lock:
            new.count = self.count - keep
            self.count = keep

    def __repr__(self) -> str:
        return f"PageFrame(pfn={self.pfn}, refcount={self.count})"


class PageAllocator:
    """The page allocator the pools draw frames from; one may be shared by several pools.

    ``budget`` bounds the number of frames in use at once (``None``: unbounded). It is the
    spec's ``NPAGES`` (D9): with a budget, pfns are ``0 .. budget - 1``.
    """

    __slots__ = ("_fail_hook", "_free", "_lock", "_next_pfn", "_poison", "budget", "in_use",
                 "page_size")

    def __init__(
        self,
        page_size: int = 4096,
        *,
        budget: int | None = None,
        fail_hook: FailHook | None = None,
        poison: bool = True,
    ) -> None:
        if budget is not None and budget < 0:
            raise ValueError("budget must be >= 0")
        self.page_size = page_size
        self.budget = budget
        self.in_use = 0
        self._fail_hook = fail_hook
        self._poison = bytes([POISON_FREE]) * page_size if poison else None
        self._free: list[PageFrame] = []
        self._next_pfn = 0
        self._lock = threading.Lock()

    def set_fail_hook(self, hook: FailHook | None) -> None:
        """Install (or clear with ``None``) the injected ``alloc_page`` failure hook."""
        self._fail_hook = hook

    def alloc_page(self) -> PageFrame | None:
        """``alloc_page``: a frame with reference count 1, or ``None`` (out of memory)."""
        hook = self._fail_hook
        if hook is not None and hook():
            return None
        with self._lock:
            if self.budget is not None and self.in_use >= self.budget:
                return None
            self.in_use += 1
            if self._free:
                frame = self._free.pop()
            else:
                frame = PageFrame(self._next_pfn, self.page_size)
                self._next_pfn += 1
        frame.count = 1  # not yet shared: nobody else can see this frame
        return frame

    def free_page(self, frame: PageFrame) -> None:
        """``__free_page``: return a frame whose reference count reached 0."""
        if frame.refcount != 0:
            raise AssertionError(f"freeing page {frame.pfn} with refcount {frame.refcount}")
        if self._poison is not None:
            frame.data[:] = self._poison
        with self._lock:
            self.in_use -= 1
            self._free.append(frame)

    def put_page(self, frame: PageFrame) -> bool:
        """``put_page``: drop one reference and free the frame at 0. True if it was freed."""
        if frame.put_page_testzero():
            self.free_page(frame)
            return True
        return False

    def frames_free(self) -> int | None:
        """How many more frames ``alloc_page`` could hand out (``None``: unbounded)."""
        with self._lock:
            return None if self.budget is None else self.budget - self.in_use
