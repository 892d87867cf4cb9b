"""Directed scenarios: one per behaviour the suite must show, for the v3 zswap spec.

Each scenario names its purpose, the parameters it needs on top of its profile, and a
`build` that drives a :class:`~zbudspec.conformance.gen_model.Script` and checks, through
`expect`, that the interpreter did what the scenario is about (a scenario that stops doing
its job is a generation error, not a silently weaker suite). Sizes come from the model's
geometry (`Geo`), so a scenario means the same thing at any page size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zbudspec.conformance.gen_model import Model, ModelError, Script, Want
from zbudspec.semantics.types import Value

STORE = "zswap_frontswap_store"
LOAD = "zswap_frontswap_load"
INVALIDATE = "zswap_frontswap_invalidate_page"
INVALIDATE_AREA = "zswap_frontswap_invalidate_area"
MIGRATE = "zbud_migrate_page"

COMPRESS_FAIL = Want(STORE, "either", "branch 2")
ALLOC_FAIL = Want("zbud_alloc", "either", "branch 2")


def swapcache(*values: str) -> list[Want]:
    """Writeback's swap-cache outcomes, one per evict call, in order."""
    return [Want("zbud_evict", "choose outcome", v) for v in values]


@dataclass(frozen=True, slots=True)
class Geo:
    page: int
    chunk: int
    nchunks: int
    max_alloc: int

    @staticmethod
    def of(model: Model) -> Geo:
        return Geo(model.const("PAGE_SIZE"), model.const("CHUNK_SIZE"),
                   model.const("NCHUNKS"), model.const("MAX_ALLOC"))

    def size(self, chunks: int) -> int:
        """The largest size of `chunks` chunks."""
        return chunks * self.chunk

    def free_after(self, chunks: int) -> int:
        """Free chunks of a page whose only buddy has `chunks` chunks."""
        return self.nchunks - chunks - 1


def expect(got: Value, want: Value, what: str) -> None:
    if got != want:
        raise ModelError(f"{what}: expected {want!r}, the spec gives {got!r}")


def buddy_of(s: Script, offset: int) -> tuple[int, str]:
    """(page, slot) of an indexed offset, read from the state."""
    idx = s.state.globals[s.model.global_index("index")]
    assert isinstance(idx, tuple)
    b = idx[offset]
    if not isinstance(b, tuple):
        raise ModelError(f"offset {offset} is not in the index")
    page, slot = b
    assert isinstance(page, int) and isinstance(slot, str)
    return page, slot


def lru(s: Script) -> tuple[int, ...]:
    v = s.state.globals[s.model.global_index("lru")]
    assert isinstance(v, tuple)
    return tuple(x for x in v if isinstance(x, int))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str  # the case file's stem, without the profile prefix
    purpose: str
    build: Callable[[Script, Geo], None]
    profiles: tuple[str, ...] = ("kernel",)
    params: tuple[tuple[str, str], ...] = ()
    threads: int = 1


SCENARIOS: list[Scenario] = []


def scenario(name: str, purpose: str, profiles: tuple[str, ...] = ("kernel",),
             params: tuple[tuple[str, str], ...] = (), threads: int = 1
             ) -> Callable[[Callable[[Script, Geo], None]], Callable[[Script, Geo], None]]:
    def reg(fn: Callable[[Script, Geo], None]) -> Callable[[Script, Geo], None]:
        SCENARIOS.append(Scenario(name, purpose, fn, profiles, params, threads))
        return fn
    return reg


# ---- store, load, invalidate


@scenario("roundtrip", "store, load returns the tag, invalidate, load misses, invalidate "
          "again is ENOENT", profiles=("kernel", "small"))
def _roundtrip(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1), "OK", "store")
    expect(s.call(LOAD, 0), 1, "load")
    expect(s.call(INVALIDATE, 0), "OK", "invalidate")
    expect(s.call(LOAD, 0), None, "load after invalidate")
    expect(s.call(INVALIDATE, 0), "ENOENT", "second invalidate")


@scenario("size-boundaries", "1 byte, one chunk exactly, one byte more, the largest "
          "allocation and one byte more (ENOSPC), the whole page (ENOSPC)")
def _sizes(s: Script, g: Geo) -> None:
    for off, size in enumerate((1, g.chunk, g.chunk + 1, g.max_alloc)):
        expect(s.call(STORE, off, size, off % 2), "OK", f"store of {size} bytes")
    expect(s.call(STORE, 4, g.max_alloc + 1, 0), "ENOSPC", "one byte over the limit")
    expect(s.call(STORE, 4, g.page, 0), "ENOSPC", "a whole page")
    for off in range(4):
        expect(s.call(LOAD, off), off % 2, "load")


