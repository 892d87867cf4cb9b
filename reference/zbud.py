"""zbud in the v3 "mm: migrate zbud pages" design (Kozlowski, Oct 2013, patches 1, 5 and 6).

zbud stores up to two compressed pages ("buddies") in one page frame. The header
(``struct zbud_header``) owns chunk 0; the FIRST buddy starts right after it
(``base + ZHDR_SIZE_ALIGNED``), the LAST buddy is right-aligned to the page end
(``base + PAGE_SIZE - size_to_chunks(last_size) * CHUNK_SIZE``). Buddies live in real
``bytearray`` frames, so a placement or size bug overwrites the neighbour and shows up as
corrupted data.

What the v3 series changed (docs/decisions.md D2-D5 fix the open points):

* patch 1: the page reference count replaces ``under_reclaim``: one reference per live buddy,
  one per outstanding map, one held by reclaim around its evict calls; the frame is released
  when the count reaches 0. Reclaim no longer takes the page off its lists.
* patch 5: handles disappear; the swap offset is the key. The pool keeps an index
  offset -> header (the patch's radix tree) and each slot records ``*_offset``, ``*_size``
  (bytes, D2) and ``*_map_count`` (D4: free while mapped only defers).
* patch 6: ``migrate`` copies a page whose only references are the isolation one and one per
  occupied slot (``-EAGAIN`` otherwise) and moves the header to the new frame.

Return convention (see :mod:`reference.errno`): ``0`` or a negative errno int, except ``map``
(``(memoryview, length)`` or a negative errno) and ``free_all``/``get_pool_size`` (counts).

Locking is the kernel's: one lock per pool protects every pool field, the index and all header
fields; it is dropped around ``alloc_page`` (alloc and migrate) and around every ``evict`` call
(reclaim). Page reference counts are atomic (:class:`~reference.pagealloc.PageFrame`), so
reclaim drops its reference without the pool lock. ``get_pool_size`` reads ``pages_nr``
unlocked, as the kernel does. The hot paths (alloc, free, map, unmap) use explicit
``acquire``/``try``/``finally``/``release``, which costs half of a ``with`` block on CPython
3.11; the locked regions are the same.

Representation notes (none of them observable through the API):

* Lists are ``OrderedDict`` used as ordered sets, the *end* being the kernel list's head, which
  gives O(1) "insert at head", "take head" (``popitem``), "take tail" and "move to head"
  (``move_to_end``). A bitmask of non-empty ``unbuddied`` lists finds the first fitting class in
  O(1); it selects exactly the list the kernel's linear scan from ``chunks`` upwards selects.
* The index is a ``dict``: the radix tree serves exact lookup, insert and delete by offset,
  which a hash map does with the same observable behaviour ("insert fails if present" is
  ``EEXIST`` here as there). Its one walk, in ``zbud_free_all``, visits offsets in ascending
  order; ``free_all`` sorts the keys to do the same.
* A :class:`ZbudPage` is the header plus a pointer to the frame holding it. Migration copies
  the frame and repoints the header (the kernel builds a new header in the new page and
  ``list_replace``s every link); either way list positions and index entries carry over.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from reference.errno import Errno
from reference.geometry import ZbudGeometry
from reference.pagealloc import PageAllocator, PageFrame
from reference.snapshot import Buddy, PageInfo, PoolSnapshot, SlotInfo

EvictFn = Callable[["ZbudPool", int], int]
"""``zbud_ops.evict(pool, offset)``: returns 0 only after it freed ``offset`` (or found it gone),
non-zero when it could not evict. Called without the pool lock."""

_EINVAL = -Errno.EINVAL
_ENOSPC = -Errno.ENOSPC
_ENOMEM = -Errno.ENOMEM
_EEXIST = -Errno.EEXIST
_ENOENT = -Errno.ENOENT
_EFAULT = -Errno.EFAULT
_EAGAIN = -Errno.EAGAIN

_List = OrderedDict["ZbudPage", None]


class ZbudPage:
    """``struct zbud_header`` (after patch 5) and the frame it lives in.

    ``None`` as an offset means "slot empty" (D9: offset 0 is usable). The list links of the
    kernel header are the page's membership in the pool's ``OrderedDict`` lists.
    """

    __slots__ = (
        "first_map_count",
        "first_offset",
        "first_size",
        "frame",
        "last_map_count",
        "last_offset",
        "last_size",
    )

    def __init__(self, frame: PageFrame) -> None:
        """``init_zbud_page``: both slots empty (patch 4 zeroes the whole header)."""
        self.frame = frame
        self.first_offset: int | None = None
        self.last_offset: int | None = None
        self.first_size = 0
        self.last_size = 0
        self.first_map_count = 0
        self.last_map_count = 0

    def __repr__(self) -> str:
        return (
            f"ZbudPage(pfn={self.frame.pfn}, first={self.first_offset}/{self.first_size}, "
            f"last={self.last_offset}/{self.last_size})"
        )


class ZbudPool:
    """``struct zbud_pool`` and the zbud API of patch 5 (plus ``migrate`` from patch 6)."""

    __slots__ = (
        "_allocator",
        "_buddied",
        "_chunk_mask",
        "_chunk_shift",
        "_evict",
        "_index",
        "_lock",
        "_lru",
        "_max_alloc",
        "_nchunks",
        "_page_size",
        "_pages",
        "_pages_nr",
        "_unbuddied",
        "_unbuddied_mask",
        "_zero_header",
        "_zhdr",
        "geometry",
    )

    def __init__(
        self,
        evict: EvictFn | None = None,
        *,
        page_shift: int = 12,
        nchunks_order: int = 6,
        allocator: PageAllocator | None = None,
    ) -> None:
        """``zbud_create_pool(gfp, ops)``; ``evict`` is ``ops->evict``.

        ``allocator`` may be shared between pools (one machine's memory); by default the pool
        gets its own unbounded one.
        """
        geometry = ZbudGeometry(page_shift, nchunks_order)
        if allocator is None:
            allocator = PageAllocator(geometry.page_size)
        elif allocator.page_size != geometry.page_size:
            raise ValueError(
                f"allocator page size {allocator.page_size} != pool page size {geometry.page_size}"
            )
        self.geometry = geometry
        self._allocator = allocator
        self._evict = evict
        self._page_size = geometry.page_size
        self._nchunks = geometry.nchunks
        self._chunk_shift = geometry.chunk_shift
        self._chunk_mask = geometry.chunk_size - 1
        self._zhdr = geometry.zhdr_size_aligned
        self._max_alloc = geometry.max_alloc_size
        self._zero_header = bytes(geometry.zhdr_size_aligned)
        self._lock = threading.Lock()
        self._unbuddied: list[_List] = [OrderedDict() for _ in range(geometry.nchunks)]
        self._unbuddied_mask = 0
        self._buddied: _List = OrderedDict()
        self._lru: _List = OrderedDict()
        self._index: dict[int, ZbudPage] = {}
        self._pages: dict[int, ZbudPage] = {}
        self._pages_nr = 0

    @property
    def allocator(self) -> PageAllocator:
        """The page allocator this pool draws frames from."""
        return self._allocator

    # ------------------------------------------------------------------ alloc / free

    def alloc(self, size: int, offset: int) -> int:
        """``zbud_alloc(pool, size, gfp, offset)``, with D3's order of checks.

        ``size <= 0`` -> ``-EINVAL``; ``size`` over the largest allocation -> ``-ENOSPC``; then
        under the lock, best fit: the head of the first non-empty ``unbuddied[chunks..]`` list
        (its empty slot: FIRST if free, else LAST). The offset goes into the index before the
        page is unlinked (``-EEXIST`` if present: nothing changes). With no fitting page the
        lock is dropped around ``alloc_page`` (``-ENOMEM``, lock not held) and the fresh page
        takes the buddy in FIRST; a duplicate found then drops the fresh page's only reference
        (frame released, ``pages_nr`` unchanged) and returns ``-EEXIST``. The page goes to the
        head of the LRU in both cases.
        """
        if size <= 0:
            return _EINVAL
        if size > self._max_alloc:
            return _ENOSPC
        chunks = (size + self._chunk_mask) >> self._chunk_shift
        index = self._index
        lock = self._lock
        lock.acquire()  # explicit acquire/release: half the cost of ``with`` on this hot path
        try:
            fit = self._unbuddied_mask >> chunks
            if fit:
                if offset in index:
                    return _EEXIST
                i = chunks + (fit & -fit).bit_length() - 1
                candidates = self._unbuddied[i]
                page = candidates.popitem()[0]  # the head: LIFO within a class
                if not candidates:
                    self._unbuddied_mask ^= 1 << i
                index[offset] = page
                if page.first_offset is None:
                    page.first_offset = offset
                    page.first_size = size
                    page.first_map_count = 1
                else:
                    page.last_offset = offset
                    page.last_size = size
                    page.last_map_count = 1
                buddy_frame = page.frame
                buddy_frame.lock.acquire()  # get_page: the second buddy's reference (patch 1)
                buddy_frame.count += 1
                buddy_frame.lock.release()
                self._buddied[page] = None
                self._lru.move_to_end(page)
                return 0
        finally:
            lock.release()
        frame = self._allocator.alloc_page()
        if frame is None:
            return _ENOMEM
        lock.acquire()
        try:
            if offset in index:
                self._allocator.put_page(frame)
                return _EEXIST
            frame.data[: self._zhdr] = self._zero_header
            page = ZbudPage(frame)
            page.first_offset = offset
            page.first_size = size
            page.first_map_count = 1
            index[offset] = page
            self._pages_nr += 1
            self._pages[frame.pfn] = page
            free = self._nchunks - chunks - 1
            self._unbuddied[free][page] = None
            self._unbuddied_mask |= 1 << free
            self._lru[page] = None
        finally:
            lock.release()
        return 0

    def free(self, offset: int) -> int:
        """``zbud_free(pool, offset)``: ``-ENOENT`` if absent, else 0.

        D4: the slot's map count drops by one. While it stays positive someone still has the
        buddy mapped: only a page reference is dropped and the offset stays in the index
        (deferred free). At 0 the buddy is really freed (see ``_release_buddy``).
        """
        lock = self._lock
        lock.acquire()
        try:
            page = self._index.get(offset)
            if page is None:
                return _ENOENT
            self._free_locked(page, offset)
            return 0
        finally:
            lock.release()

    def free_all(self) -> int:
        """``zbud_free_all``: ``zbud_free`` every offset in the index under one lock hold.

        Returns how many offsets it freed. Offsets freed while mapped are visited too (their
        map count drops again), as the patch walks the whole radix tree.
        """
        with self._lock:
            index = self._index
            offsets = sorted(index)  # the radix-tree walk's order
            for offset in offsets:
                self._free_locked(index[offset], offset)
            return len(offsets)

    def _free_locked(self, page: ZbudPage, offset: int) -> None:
        """``zbud_free`` after the lookup (lock held): map count -1, then defer or free."""
        first = page.first_offset == offset
        if first:
            page.first_map_count -= 1
            remaining = page.first_map_count
        else:
            page.last_map_count -= 1
            remaining = page.last_map_count
        if remaining > 0:
            self._put_page(page.frame)  # deferred: the mappers' references keep the page
        else:
            self._release_buddy(page, offset, first)

    def _release_buddy(self, page: ZbudPage, offset: int, first: bool) -> None:
        """The real free (lock held): index delete, clear the slot, relist, drop a reference.

        The page leaves its buddy list. If it held only this buddy it is now empty: it also
        leaves the LRU and ``pages_nr`` drops (even if a reference, e.g. reclaim's, delays the
        frame release). Otherwise it was buddied and goes to the head of
        ``unbuddied[num_free_chunks]``, keeping its LRU place.
        """
        del self._index[offset]
        if first:
            size = page.first_size
            other = page.last_offset
            other_size = page.last_size
            page.first_offset = None
            page.first_size = 0
        else:
            size = page.last_size
            other = page.first_offset
            other_size = page.first_size
            page.last_offset = None
            page.last_size = 0
        shift = self._chunk_shift
        mask = self._chunk_mask
        if other is None:
            i = self._nchunks - ((size + mask) >> shift) - 1
            candidates = self._unbuddied[i]
            del candidates[page]
            if not candidates:
                self._unbuddied_mask &= ~(1 << i)
            del self._lru[page]
            del self._pages[page.frame.pfn]
            self._pages_nr -= 1
        else:
            del self._buddied[page]
            i = self._nchunks - ((other_size + mask) >> shift) - 1
            self._unbuddied[i][page] = None
            self._unbuddied_mask |= 1 << i
        frame = page.frame
        frame.lock.acquire()  # put_page, inline: this is the hot path of every free
        frame.count -= 1
        dead = frame.count == 0
        frame.lock.release()
        if dead:
            self._allocator.free_page(frame)

    def _put_page(self, frame: PageFrame) -> None:
        """``put_page`` with the pool lock held: drop one reference, release the frame at 0."""
        frame.lock.acquire()
        frame.count -= 1
        dead = frame.count == 0
        frame.lock.release()
        if dead:
            self._allocator.free_page(frame)

    # ------------------------------------------------------------------ map / unmap

    def map(self, offset: int) -> tuple[memoryview, int] | int:
        """``zbud_map(pool, offset, &entry)``: the buddy's bytes and length, or ``-ENOENT``.

        Under the lock: page reference +1, the slot's map count +1. The view stays valid (the
        frame cannot be released) until the matching ``unmap``.
        """
        lock = self._lock
        lock.acquire()
        try:
            page = self._index.get(offset)
            if page is None:
                return _ENOENT
            frame = page.frame
            frame.lock.acquire()  # get_page
            frame.count += 1
            frame.lock.release()
            if page.first_offset == offset:
                page.first_map_count += 1
                size = page.first_size
                start = self._zhdr
            else:
                page.last_map_count += 1
                size = page.last_size
                start = self._page_size - (
                    ((size + self._chunk_mask) >> self._chunk_shift) << self._chunk_shift
                )
            return frame.view[start : start + size], size
        finally:
            lock.release()

    def unmap(self, offset: int) -> int:
        """``zbud_unmap(pool, offset)``: ``-ENOENT``, ``-EFAULT`` or 0 (D4).

        The slot's map count drops by one. If that brings it to 0 the buddy was freed while
        mapped ("invalidated meanwhile"): this call does the real free and returns ``-EFAULT``.
        Otherwise it drops the map's page reference and returns 0.
        """
        lock = self._lock
        lock.acquire()
        try:
            page = self._index.get(offset)
            if page is None:
                return _ENOENT
            first = page.first_offset == offset
            if first:
                page.first_map_count -= 1
                remaining = page.first_map_count
            else:
                page.last_map_count -= 1
                remaining = page.last_map_count
            if remaining == 0:
                self._release_buddy(page, offset, first)
                return _EFAULT
            self._put_page(page.frame)
            return 0
        finally:
            lock.release()

    # ------------------------------------------------------------------ reclaim

    def reclaim_page(self, retries: int) -> int:
        """``zbud_reclaim_page(pool, retries)`` exactly as D5 (patch 1 + patch 5).

        ``-EINVAL`` if there is no evict callback, the LRU is empty or ``retries <= 0``.
        Each try: take the LRU tail, move it to the head (it stays on its buddy list), take a
        page reference, capture ``first_offset``/``last_offset``, drop the lock; evict FIRST if
        present and LAST only if FIRST returned 0; drop the reference without the lock. If that
        released the frame, return 0. Relock; an empty LRU also returns 0; else try again.
        ``-EAGAIN`` after ``retries`` tries. Success is the page being released, whoever
        emptied it; a partially evicted page is a failed try.
        """
        evict = self._evict
        lock = self._lock
        lru = self._lru
        lock.acquire()
        if evict is None or not lru or retries <= 0:
            lock.release()
            return _EINVAL
        for _ in range(retries):
            page = next(iter(lru))  # the tail: least recently allocated into
            lru.move_to_end(page)
            frame = page.frame
            frame.get_page()
            first = page.first_offset
            last = page.last_offset
            lock.release()
            try:
                ret = 0
                if first is not None:
                    ret = evict(self, first)
                if ret == 0 and last is not None:
                    ret = evict(self, last)
            finally:
                released = self._allocator.put_page(frame)
            if released:
                return 0
            lock.acquire()
            if not lru:
                lock.release()
                return 0
        lock.release()
        return _EAGAIN

    # ------------------------------------------------------------------ migration

    def migrate(self, pfn: int) -> int:
        """Isolate, migrate and put back the pool page in frame ``pfn`` (patch 6).

        Isolation takes a page reference (``-ENOENT`` if ``pfn`` is no page of this pool); the
        target frame comes from ``alloc_page`` without the pool lock (``-ENOMEM``). Under the
        lock ``zbud_migrate_page`` requires ``page_count == 1 + occupied slots``: any map or
        reclaim reference makes it ``-EAGAIN``. Then the data is copied, the header moves to
        the new frame with every reference but the isolation one, and index and list links
        follow. Putting back the isolation reference releases the old frame.

        Two cases the patch text does not settle: a page emptied while isolated is refused
        with ``-EAGAIN`` (it is no longer a zbud page); and a slot freed while mapped keeps
        the mapper's reference but no buddy reference, so the count check alone cannot see
        that mapper (a reference count cannot tell them apart). This reference follows the
        count check, which lets such a page move under its mapper; zswap never gets there
        because the swap layer keeps invalidate away from mapped offsets (D7).
        """
        with self._lock:
            page = self._pages.get(pfn)
            if page is None:
                return _ENOENT
            old = page.frame
            old.get_page()  # isolate_migratepages: the isolation reference
        new = self._allocator.alloc_page()
        if new is None:
            self._allocator.put_page(old)
            return _ENOMEM
        ret = _EAGAIN
        with self._lock:
            occupied = (page.first_offset is not None) + (page.last_offset is not None)
            if page.frame is old and occupied and old.refcount == 1 + occupied:
                new.data[:] = old.data
                old.move_references(new, keep=1)
                page.frame = new
                del self._pages[pfn]
                self._pages[new.pfn] = page
                ret = 0
        if ret:
            self._allocator.put_page(new)
        self._allocator.put_page(old)  # putback: drops the isolation reference
        return ret

    # ------------------------------------------------------------------ queries

    def locate(self, offset: int) -> tuple[int, Buddy] | None:
        """Where ``offset`` is stored: (pfn, slot), or None if it is not in the index."""
        with self._lock:
            page = self._index.get(offset)
            if page is None:
                return None
            return page.frame.pfn, Buddy.FIRST if page.first_offset == offset else Buddy.LAST

    def get_pool_size(self) -> int:
        """``zbud_get_pool_size``: ``pages_nr``, read without the lock as the kernel does."""
        return self._pages_nr

    def inspect(self) -> PoolSnapshot:
        """Copy the whole pool state under the lock, as plain data (see :mod:`snapshot`)."""
        with self._lock:
            pages: dict[int, PageInfo] = {}
            for pfn, page in self._pages.items():
                pages[pfn] = PageInfo(
                    pfn=pfn,
                    first=self._slot_info(page, Buddy.FIRST),
                    last=self._slot_info(page, Buddy.LAST),
                    refcount=page.frame.refcount,
                )
            index: dict[int, tuple[int, Buddy]] = {
                offset: (page.frame.pfn, Buddy.FIRST if page.first_offset == offset else Buddy.LAST)
                for offset, page in self._index.items()
            }
            return PoolSnapshot(
                page_size=self._page_size,
                nchunks=self._nchunks,
                pages=pages,
                unbuddied={
                    i: [page.frame.pfn for page in reversed(lst)]
                    for i, lst in enumerate(self._unbuddied)
                    if lst
                },
                buddied=[page.frame.pfn for page in reversed(self._buddied)],
                lru=[page.frame.pfn for page in reversed(self._lru)],
                index=index,
                pages_nr=self._pages_nr,
            )

    def _slot_info(self, page: ZbudPage, slot: Buddy) -> SlotInfo | None:
        geometry = self.geometry
        if slot is Buddy.FIRST:
            if page.first_offset is None:
                return None
            return SlotInfo(
                offset=page.first_offset,
                size=page.first_size,
                chunks=geometry.size_to_chunks(page.first_size),
                start=geometry.first_start(),
                map_count=page.first_map_count,
            )
        if page.last_offset is None:
            return None
        return SlotInfo(
            offset=page.last_offset,
            size=page.last_size,
            chunks=geometry.size_to_chunks(page.last_size),
            start=geometry.last_start(page.last_size),
            map_count=page.last_map_count,
        )

    def frame_bytes(self, pfn: int) -> bytes:
        """A copy of the whole frame of pool page ``pfn`` (for tests and debugging)."""
        with self._lock:
            page = self._pages.get(pfn)
            if page is None:
                raise KeyError(f"page {pfn} is not in this pool")
            return bytes(page.frame.data)
