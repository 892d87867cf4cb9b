"""Plain-data shapes of ``ZbudPool.inspect()`` (typed for mypy, plain dicts at run time).

Lists are given head first, as the kernel's ``list_add`` inserts at the head: ``lru[0]`` is the
page most recently allocated into, ``lru[-1]`` the one reclaim takes next; ``unbuddied[i][0]`` is
the page ``zbud_alloc`` would pick from class ``i``. Pages are named by page frame number.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class Buddy(StrEnum):
    """Which half of a zbud page a buddy occupies (``enum buddy`` in mm/zbud.c)."""

    FIRST = "FIRST"  #: left-justified, right after the header chunk
    LAST = "LAST"  #: right-justified, ending at the page end


class SlotInfo(TypedDict):
    """One occupied slot (an offset still in the index, possibly freed while mapped)."""

    offset: int
    size: int  #: bytes (D2)
    chunks: int  #: size_to_chunks(size)
    start: int  #: byte offset of the buddy's data inside the page
    map_count: int  #: 1 from allocation + 1 per outstanding map, minus 1 if freed while mapped


class PageInfo(TypedDict):
    """A zbud page owned by the pool (at least one occupied slot)."""

    pfn: int
    first: SlotInfo | None
    last: SlotInfo | None
    refcount: int  #: page_count(): occupied-slot and map references, + reclaim/isolation refs


class PoolSnapshot(TypedDict):
    """Everything the pool lock protects, copied under the lock."""

    page_size: int
    nchunks: int
    pages: dict[int, PageInfo]
    unbuddied: dict[int, list[int]]  #: only non-empty lists; free-chunk class -> pfns
    buddied: list[int]
    lru: list[int]
    index: dict[int, tuple[int, Buddy]]  #: offset -> (pfn, slot)
    pages_nr: int