@scenario("size-too-big-small-page", "the largest allocation of the small page and one "
          "byte more", profiles=("small",))
def _sizes_small(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 1), "OK", "largest")
    expect(s.call(STORE, 1, g.max_alloc + 1, 0), "ENOSPC", "one byte over")
    expect(s.call(LOAD, 0), 1, "load")


@scenario("chunk-rounding", "a one-free-chunk page takes a one-chunk buddy (64 bytes) as LAST "
          "but not a two-chunk one (65 bytes)")
def _chunk_rounding(s: Script, g: Geo) -> None:
    big = g.size(g.nchunks - 3) + 1  # one chunk more than nchunks-3: leaves 1 chunk free
    expect(s.call(STORE, 0, big, 0), "OK", "nearly full page")
    expect(s.call(STORE, 1, g.chunk + 1, 1), "OK", "two chunks")
    expect(buddy_of(s, 1), (1, "FIRST"), "65 bytes need a new page")
    expect(s.call(STORE, 2, g.chunk, 1), "OK", "one chunk")
    expect(buddy_of(s, 2), (0, "LAST"), "64 bytes fit the one free chunk")
    for off, tag in ((0, 0), (1, 1), (2, 1)):
        expect(s.call(LOAD, off), tag, "load")


@scenario("largest-allocation-pair", "3968 bytes leave one chunk: a 64-byte buddy fills the "
          "page (header + 62 + 1 chunks), both keep their data")
def _largest_pair(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 1), "OK", "largest")
    expect(s.call(STORE, 1, g.chunk, 0), "OK", "one chunk")
    expect(buddy_of(s, 1), (0, "LAST"), "LAST of the same page")
    expect(s.call(LOAD, 0), 1, "load FIRST")
    expect(s.call(LOAD, 1), 0, "load LAST")
    expect(s.call(INVALIDATE, 0), "OK", "free FIRST")
    expect(s.call(LOAD, 1), 0, "LAST intact after FIRST is freed")


@scenario("last-right-aligned", "a page holding a small FIRST and a large LAST keeps both "
          "contents: LAST ends at the page end")
def _last_aligned(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.chunk * 2, 0), "OK", "FIRST, 2 chunks")
    expect(s.call(STORE, 1, g.size(g.free_after(2)) - 1, 1), "OK", "LAST fills the rest")
    expect(buddy_of(s, 1), (0, "LAST"), "LAST")
    expect(s.call(LOAD, 0), 0, "FIRST data")
    expect(s.call(LOAD, 1), 1, "LAST data")
    expect(s.call(INVALIDATE, 1), "OK", "free LAST")
    expect(s.call(STORE, 2, g.chunk + 1, 1), "OK", "a new LAST")
    expect(s.call(LOAD, 0), 0, "FIRST data")
    expect(s.call(LOAD, 2), 1, "new LAST data")


@scenario("compress-fails", "the compressor fails: EINVAL, nothing stored",
          profiles=("kernel", "small"))
def _compress(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1, want=[COMPRESS_FAIL]), "EINVAL", "store")
    expect(s.call(LOAD, 0), None, "load")


@scenario("alloc-page-fails", "alloc_page fails (__GFP_NORETRY) with frames free: ENOMEM",
          profiles=("kernel", "small"))
def _alloc_fail(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1, want=[ALLOC_FAIL]), "ENOMEM", "store")
    expect(s.call(LOAD, 0), None, "load")
    expect(s.call(STORE, 0, 1, 1), "OK", "store again")


@scenario("page-budget-exhausted", "every frame holds a page with no room: ENOMEM without "
          "reclaim (pool not full)", params=(("NPAGES", "2"),))
def _budget(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 0), "OK", "page 1")
    expect(s.call(STORE, 1, g.max_alloc, 1), "OK", "page 2")
    expect(s.call(STORE, 2, g.max_alloc, 0), "ENOMEM", "no frame left")
    expect(s.call(STORE, 2, g.chunk, 0), "OK", "a small one still fits")


@scenario("duplicate-fits", "a duplicate store that finds a fitting page: EEXIST, the page "
          "stays listed, the old data stays", profiles=("kernel", "small"))
def _dup_fit(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 0), "OK", "store")
    expect(s.call(STORE, 0, 1, 1), "EEXIST", "duplicate")
    expect(s.call(LOAD, 0), 0, "old data")
    expect(s.call(STORE, 1, 1, 1), "OK", "the page is still listed")
    expect(buddy_of(s, 1), (0, "LAST"), "second buddy in the same page")


