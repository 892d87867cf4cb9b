"""Stateful property tests: zbud and zswap against plain dict models.

After every rule the spec's invariants are checked on ``inspect()`` (chunk bounds, index both
ways, free lists, LRU, pages_nr, reference counts) together with data integrity. Where the
kernel's choice is deterministic the machines predict it exactly: the page and slot
``zbud_alloc`` picks, every return code, and the order of evict calls of ``zbud_reclaim_page``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from ref_helpers import compressible_page, half_compressible_page, incompressible_page

from reference import (
    Buddy,
    Errno,
    MemorySwapDevice,
    PageAllocator,
    PoolSnapshot,
    ScriptedSwapCache,
    SwapCacheOutcome,
    ZbudPool,
    Zswap,
    ZswapConfig,
    check_pool_invariants,
)

EINVAL, ENOSPC, ENOMEM = -Errno.EINVAL, -Errno.ENOSPC, -Errno.ENOMEM
EEXIST, ENOENT, EFAULT, EAGAIN = -Errno.EEXIST, -Errno.ENOENT, -Errno.EFAULT, -Errno.EAGAIN

MAX_ALLOC = 3968
BUDGET = 6
OFFSETS = st.integers(0, 11)
SIZES = st.one_of(
    st.integers(1, MAX_ALLOC),
    st.sampled_from([-1, 0, 1, 64, 65, 1984, 2048, 3904, MAX_ALLOC, MAX_ALLOC + 1]),
)

MACHINE_SETTINGS = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def chunks(size: int) -> int:
    return (size + 63) // 64


class ZbudMachine(RuleBasedStateMachine):
    """zbud alone; the model is offset -> bytes written through map."""

    def __init__(self) -> None:
        super().__init__()
        self.allocator = PageAllocator(budget=BUDGET)
        self.pool = ZbudPool(self.evict, allocator=self.allocator)
        self.contents: dict[int, bytes] = {}  # every indexed offset
        self.live: set[int] = set()  # indexed offsets not freed (others: freed while mapped)
        self.views: dict[int, list[memoryview]] = {}
        self.stale: set[int] = set()  # held views that migration left on a released frame
        self.answers: list[bool] = []
        self.evicted: list[int] = []
        self.stamp = 0

    # -- the evict callback: busy offsets fail, others follow the drawn answers
    def busy(self, offset: int) -> bool:
        return offset not in self.live or bool(self.views.get(offset))

    def evict(self, pool: ZbudPool, offset: int) -> int:
        self.evicted.append(offset)
        if self.busy(offset):
            return EEXIST
        if not (self.answers.pop(0) if self.answers else False):
            return EAGAIN
        assert pool.free(offset) == 0
        self.live.discard(offset)
        del self.contents[offset]
        return 0

    # -- rules
    @rule(offset=OFFSETS, size=SIZES)
    def alloc(self, offset: int, size: int) -> None:
        snap = self.pool.inspect()
        expected, place = self.predict_alloc(snap, offset, size)
        assert self.pool.alloc(size, offset) == expected
        if expected != 0:
            return
        pfn, slot = self.pool.inspect()["index"][offset]
        if place is None:
            assert pfn not in snap["pages"] and slot is Buddy.FIRST
        else:
            assert (pfn, slot) == place
        self.stamp += 1
        data = (self.stamp.to_bytes(4, "little") * (size // 4 + 1))[:size]
        mapped = self.pool.map(offset)
        assert not isinstance(mapped, int)
        mapped[0][:] = data
        assert self.pool.unmap(offset) == 0
        self.contents[offset] = data
        self.live.add(offset)

    def predict_alloc(
        self, snap: PoolSnapshot, offset: int, size: int
    ) -> tuple[int, tuple[int, Buddy] | None]:
        if size <= 0:
            return EINVAL, None
        if size > MAX_ALLOC:
            return ENOSPC, None
        for free in range(chunks(size), 64):
            candidates = snap["unbuddied"].get(free)
            if candidates:
                if offset in snap["index"]:
                    return EEXIST, None
                page = snap["pages"][candidates[0]]
                return 0, (candidates[0], Buddy.FIRST if page["first"] is None else Buddy.LAST)
        if self.allocator.frames_free() == 0:
            return ENOMEM, None
        if offset in snap["index"]:
            return EEXIST, None
        return 0, None

    @rule(offset=OFFSETS)
    def free(self, offset: int) -> None:
        assume(offset in self.live or offset not in self.contents)
        expected = 0 if offset in self.live else ENOENT
        assert self.pool.free(offset) == expected
        if expected == 0:
            self.live.discard(offset)
            if not self.views.get(offset):
                del self.contents[offset]

    @rule(offset=OFFSETS)
    def map(self, offset: int) -> None:
        assume(len(self.views.get(offset, [])) < 3)
        mapped = self.pool.map(offset)
        if offset not in self.contents:
            assert mapped == ENOENT
            return
        assert not isinstance(mapped, int)
        view, length = mapped
        assert length == len(self.contents[offset])
        self.views.setdefault(offset, []).append(view)

    @precondition(lambda self: any(self.views.values()))
    @rule(data=st.data())
    def unmap(self, data: st.DataObject) -> None:
        offset = data.draw(st.sampled_from(sorted(o for o, v in self.views.items() if v)))
        view = self.views[offset].pop()
        if offset not in self.stale:
            assert bytes(view) == self.contents[offset]
        last = not self.views[offset]
        if last:
            self.stale.discard(offset)
        freed = offset not in self.live and last
        assert self.pool.unmap(offset) == (EFAULT if freed else 0)
        if freed:
            del self.contents[offset]

    @rule(retries=st.integers(0, 4), answers=st.lists(st.booleans(), max_size=8))
    def reclaim(self, retries: int, answers: list[bool]) -> None:
        expected, calls = self.predict_reclaim(self.pool.inspect(), retries, list(answers))
        self.answers = list(answers)
        self.evicted = []
        assert self.pool.reclaim_page(retries) == expected
        assert self.evicted == calls

    def predict_reclaim(
        self, snap: PoolSnapshot, retries: int, answers: list[bool]
    ) -> tuple[int, list[int]]:
        if not snap["lru"] or retries <= 0:
            return EINVAL, []
        lru = list(snap["lru"])
        slots: dict[int, list[int | None]] = {}
        for pfn, page in snap["pages"].items():
            slots[pfn] = [None if s is None else s["offset"] for s in (page["first"], page["last"])]
        calls: list[int] = []
        for _ in range(retries):
            pfn = lru.pop()
            lru.insert(0, pfn)
            ok = True
            for i in (0, 1):
                offset = slots[pfn][i]
                if offset is None or not ok:
                    continue
                calls.append(offset)
                ok = not self.busy(offset) and (answers.pop(0) if answers else False)
                if ok:
                    slots[pfn][i] = None
            if slots[pfn] == [None, None]:
                return 0, calls
        return EAGAIN, calls

    @rule(pfn=st.integers(0, BUDGET + 1))
    def migrate(self, pfn: int) -> None:
        snap = self.pool.inspect()
        page = snap["pages"].get(pfn)
        if page is None:
            expected = ENOENT
        elif self.allocator.frames_free() == 0:
            expected = ENOMEM
        else:
            slots = [s for s in (page["first"], page["last"]) if s is not None]
            expected = 0 if sum(s["map_count"] for s in slots) == len(slots) else EAGAIN
        assert self.pool.migrate(pfn) == expected
        if expected == 0 and page is not None:
            for slot in (page["first"], page["last"]):
                if slot is not None and self.views.get(slot["offset"]):
                    self.stale.add(slot["offset"])

    @precondition(lambda self: not any(self.views.values()))
    @rule()
    def free_all(self) -> None:
        assert self.pool.free_all() == len(self.contents)
        self.contents.clear()
        self.live.clear()

    # -- invariants
    @invariant()
    def pool_invariants_hold(self) -> None:
        snap = self.pool.inspect()
        errors = check_pool_invariants(snap)
        assert not errors, errors
        assert set(snap["index"]) == set(self.contents)
        assert self.allocator.in_use == len(snap["pages"])

    @invariant()
    def every_indexed_offset_holds_its_data(self) -> None:
        for offset, data in self.contents.items():
            mapped = self.pool.map(offset)
            assert not isinstance(mapped, int)
            assert bytes(mapped[0]) == data
            assert self.pool.unmap(offset) == 0


class ZswapMachine(RuleBasedStateMachine):
    """zswap with two swap types, a small pool limit and page budget, scripted swap cache."""

    def __init__(self) -> None:
        super().__init__()
        self.outcome = SwapCacheOutcome.NEW
        self.device = MemorySwapDevice()
        self.zswap = Zswap(
            ZswapConfig(pool_limit=2, page_budget=8),
            swap_device=self.device,
            swap_cache=ScriptedSwapCache(lambda swap_type, offset: self.outcome),
        )
        for swap_type in (0, 1):
            assert self.zswap.init(swap_type) == 0
        self.stored: dict[tuple[int, int], bytes] = {}  # in zswap
        self.on_disk: dict[tuple[int, int], bytes] = {}  # written back

    def pool(self, swap_type: int) -> ZbudPool:
        pool = self.zswap.pool(swap_type)
        assert pool is not None
        return pool

    def reconcile(self) -> None:
        """Entries that left zswap without an invalidate were written back: check the disk."""
        for key in list(self.stored):
            if key[1] not in self.pool(key[0]).inspect()["index"]:
                assert self.device.read(*key) == self.stored[key]
                self.on_disk[key] = self.stored.pop(key)

    @rule(outcome=st.sampled_from(SwapCacheOutcome))
    def swap_cache_answers(self, outcome: SwapCacheOutcome) -> None:
        self.outcome = outcome

    @rule(
        swap_type=st.integers(0, 1),
        offset=OFFSETS,
        kind=st.sampled_from(["small", "half", "random"]),
        seed=st.integers(0, 2**16),
    )
    def store(self, swap_type: int, offset: int, kind: str, seed: int) -> None:
        page = {"small": compressible_page, "half": half_compressible_page,
                "random": incompressible_page}[kind](seed)
        before = self.zswap.stats.snapshot()
        over_limit = self.pool(swap_type).get_pool_size() > 2
        ret = self.zswap.store(swap_type, offset, page)
        after = self.zswap.stats.snapshot()
        self.reconcile()
        key = (swap_type, offset)
        assert after["pool_limit_hit"] - before["pool_limit_hit"] == int(over_limit)
        reclaim_failed = after["reject_reclaim_fail"] > before["reject_reclaim_fail"]
        if ret == 0:
            if key in self.stored:  # this store's reclaim wrote the old data back first
                assert self.device.read(*key) == self.stored[key]
            self.stored[key] = page
            self.on_disk.pop(key, None)
        elif reclaim_failed:
            assert ret == ENOMEM
        elif kind == "random":
            assert ret == ENOSPC
            assert after["reject_compress_poor"] == before["reject_compress_poor"] + 1
        elif key in self.stored:
            assert ret == EEXIST
            assert after["duplicate_entry"] == before["duplicate_entry"] + 1
        else:
            assert ret == ENOMEM
            assert after["reject_alloc_fail"] == before["reject_alloc_fail"] + 1
            assert self.zswap.allocator.frames_free() == 0

    @rule(swap_type=st.integers(0, 1), offset=OFFSETS)
    def load(self, swap_type: int, offset: int) -> None:
        key = (swap_type, offset)
        result = self.zswap.load(swap_type, offset)
        if key in self.stored:
            assert result == self.stored[key]
        else:
            assert result == ENOENT
            if key in self.on_disk:
                assert self.device.read(*key) == self.on_disk[key]

    @rule(swap_type=st.integers(0, 1), offset=OFFSETS)
    def invalidate_page(self, swap_type: int, offset: int) -> None:
        key = (swap_type, offset)
        expected = 0 if key in self.stored else ENOENT
        assert self.zswap.invalidate_page(swap_type, offset) == expected
        self.stored.pop(key, None)
        self.on_disk.pop(key, None)

    @rule(swap_type=st.integers(0, 1))
    def invalidate_area(self, swap_type: int) -> None:
        mine = [key for key in self.stored if key[0] == swap_type]
        assert self.zswap.invalidate_area(swap_type) == len(mine)
        for key in mine:
            del self.stored[key]

    @rule(swap_type=st.integers(0, 1), retries=st.integers(0, 3))
    def reclaim(self, swap_type: int, retries: int) -> None:
        ret = self.pool(swap_type).reclaim_page(retries)
        assert ret in (0, EAGAIN, EINVAL)
        self.reconcile()

    @invariant()
    def pools_are_consistent_and_counted(self) -> None:
        for swap_type in (0, 1):
            snap = self.pool(swap_type).inspect()
            errors = check_pool_invariants(snap)
            assert not errors, errors
            assert set(snap["index"]) == {o for (t, o) in self.stored if t == swap_type}
        stats = self.zswap.stats.snapshot()
        assert stats["stored_pages"] == len(self.stored)
        assert self.zswap.allocator.in_use == self.zswap.pool_pages()


TestZbudAgainstADictModel = ZbudMachine.TestCase
TestZbudAgainstADictModel.settings = MACHINE_SETTINGS
TestZswapAgainstADictModel = ZswapMachine.TestCase
TestZswapAgainstADictModel.settings = MACHINE_SETTINGS
