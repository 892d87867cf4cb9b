"""zswap over zbud in the v3 design (patch 5): the frontswap backend, keyed by swap offset.

One :class:`~reference.zbud.ZbudPool` per swap type (D1), created by :meth:`Zswap.init` (the
frontswap ``init`` hook at swapon); its evict callback is :meth:`Zswap._writeback`. Patch 5
removed zswap's rbtree, entries and refcounts: the pool's index *is* the tree.

Each stored buddy is ``ZSWAP_HEADER`` followed by the zlib-compressed page. The header keeps the
exact compressed length in front of the data (Seth Jennings' request on patch 5) and the low 32
bits of the swap offset, so a load or writeback that reads the wrong buddy is caught (the
kernel's 3.11 ``zswap_header`` held the swap entry for the same reason). The zbud allocation is
``header + dlen`` bytes; with an 8-byte header the largest storable compressed size is 3960
bytes at 4 KiB pages, as in 3.11/3.12 on 64-bit.

Return values follow :mod:`reference.errno`. Where the kernel would ``BUG()`` (corrupt buddy,
decompression failure, unmap failure in load or store) this raises :class:`ZswapBug`.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Protocol

from reference.errno import Errno
from reference.pagealloc import PageAllocator
from reference.stats import Stat, ZswapStats
from reference.swapcache import AlwaysNew, SwapCache, SwapCacheOutcome
from reference.swapdev import FileSwapDevice, SwapDevice
from reference.zbud import EvictFn, ZbudPool

ZSWAP_HEADER = struct.Struct("<II")
"""(compressed length, swap offset & 0xffffffff), little-endian, in front of the data."""

_OFFSET_TAG_MASK = 0xFFFFFFFF

_EINVAL = -Errno.EINVAL
_ENOMEM = -Errno.ENOMEM
_EEXIST = -Errno.EEXIST
_ENOENT = -Errno.ENOENT
_EFAULT = -Errno.EFAULT
_ENOSPC = -Errno.ENOSPC
_ENODEV = -Errno.ENODEV


class ZswapBug(RuntimeError):
    """A state the kernel answers with ``BUG()``: corrupt data or a broken swap-layer promise."""


class WritebackStep(Enum):
    """The steps of D6, reported to ``on_writeback_step`` just before each one runs."""

    W1_SWAPCACHE = "W1"  #: swap-cache lookup (NEW / EXIST / FAIL)
    W2_MAP = "W2"  #: zbud_map(offset)
    W3_DECOMPRESS = "W3"  #: read and decompress the buddy, pool lock not held
    W4_UNMAP = "W4"  #: zbud_unmap(offset)
    W5_WRITE = "W5"  #: issue the write to the swap device
    W6_FREE = "W6"  #: zbud_free(offset)


class Codec(Protocol):
    """How zswap turns a page into a buddy's bytes and back (compression plus any header).

    ``encode`` returns the bytes to store (their length is the zbud allocation size) or
    ``None`` when compression fails (the store then returns ``-EINVAL``); ``decode`` gets the
    buddy's bytes and returns the page, raising :class:`ZswapBug` if they are corrupt.
    """

    def encode(self, offset: int, page: bytes) -> bytes | None:
        """The buddy's bytes for ``page`` stored at ``offset``, or None (compression failed)."""

    def decode(self, offset: int, buddy: memoryview) -> bytes:
        """The page stored at ``offset`` from its buddy's bytes; ZswapBug if corrupt."""


