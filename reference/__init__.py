"""Reference implementation of zbud under zswap, v3 "mm: migrate zbud pages" design.

Modules: :mod:`~reference.errno` (return convention), :mod:`~reference.geometry` (chunk
arithmetic), :mod:`~reference.pagealloc` (frames, refcounts, budget), :mod:`~reference.zbud`
(the allocator), :mod:`~reference.snapshot` and :mod:`~reference.invariants` (state as data and
the spec's invariants over it), :mod:`~reference.swapdev` and :mod:`~reference.swapcache` (the
environment writeback talks to), :mod:`~reference.stats` and :mod:`~reference.zswap` (the
frontswap backend). Nothing here imports ``zbudspec``.
"""

from reference.errno import Errno, errno_name, is_error
from reference.geometry import DEFAULT_GEOMETRY, ZbudGeometry
from reference.invariants import check_pool_invariants
from reference.pagealloc import PageAllocator, PageFrame
from reference.snapshot import Buddy, PageInfo, PoolSnapshot, SlotInfo
from reference.stats import Stat, ZswapStats
from reference.swapcache import (
    AlwaysNew,
    ScriptedSwapCache,
    SwapCache,
    SwapCacheModel,
    SwapCacheOutcome,
)
from reference.swapdev import FileSwapDevice, MemorySwapDevice, SwapDevice
from reference.zbud import EvictFn, ZbudPage, ZbudPool
from reference.zswap import (
    ZSWAP_HEADER,
    Codec,
    WritebackStep,
    ZlibCodec,
    Zswap,
    ZswapBug,
    ZswapConfig,
)

__all__ = [
    "DEFAULT_GEOMETRY",
    "ZSWAP_HEADER",
    "AlwaysNew",
    "Buddy",
    "Codec",
    "Errno",
    "EvictFn",
    "FileSwapDevice",
    "MemorySwapDevice",
    "PageAllocator",
    "PageFrame",
    "PageInfo",
    "PoolSnapshot",
    "ScriptedSwapCache",
    "SlotInfo",
    "Stat",
    "SwapCache",
    "SwapCacheModel",
    "SwapCacheOutcome",
    "SwapDevice",
    "WritebackStep",
    "ZbudGeometry",
    "ZbudPage",
    "ZbudPool",
    "ZlibCodec",
    "Zswap",
    "ZswapBug",
    "ZswapConfig",
    "ZswapStats",
    "check_pool_invariants",
    "errno_name",
    "is_error",
]