@scenario("duplicate-new-page", "a duplicate store that needs a new page: EEXIST after "
          "alloc_page, the fresh frame released, pages_nr unchanged")
def _dup_new(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 0), "OK", "store")
    expect(s.call(STORE, 0, g.max_alloc, 1), "EEXIST", "duplicate")
    expect(s.call(LOAD, 0), 0, "old data")
    expect(s.call(STORE, 1, g.max_alloc, 1), "OK", "the released frame is reused")
    expect(buddy_of(s, 1), (1, "FIRST"), "frame 1")


@scenario("duplicate-no-frame", "a duplicate store that needs a new page that cannot be had: "
          "ENOMEM, not EEXIST (D3)", params=(("NPAGES", "1"),))
def _dup_nomem(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 0), "OK", "store")
    expect(s.call(STORE, 0, g.max_alloc, 1), "ENOMEM", "duplicate")
    expect(s.call(LOAD, 0), 0, "old data")


# ---- placement: best fit, LIFO, LRU


@scenario("best-fit", "zbud_alloc takes the fullest page that fits (the first non-empty "
          "unbuddied class from the size up)", params=(("NOFFSETS", "6"),))
def _best_fit(s: Script, g: Geo) -> None:
    # first buddies of 47, 40, 33 chunks: no two share a page; 16, 23, 30 chunks free
    for off, ch in enumerate((47, 40, 33)):
        expect(s.call(STORE, off, g.size(ch), off % 2), "OK", "page")
        expect(buddy_of(s, off), (off, "FIRST"), "a page each")
    expect(s.call(STORE, 3, g.size(10), 1), "OK", "10 chunks")
    expect(buddy_of(s, 3), (0, "LAST"), "best fit: 16 free chunks")
    expect(s.call(STORE, 4, g.size(20), 0), "OK", "20 chunks")
    expect(buddy_of(s, 4), (1, "LAST"), "next best: 23 free")
    expect(s.call(STORE, 5, g.size(25), 1), "OK", "25 chunks")
    expect(buddy_of(s, 5), (2, "LAST"), "then 30 free")
    for off in range(6):
        expect(s.call(LOAD, off), off % 2, "load")


@scenario("best-fit-exact-class", "a buddy of exactly the free chunks of a page goes there, "
          "one chunk more does not", params=(("NOFFSETS", "4"),))
def _best_fit_exact(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(40), 0), "OK", "page 0: 23 free")
    expect(s.call(STORE, 1, g.size(23) + 1, 1), "OK", "24 chunks")
    expect(buddy_of(s, 1), (1, "FIRST"), "24 chunks do not fit 23 free")
    expect(s.call(STORE, 2, g.size(23), 1), "OK", "23 chunks")
    expect(buddy_of(s, 2), (0, "LAST"), "23 chunks fit exactly")


@scenario("lifo-within-class", "pages with the same free chunks are taken most recently "
          "listed first, and a relisted page goes to the head", params=(("NOFFSETS", "6"),))
def _lifo(s: Script, g: Geo) -> None:
    for off in range(3):
        expect(s.call(STORE, off, g.size(32), 0), "OK", "page")
    expect(s.call(STORE, 3, g.chunk, 1), "OK", "small")
    expect(buddy_of(s, 3), (2, "LAST"), "the newest page of the class")
    expect(s.call(INVALIDATE, 3), "OK", "free it: page 2 relisted at the head")
    expect(s.call(INVALIDATE, 0), "OK", "free page 0")
    expect(s.call(STORE, 0, g.size(32), 1), "OK", "page 0 again, now the head")
    expect(buddy_of(s, 0), (0, "FIRST"), "lowest free frame")
    expect(s.call(STORE, 4, g.chunk, 1), "OK", "small")
    expect(buddy_of(s, 4), (0, "LAST"), "head of the class")
    expect(s.call(STORE, 5, g.chunk, 0), "OK", "small")
    expect(buddy_of(s, 5), (2, "LAST"), "then page 2")


@scenario("lru-refresh", "an allocation into a page moves it to the LRU head; reclaim takes "
          "the tail", params=(("POOL_LIMIT", "2"), ("NOFFSETS", "6")))