class ZlibCodec:
    """The default codec: ``ZSWAP_HEADER`` then the zlib-compressed page."""

    def __init__(self, level: int = 1) -> None:
        self.level = level

    def encode(self, offset: int, page: bytes) -> bytes | None:
        """Header (compressed length, offset tag) + ``zlib.compress(page, level)``."""
        compressed = zlib.compress(page, self.level)
        return ZSWAP_HEADER.pack(len(compressed), offset & _OFFSET_TAG_MASK) + compressed

    def decode(self, offset: int, buddy: memoryview) -> bytes:
        """Check the header against the buddy's length and offset, then decompress."""
        header = ZSWAP_HEADER.size
        length = len(buddy)
        if length < header:
            raise ZswapBug(f"offset {offset}: buddy of {length} bytes has no header")
        dlen, tag = ZSWAP_HEADER.unpack_from(buddy, 0)
        if header + dlen != length or tag != offset & _OFFSET_TAG_MASK:
            raise ZswapBug(
                f"offset {offset}: buddy header says length {dlen}, offset tag {tag}; "
                f"expected length {length - header}, tag {offset & _OFFSET_TAG_MASK}"
            )
        try:
            return zlib.decompress(buddy[header:length])
        except zlib.error as exc:
            raise ZswapBug(f"offset {offset}: decompression failed: {exc}") from exc


StepHook = Callable[[WritebackStep, int, int], None]
"""``hook(step, swap_type, offset)``: observe or perturb writeback between its steps."""


@dataclass(frozen=True, slots=True)
class ZswapConfig:
    """zswap's parameters, resolved once.

    ``pool_limit`` is D10's ``POOL_LIMIT`` in pages, compared with the storing pool's
    ``pages_nr`` (the kernel derives it from ``max_pool_percent``); ``None`` disables it.
    ``page_budget`` bounds the frames all pools may hold (the page allocator's memory).
    ``accept_duplicates`` is the patch's TODO 1: a store to a stored offset replaces the old
    data as 3.11 zswap did, instead of failing with ``-EEXIST``. With one index entry per
    offset the old buddy must go first (``zbud_free``, then the allocation is retried once),
    so unlike 3.11 a replacement whose allocation then fails has lost the old data too, and
    an old buddy that is mapped (free deferred) still makes the store ``-EEXIST``.
    """

    page_shift: int = 12
    nchunks_order: int = 6
    pool_limit: int | None = None
    page_budget: int | None = None
    accept_duplicates: bool = False
    compress_level: int = 1
    reclaim_retries: int = 8


