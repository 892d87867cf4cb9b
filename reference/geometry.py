"""zbud size arithmetic (mm/zbud.c, 3.11/3.12; unchanged by the v3 series).

The page is cut into ``NCHUNKS = 2**NCHUNKS_ORDER = 64`` chunks whatever the page size. The
header (``struct zbud_header``) owns chunk 0, so ``ZHDR_SIZE_ALIGNED == CHUNK_SIZE``. The largest
allocation is ``PAGE_SIZE - ZHDR_SIZE_ALIGNED - CHUNK_SIZE`` (3968 bytes = 62 chunks with 4 KiB
pages; the extra ``- CHUNK_SIZE`` is unexplained in the kernel source), and
``num_free_chunks = NCHUNKS - first_chunks - last_chunks - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NCHUNKS_ORDER = 6
DEFAULT_PAGE_SHIFT = 12


@dataclass(frozen=True, slots=True)
class ZbudGeometry:
    """Constants derived from ``page_shift`` exactly as the kernel macros derive them.

    ``nchunks_order`` is the kernel's fixed 6 by default; the spec makes it a parameter (a
    4-byte page of 4 one-byte chunks keeps the arithmetic at a size explicit search can
    enumerate), so the reference takes any order with at least one byte per chunk.
    """

    page_shift: int = DEFAULT_PAGE_SHIFT
    nchunks_order: int = NCHUNKS_ORDER
    page_size: int = field(init=False)
    chunk_shift: int = field(init=False)
    chunk_size: int = field(init=False)
    nchunks: int = field(init=False)
    zhdr_size_aligned: int = field(init=False)
    max_alloc_size: int = field(init=False)
    max_buddy_chunks: int = field(init=False)

    def __post_init__(self) -> None:
        order = self.nchunks_order
        minimum = NCHUNKS_ORDER + 1 if order == NCHUNKS_ORDER else max(order, 2)
        if not 2 <= order <= NCHUNKS_ORDER or self.page_shift < minimum:
            raise ValueError(f"page_shift must be >= {minimum} and nchunks_order in "
                             f"2..{NCHUNKS_ORDER}, got {self.page_shift}, {order}")
        chunk_shift = self.page_shift - order
        chunk_size = 1 << chunk_shift
        page_size = 1 << self.page_shift
        set_ = object.__setattr__
        set_(self, "page_size", page_size)
        set_(self, "chunk_shift", chunk_shift)
        set_(self, "chunk_size", chunk_size)
        set_(self, "nchunks", page_size >> chunk_shift)
        set_(self, "zhdr_size_aligned", chunk_size)
        set_(self, "max_alloc_size", page_size - chunk_size - chunk_size)
        set_(self, "max_buddy_chunks", (page_size >> chunk_shift) - 2)

    def size_to_chunks(self, size: int) -> int:
        """``size_to_chunks``: ceil(size / CHUNK_SIZE)."""
        return (size + self.chunk_size - 1) >> self.chunk_shift

    def num_free_chunks(self, first_chunks: int, last_chunks: int) -> int:
        """``num_free_chunks``: the header's chunk is never free (hence the ``- 1``)."""
        return self.nchunks - first_chunks - last_chunks - 1

    def first_start(self) -> int:
        """Byte offset of the FIRST buddy in its page: right after the header."""
        return self.zhdr_size_aligned

    def last_start(self, last_size: int) -> int:
        """Byte offset of the LAST buddy: right-aligned, ``PAGE_SIZE - chunks * CHUNK_SIZE``."""
        return self.page_size - (self.size_to_chunks(last_size) << self.chunk_shift)


DEFAULT_GEOMETRY = ZbudGeometry()