def _lru(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(47), 0), "OK", "page 0")
    expect(s.call(STORE, 1, g.size(40), 1), "OK", "page 1")
    expect(s.call(STORE, 2, g.size(10), 1), "OK", "into page 0")
    expect(lru(s), (0, 1), "page 0 at the head")
    expect(s.call(STORE, 3, g.max_alloc, 0), "OK", "page 2")
    expect(s.call(STORE, 4, g.chunk, 1), "OK", "pool full: reclaim the tail")
    expect(s.call(LOAD, 1), None, "page 1's buddy was written back")
    expect(s.call(LOAD, 0), 0, "page 0 kept")
    expect(s.call(LOAD, 2), 1, "page 0 kept")


@scenario("lru-free-keeps-order", "a free does not move the page in the LRU",
          params=(("POOL_LIMIT", "2"), ("NOFFSETS", "6")))
def _lru_free(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(20), 0), "OK", "page 0")
    expect(s.call(STORE, 1, g.size(20), 1), "OK", "into page 0")
    expect(s.call(STORE, 2, g.max_alloc, 0), "OK", "page 1")
    expect(s.call(INVALIDATE, 1), "OK", "free page 0's LAST")
    expect(lru(s), (1, 0), "order unchanged")
    expect(s.call(STORE, 3, g.max_alloc, 1), "OK", "page 2")
    expect(s.call(STORE, 4, g.chunk, 1), "OK", "reclaim: page 0 is the tail")
    expect(s.call(LOAD, 0), None, "page 0's buddy written back")
    expect(s.call(LOAD, 2), 0, "page 1 kept")


# ---- reclaim and writeback


@scenario("reclaim-writes-back", "a store into a full pool reclaims the LRU tail: writeback "
          "writes the tag to the swap device, the load then misses zswap",
          profiles=("kernel", "small"), params=(("POOL_LIMIT", "0"),))
def _reclaim_ok(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1), "OK", "store")
    expect(s.call(STORE, 1, 1, 0), "OK", "store with reclaim")
    expect(s.call(LOAD, 0), None, "written back")
    expect(s.call(LOAD, 1), 0, "new data")


@scenario("reclaim-both-buddies", "reclaim evicts FIRST then LAST of the tail page",
          params=(("POOL_LIMIT", "1"),))
def _reclaim_both(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(10), 1), "OK", "FIRST")
    expect(s.call(STORE, 1, g.size(10), 0), "OK", "LAST")
    expect(s.call(STORE, 2, g.max_alloc, 1), "OK", "page 1")
    expect(s.call(STORE, 3, g.size(10), 0, want=swapcache("NEW", "NEW")), "OK",
           "reclaim page 0")
    expect(s.call(LOAD, 0), None, "written back")
    expect(s.call(LOAD, 1), None, "written back")
    expect(s.call(LOAD, 3), 0, "new data")


@scenario("reclaim-first-fails", "evict of FIRST fails (swap cache EXIST): LAST is not tried, "
          "the next try takes the next LRU page", params=(("POOL_LIMIT", "1"),))
def _reclaim_first_fails(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(10), 1), "OK", "FIRST")
    expect(s.call(STORE, 1, g.size(10), 0), "OK", "LAST")
    expect(s.call(STORE, 2, g.max_alloc, 1), "OK", "page 1")
    expect(s.call(STORE, 3, g.size(10), 0, want=swapcache("EXIST", "NEW")), "OK",
           "reclaim: page 0 fails, page 1 goes")
    expect(s.call(LOAD, 0), 1, "kept")
    expect(s.call(LOAD, 1), 0, "kept")
    expect(s.call(LOAD, 2), None, "written back")


@scenario("reclaim-partial", "FIRST evicted, LAST fails (ENOMEM): a partially evicted page is a "
          "failed try; reclaim goes on to the next page", params=(("POOL_LIMIT", "1"),))
def _reclaim_partial(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(10), 1), "OK", "FIRST")
    expect(s.call(STORE, 1, g.size(10), 0), "OK", "LAST")
    expect(s.call(STORE, 2, g.max_alloc, 1), "OK", "page 1")
    expect(s.call(STORE, 3, g.size(10), 0, want=swapcache("NEW", "FAIL", "NEW")), "OK",
           "reclaim: page 0 half evicted, page 1 goes")
    expect(s.call(LOAD, 0), None, "written back")
    expect(s.call(LOAD, 1), 0, "kept")
    expect(s.call(LOAD, 2), None, "written back")


@scenario("reclaim-only-last", "a page whose FIRST was freed: reclaim evicts its LAST alone",
          params=(("POOL_LIMIT", "1"),))
def _reclaim_last(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.size(10), 1), "OK", "FIRST")
    expect(s.call(STORE, 1, g.size(10), 0), "OK", "LAST")
    expect(s.call(INVALIDATE, 0), "OK", "free FIRST")
    expect(s.call(STORE, 2, g.max_alloc, 1), "OK", "page 1")
    expect(s.call(STORE, 3, g.max_alloc, 0), "OK", "reclaim page 0 (LAST only)")
    expect(s.call(LOAD, 1), None, "written back")


