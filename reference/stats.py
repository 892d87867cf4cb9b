"""zswap's debugfs counters (``/sys/kernel/debug/zswap/*``).

The kernel keeps them as unlocked ``u64``s (``stored_pages`` atomic) and calls them approximate.
Here every update takes a small lock: ``+=`` on a shared int is a read-modify-write, and the
reference must not lean on the GIL for those.
"""

from __future__ import annotations

import threading
from enum import StrEnum


class Stat(StrEnum):
    """The counters kept (``reject_kmemcache_fail`` is gone with the entry cache in patch 5)."""

    STORED_PAGES = "stored_pages"
    POOL_LIMIT_HIT = "pool_limit_hit"
    WRITTEN_BACK_PAGES = "written_back_pages"
    REJECT_RECLAIM_FAIL = "reject_reclaim_fail"
    REJECT_COMPRESS_POOR = "reject_compress_poor"
    REJECT_ALLOC_FAIL = "reject_alloc_fail"
    DUPLICATE_ENTRY = "duplicate_entry"


class ZswapStats:
    """A set of named counters with atomic updates and a consistent snapshot."""

    __slots__ = ("_lock", "_values")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(Stat, 0)

    def add(self, stat: Stat, delta: int = 1) -> None:
        """Atomically add ``delta`` (may be negative) to one counter."""
        with self._lock:
            self._values[stat] += delta

    def __getitem__(self, stat: Stat) -> int:
        return self._values[stat]

    def snapshot(self) -> dict[str, int]:
        """All counters, by their debugfs file name."""
        with self._lock:
            return {str(stat): value for stat, value in self._values.items()}
