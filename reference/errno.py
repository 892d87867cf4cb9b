"""Linux errno values returned (negated) by the reference zbud and zswap.

Convention, as in the kernel: an operation that can fail returns ``0`` on success and a
*negative* errno on failure, e.g. ``pool.free(7) == -Errno.ENOENT``. Because ``Errno`` is an
``IntEnum``, ``-Errno.ENOENT`` is the plain int ``-2`` and compares equal to it. Functions that
return data on success (``ZbudPool.map``, ``Zswap.load``) return either the data or such a
negative int; :func:`is_error` tells them apart.

The numbers are those of ``include/uapi/asm-generic/errno-base.h`` (x86, arm and most others).
"""

from __future__ import annotations

from enum import IntEnum


class Errno(IntEnum):
    """The errno values zbud (v3 design) and zswap can return."""

    ENOENT = 2  #: zbud_free/map/unmap: the offset is not in the pool's index
    EAGAIN = 11  #: reclaim_page: retries exhausted; migrate: page busy (mapped, under reclaim)
    ENOMEM = 12  #: alloc_page failed; zswap store refused because reclaim failed
    EFAULT = 14  #: zbud_unmap did the deferred free ("invalidated meanwhile")
    EEXIST = 17  #: offset already stored; writeback: page already in the swap cache
    ENODEV = 19  #: zswap: no pool for this swap type (type never initialised)
    EINVAL = 22  #: size <= 0, reclaim on an empty LRU or with retries == 0, bad page length
    ENOSPC = 28  #: size > PAGE_SIZE - ZHDR_SIZE_ALIGNED - CHUNK_SIZE ("compress poor")


def is_error(value: object) -> bool:
    """True if ``value`` is a negative errno int (the failure half of a data-or-error result)."""
    return isinstance(value, int) and value < 0


def errno_name(value: int) -> str:
    """``-2 -> "-ENOENT"``, ``0 -> "0"``: for messages and test ids."""
    if value == 0:
        return "0"
    try:
        return ("-" if value < 0 else "") + Errno(abs(value)).name
    except ValueError:
        return str(value)