@scenario("reclaim-retries-exhausted", "every evict fails 8 times: reclaim EAGAIN, the store "
          "ENOMEM, nothing lost", profiles=("kernel", "small"), params=(("POOL_LIMIT", "0"),))
def _reclaim_eagain(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1), "OK", "store")
    outcomes = ("EXIST", "FAIL") * 4
    expect(s.call(STORE, 1, 1, 0, want=swapcache(*outcomes)), "ENOMEM", "reclaim fails")
    expect(s.call(LOAD, 0), 1, "kept")
    expect(s.call(LOAD, 1), None, "not stored")


@scenario("reclaim-last-retry", "seven failed tries and a successful eighth: reclaim succeeds "
          "on its last retry", params=(("POOL_LIMIT", "0"),))
def _reclaim_eighth(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1), "OK", "store")
    expect(s.call(STORE, 1, 1, 0, want=swapcache(*(["EXIST"] * 7), "NEW")), "OK",
           "reclaim on the 8th try")
    expect(s.call(LOAD, 0), None, "written back")


@scenario("reclaim-rotates", "a failed try moves the page to the LRU head: with two pages the "
          "tries alternate", params=(("POOL_LIMIT", "1"),))
def _reclaim_rotate(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, g.max_alloc, 1), "OK", "page 0")
    expect(s.call(STORE, 1, g.max_alloc, 0), "OK", "page 1")
    expect(s.call(STORE, 2, 1, 0, want=swapcache("EXIST", "FAIL", "EXIST", "NEW")), "OK",
           "page 0, 1, 0 fail; page 1 goes")
    expect(s.call(LOAD, 0), 1, "kept")
    expect(s.call(LOAD, 1), None, "written back")


# ---- invalidate_area and migration


@scenario("invalidate-area", "invalidate_area frees every offset and counts them; a second "
          "one frees none", profiles=("kernel", "small"))
def _area(s: Script, g: Geo) -> None:
    n = s.model.const("NOFFSETS")
    for off in range(n):
        expect(s.call(STORE, off, 1, off % 2), "OK", "store")
    expect(s.call(INVALIDATE_AREA), n, "count")
    expect(s.call(INVALIDATE_AREA), 0, "nothing left")
    expect(s.call(LOAD, 0), None, "gone")
    expect(s.call(STORE, 0, 1, 1), "OK", "the pool is reusable")


@scenario("migrate", "migration moves a page to the lowest free frame with its buddies; a page "
          "the pool does not hold is EINVAL", profiles=("kernel", "small"))
def _migrate(s: Script, g: Geo) -> None:
    expect(s.call(MIGRATE, 0), "EINVAL", "no page yet")
    expect(s.call(STORE, 0, 1, 1), "OK", "FIRST")
    expect(s.call(STORE, 1, 1, 0), "OK", "LAST")
    expect(s.call(MIGRATE, 0), "OK", "migrate")
    expect(buddy_of(s, 0), (1, "FIRST"), "moved")
    expect(buddy_of(s, 1), (1, "LAST"), "moved")
    expect(s.call(LOAD, 0), 1, "data moved")
    expect(s.call(LOAD, 1), 0, "data moved")
    expect(s.call(MIGRATE, 0), "EINVAL", "the old frame is free")
    expect(s.call(INVALIDATE, 0), "OK", "free FIRST in the new frame")
    expect(s.call(MIGRATE, 1), "OK", "migrate a page with LAST only")
    expect(buddy_of(s, 1), (0, "LAST"), "moved back to frame 0")
    expect(s.call(STORE, 0, 1, 1), "OK", "FIRST again")
    expect(buddy_of(s, 0), (0, "FIRST"), "into the migrated page")
    expect(s.call(LOAD, 1), 0, "LAST data moved")


@scenario("migrate-no-frame", "migration with no free frame for the target: ENOMEM, nothing "
          "moves", params=(("NPAGES", "1"),), profiles=("kernel", "small"))
def _migrate_nomem(s: Script, g: Geo) -> None:
    expect(s.call(STORE, 0, 1, 1), "OK", "store")
    expect(s.call(MIGRATE, 0), "ENOMEM", "migrate")
    expect(s.call(LOAD, 0), 1, "kept")


def applicable(sc: Scenario, model: Model) -> bool:
    return all(op in model.program.procs for op in (STORE, LOAD))