class Zswap:
    """The zswap frontswap backend: ``store``, ``load``, ``invalidate_page``,
    ``invalidate_area`` and the writeback evict callback.

    Collaborators are injected: ``swap_device`` (default: file-backed, in a temporary
    directory, closed by :meth:`close`), ``swap_cache`` (W1's outcome; default
    :class:`~reference.swapcache.AlwaysNew`), ``allocator`` (default: one with
    ``config.page_budget``), ``on_writeback_step`` (tests), ``codec`` (default
    :class:`ZlibCodec` at ``config.compress_level``; the conformance adapter pins the
    compressed length and the compressor's failures with its own).
    """

    def __init__(
        self,
        config: ZswapConfig | None = None,
        *,
        swap_device: SwapDevice | None = None,
        swap_cache: SwapCache | None = None,
        allocator: PageAllocator | None = None,
        on_writeback_step: StepHook | None = None,
        codec: Codec | None = None,
    ) -> None:
        self.config = config = config if config is not None else ZswapConfig()
        self.codec: Codec = codec if codec is not None else ZlibCodec(config.compress_level)
        self.page_size = 1 << config.page_shift
        self.allocator = (
            allocator
            if allocator is not None
            else PageAllocator(self.page_size, budget=config.page_budget)
        )
        self._owns_device = swap_device is None
        self.swap_device: SwapDevice = (
            swap_device if swap_device is not None else FileSwapDevice(self.page_size)
        )
        self.swap_cache: SwapCache = swap_cache if swap_cache is not None else AlwaysNew()
        self.on_writeback_step = on_writeback_step
        self.stats = ZswapStats()
        self._pools: dict[int, ZbudPool] = {}
        self._pools_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def init(self, swap_type: int) -> int:
        """``zswap_frontswap_init(type)`` at swapon: create the type's pool (``-EEXIST`` twice)."""
        with self._pools_lock:
            if swap_type in self._pools:
                return _EEXIST
            self._pools[swap_type] = ZbudPool(
                self._evict_for(swap_type),
                page_shift=self.config.page_shift,
                nchunks_order=self.config.nchunks_order,
                allocator=self.allocator,
            )
            return 0

    def _evict_for(self, swap_type: int) -> EvictFn:
        def evict(pool: ZbudPool, offset: int) -> int:
            return self._writeback(swap_type, pool, offset)

        return evict

    def pool(self, swap_type: int) -> ZbudPool | None:
        """The zbud pool of ``swap_type`` (``zbud_pools[type]``), if initialised."""
        return self._pools.get(swap_type)

    def pool_pages(self) -> int:
        """The debugfs ``pool_pages``: zbud pages over all pools (unlocked reads)."""
        return sum(pool.get_pool_size() for pool in list(self._pools.values()))

    def close(self) -> None:
        """Close the swap device if zswap created it."""
        if self._owns_device:
            self.swap_device.close()

    def __enter__(self) -> Zswap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ frontswap ops

    def store(self, swap_type: int, offset: int, page: bytes) -> int:
        """``zswap_frontswap_store``: 0, or a negative errno with the page not stored.

        ``-ENODEV`` without a pool, ``-EINVAL`` for a page of the wrong length or when the
        codec's compression fails (the kernel's compression failure, after the reclaim).
        D10: if ``pages_nr > pool_limit``, count ``pool_limit_hit`` and call
        ``zbud_reclaim_page(pool, 8)`` once; failure -> ``reject_reclaim_fail``,
        ``-ENOMEM``, no re-check of fullness. Then compress and ``zbud_alloc(header + dlen,
        offset)``: ``-ENOSPC`` -> ``reject_compress_poor``, ``-EEXIST`` -> ``duplicate_entry``
        (refused, old data kept; with ``accept_duplicates`` the old buddy is freed and the
        allocation retried once), other errors -> ``reject_alloc_fail``. Finally map, write
        header and data, unmap, ``stored_pages += 1``.
        """
        pool = self._pools.get(swap_type)
        if pool is None:
            return _ENODEV
        if len(page) != self.page_size:
            return _EINVAL
        config = self.config
        limit = config.pool_limit
        if limit is not None and pool.get_pool_size() > limit:
            self.stats.add(Stat.POOL_LIMIT_HIT)
            if pool.reclaim_page(config.reclaim_retries) != 0:
                self.stats.add(Stat.REJECT_RECLAIM_FAIL)
                return _ENOMEM
        buddy = self.codec.encode(offset, page)
        if buddy is None:
            return _EINVAL  # the compressor failed
        size = len(buddy)
        ret = pool.alloc(size, offset)
        if ret == _EEXIST:
            self.stats.add(Stat.DUPLICATE_ENTRY)
            if config.accept_duplicates:
                self._forget(pool, offset)
                ret = pool.alloc(size, offset)
        if ret != 0:
            if ret == _ENOSPC:
                self.stats.add(Stat.REJECT_COMPRESS_POOR)
            elif ret != _EEXIST:
                self.stats.add(Stat.REJECT_ALLOC_FAIL)
            return ret
        mapped = pool.map(offset)
        if isinstance(mapped, int):
            raise ZswapBug(f"store: offset {offset} vanished between alloc and map")
        view, _ = mapped
        view[:] = buddy
        del view
        if pool.unmap(offset) != 0:
            raise ZswapBug(f"store: offset {offset} was invalidated while being stored")
        self.stats.add(Stat.STORED_PAGES)
        return 0

    def load(self, swap_type: int, offset: int) -> bytes | int:
        """``zswap_frontswap_load``: the page, or ``-ENODEV`` / ``-ENOENT``.

        Map, decompress (pool lock not held), unmap. Loads are not exclusive: the offset stays
        stored. A corrupt buddy or a failing unmap is the kernel's ``BUG_ON``: ZswapBug.
        """
        pool = self._pools.get(swap_type)
        if pool is None:
            return _ENODEV
        mapped = pool.map(offset)
        if isinstance(mapped, int):
            return mapped
        view, length = mapped
        try:
            data = self._decompress(view, length, offset)
        finally:
            del view
            unmapped = pool.unmap(offset)
        if unmapped != 0:
            raise ZswapBug(f"load: unmap of offset {offset} returned {unmapped}")
        return data

    def invalidate_page(self, swap_type: int, offset: int) -> int:
        """``zswap_frontswap_invalidate_page`` = ``zbud_free``; ``stored_pages -= 1`` on 0."""
        pool = self._pools.get(swap_type)
        if pool is None:
            return _ENODEV
        return self._forget(pool, offset)

    def invalidate_area(self, swap_type: int) -> int:
        """``zswap_frontswap_invalidate_area`` = ``zbud_free_all``; the pool is kept.

        Returns the number of offsets freed (or ``-ENODEV``).
        """
        pool = self._pools.get(swap_type)
        if pool is None:
            return _ENODEV
        count = pool.free_all()
        self.stats.add(Stat.STORED_PAGES, -count)
        return count

    def _forget(self, pool: ZbudPool, offset: int) -> int:
        ret = pool.free(offset)
        if ret == 0:
            self.stats.add(Stat.STORED_PAGES, -1)
        return ret

    # ------------------------------------------------------------------ writeback

    def _writeback(self, swap_type: int, pool: ZbudPool, offset: int) -> int:
        """``zswap_writeback_entry``, the evict callback, in D6's order (pool lock not held).

        W1 swap-cache lookup: EXIST -> ``-EEXIST``, FAIL -> ``-ENOMEM``, zbud untouched.
        W2 map: ``-ENOENT`` -> 0 ("already gone"). W3 decompress. W4 unmap: ``-EFAULT`` -> 0
        without writing (our unmap did the deferred free of an offset invalidated meanwhile).
        W5 write to the swap device (``written_back_pages += 1``), then unlock the swap-cache
        page (the page is under I/O: D7 leaves W5..W6 unprotected). W6 ``zbud_free(offset)``,
        whose result is returned (``stored_pages -= 1`` when it is 0). Every exit after ``NEW``
        unlocks the page and finally puts it (see :mod:`reference.swapcache`).
        """
        hook = self.on_writeback_step
        if hook is not None:
            hook(WritebackStep.W1_SWAPCACHE, swap_type, offset)
        outcome = self.swap_cache.get_page(swap_type, offset)
        if outcome is SwapCacheOutcome.EXIST:
            return _EEXIST
        if outcome is SwapCacheOutcome.FAIL:
            return _ENOMEM
        try:
            try:
                written = self._write_out(swap_type, pool, offset)
            finally:
                self.swap_cache.unlock_page(swap_type, offset)
            if not written:
                return 0
            if hook is not None:
                hook(WritebackStep.W6_FREE, swap_type, offset)
            return self._forget(pool, offset)
        finally:
            self.swap_cache.put_page(swap_type, offset)

    def _write_out(self, swap_type: int, pool: ZbudPool, offset: int) -> bool:
        """W2..W5; False if the offset turned out to be gone (nothing written)."""
        hook = self.on_writeback_step
        if hook is not None:
            hook(WritebackStep.W2_MAP, swap_type, offset)
        mapped = pool.map(offset)
        if isinstance(mapped, int):
            return False
        view, length = mapped
        if hook is not None:
            hook(WritebackStep.W3_DECOMPRESS, swap_type, offset)
        try:
            data = self._decompress(view, length, offset)
        except ZswapBug:
            pool.unmap(offset)
            raise
        finally:
            del view
        if hook is not None:
            hook(WritebackStep.W4_UNMAP, swap_type, offset)
        if pool.unmap(offset) == _EFAULT:
            return False
        if hook is not None:
            hook(WritebackStep.W5_WRITE, swap_type, offset)
        self.swap_device.write(swap_type, offset, data)
        self.stats.add(Stat.WRITTEN_BACK_PAGES)
        return True

    def _decompress(self, view: memoryview, length: int, offset: int) -> bytes:
        data = self.codec.decode(offset, view[:length])
        if len(data) != self.page_size:
            raise ZswapBug(f"offset {offset}: decompressed to {len(data)} bytes")
        return data
