"""The spec's pool invariants, checked on a :class:`~reference.snapshot.PoolSnapshot`.

Domain brief section 7, items 1-3, 6-8 and B's reference accounting. Each check returns a list
of human-readable violations (empty when the snapshot is consistent), so a test can print all of
them at once.

``quiescent`` means no reclaim, migration or other transient page reference is in flight; then
a page's reference count is exactly the sum of its slots' map counts (one per live buddy plus
one per outstanding map; a slot freed while mapped keeps only the mappers'). Otherwise the
count may exceed that sum by the transient references.
"""

from __future__ import annotations

from reference.geometry import ZbudGeometry
from reference.snapshot import Buddy, PoolSnapshot, SlotInfo


def check_pool_invariants(snap: PoolSnapshot, *, quiescent: bool = True) -> list[str]:
    """All invariants; violations as messages."""
    geometry = ZbudGeometry(snap["page_size"].bit_length() - 1,
                            snap["nchunks"].bit_length() - 1)
    return [
        *check_chunk_bounds(snap, geometry),
        *check_index(snap),
        *check_lists(snap, geometry),
        *check_accounting(snap, quiescent=quiescent),
    ]


def check_chunk_bounds(snap: PoolSnapshot, geometry: ZbudGeometry) -> list[str]:
    """first + last + 1 <= NCHUNKS, each buddy 1..NCHUNKS-2 chunks, placement as the kernel's."""
    errors: list[str] = []
    for pfn, page in snap["pages"].items():
        first, last = page["first"], page["last"]
        if first is None and last is None:
            errors.append(f"page {pfn}: owned by the pool but both slots are empty")
        for name, slot in (("FIRST", first), ("LAST", last)):
            if slot is None:
                continue
            chunks = slot["chunks"]
            if chunks != geometry.size_to_chunks(slot["size"]):
                errors.append(f"page {pfn} {name}: chunks {chunks} != chunks of {slot['size']}")
            if not 1 <= chunks <= geometry.max_buddy_chunks:
                errors.append(f"page {pfn} {name}: {chunks} chunks outside 1..62")
            if slot["map_count"] < 1:
                errors.append(f"page {pfn} {name}: occupied slot with map count < 1")
        total = _chunks(first) + _chunks(last) + 1
        if total > geometry.nchunks:
            errors.append(f"page {pfn}: first + last + 1 = {total} > NCHUNKS")
        if first is not None and first["start"] != geometry.first_start():
            errors.append(f"page {pfn}: FIRST starts at {first['start']}")
        if last is not None and last["start"] != geometry.last_start(last["size"]):
            errors.append(f"page {pfn}: LAST starts at {last['start']}, not right-aligned")
    return errors


def check_index(snap: PoolSnapshot) -> list[str]:
    """index[o] names a slot holding o, and every occupied slot is indexed exactly once."""
    errors: list[str] = []
    index = snap["index"]
    pages = snap["pages"]
    for offset, (pfn, buddy) in index.items():
        page = pages.get(pfn)
        slot = None if page is None else page["first" if buddy is Buddy.FIRST else "last"]
        if slot is None or slot["offset"] != offset:
            errors.append(f"index[{offset}] = ({pfn}, {buddy}) but that slot does not hold it")
    seen = 0
    for pfn, page in pages.items():
        for buddy, slot in ((Buddy.FIRST, page["first"]), (Buddy.LAST, page["last"])):
            if slot is None:
                continue
            seen += 1
            if index.get(slot["offset"]) != (pfn, buddy):
                errors.append(f"page {pfn} {buddy} holds {slot['offset']}, not indexed there")
    if seen != len(index):
        errors.append(f"{seen} occupied slots but {len(index)} index entries")
    return errors


def check_lists(snap: PoolSnapshot, geometry: ZbudGeometry) -> list[str]:
    """One buddy <=> on unbuddied[num_free_chunks]; two <=> on buddied; LRU = owned pages."""
    errors: list[str] = []
    pages = snap["pages"]
    placed: dict[int, str] = {}
    lists = [(f"unbuddied[{i}]", pfns) for i, pfns in snap["unbuddied"].items()]
    lists.append(("buddied", snap["buddied"]))
    for name, pfns in lists:
        for pfn in pfns:
            if pfn in placed:
                errors.append(f"page {pfn} is on {placed[pfn]} and on {name}")
            placed[pfn] = name
    for pfn, page in pages.items():
        first, last = page["first"], page["last"]
        if first is not None and last is not None:
            expected = "buddied"
        else:
            free = geometry.num_free_chunks(_chunks(first), _chunks(last))
            expected = f"unbuddied[{free}]"
        if placed.get(pfn) != expected:
            errors.append(f"page {pfn} should be on {expected}, is on {placed.get(pfn)}")
    for pfn in placed:
        if pfn not in pages:
            errors.append(f"page {pfn} is listed but not owned by the pool")
    lru = snap["lru"]
    if len(set(lru)) != len(lru):
        errors.append(f"LRU has duplicates: {lru}")
    if set(lru) != set(pages):
        errors.append(f"LRU {sorted(lru)} != pages with an occupied slot {sorted(pages)}")
    return errors


def check_accounting(snap: PoolSnapshot, *, quiescent: bool = True) -> list[str]:
    """pages_nr = owned pages; refcount = sum of map counts (+ transient refs if not quiescent)."""
    errors: list[str] = []
    if snap["pages_nr"] != len(snap["pages"]):
        errors.append(f"pages_nr {snap['pages_nr']} != {len(snap['pages'])} owned pages")
    for pfn, page in snap["pages"].items():
        expected = _map_count(page["first"]) + _map_count(page["last"])
        refcount = page["refcount"]
        if (refcount != expected) if quiescent else (refcount < expected):
            errors.append(f"page {pfn}: refcount {refcount}, map counts sum to {expected}")
    return errors


def _chunks(slot: SlotInfo | None) -> int:
    return 0 if slot is None else slot["chunks"]


def _map_count(slot: SlotInfo | None) -> int:
    return 0 if slot is None else slot["map_count"]
