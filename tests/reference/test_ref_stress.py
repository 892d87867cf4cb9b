"""Many threads through zswap and zbud at once: no stored page is lost or corrupted.

Four threads run 100,000 operations between them (store, load, invalidate, explicit reclaim,
page migration) on two swap types with a pool limit of a few pages, so reclaim and writeback
run all the time; a pool-wide invalidate empties everything at the end. The swap layer's
serialisation (D7) is :class:`~reference.swapcache.SwapCacheModel`: each thread locks the swap
offset it stores, loads or invalidates; writeback's W1 answers EXIST for a locked offset.

The model keeps writeback's swap-cache page until W6 (``window_open=False``), as the kernel's
swap cache does. D7 as written leaves W5..W6 open, and there a load's unmap gets -EFAULT (a
BUG_ON in patch 5's load) and an invalidate + re-store is freed by the pending W6:
test_ref_zswap_writeback shows both. Threads also store only fresh offsets. Refused stores are
written to the swap device directly, as frontswap falls back to the swap device. At five
checkpoints (barriers) the spec's invariants are checked on the quiescent pools and every
thread re-reads all its pages.
"""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from ref_helpers import compressible_page, half_compressible_page, incompressible_page

from reference import (
    Errno,
    MemorySwapDevice,
    SwapCacheModel,
    Zswap,
    ZswapConfig,
    check_pool_invariants,
)

THREADS = 4
TOTAL_OPS = 100_000
CHECKPOINTS = 5
TYPES = (0, 1)
POOL_LIMIT = 3
PAGE_BUDGET = 40
MAX_LIVE_PER_THREAD = 48

TEMPLATES = (
    [compressible_page(i) for i in range(6)]
    + [half_compressible_page(i) for i in range(6)]
    + [incompressible_page(i) for i in range(2)]
)


def page_for(swap_type: int, offset: int, template: int) -> bytes:
    """A page stamped with its own swap entry, so a mix-up between offsets shows."""
    stamp = swap_type.to_bytes(2, "little") + offset.to_bytes(6, "little")
    return stamp + TEMPLATES[template][8:]


@contextmanager
def fine_grained_switching() -> Iterator[None]:
    """Switch threads far more often than the default 5 ms, for more interleavings."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


class Worker:
    """One thread's share: its own fresh offsets and the pages it expects at each."""

    def __init__(self, tid: int, zswap: Zswap, cache: SwapCacheModel, device: MemorySwapDevice):
        self.tid = tid
        self.zswap = zswap
        self.cache = cache
        self.device = device
        self.rng = random.Random(tid)
        self.expected: dict[tuple[int, int], bytes] = {}
        self.next_offset = tid
        self.steps = 0
        self.counts = dict.fromkeys(
            ["store", "load", "invalidate", "reclaim", "migrate", "migrated", "fallback"], 0
        )

    def step(self) -> None:
        self.steps += 1
        roll = self.rng.random()
        if roll < 0.36 and len(self.expected) < MAX_LIVE_PER_THREAD:
            self.store()
        elif roll < 0.66 and self.expected:
            self.load(self.rng.choice(list(self.expected)))
        elif roll < 0.88 and self.expected:
            self.invalidate(self.rng.choice(list(self.expected)))
        elif roll < 0.94:
            self.reclaim()
        else:
            self.migrate()

    def store(self) -> None:
        self.counts["store"] += 1
        key = (self.rng.choice(TYPES), self.next_offset)
        self.next_offset += THREADS
        page = page_for(*key, self.rng.randrange(len(TEMPLATES)))
        self.cache.lock_page(*key)
        try:
            ret = self.zswap.store(*key, page)
            if ret in (-Errno.ENOMEM, -Errno.ENOSPC):
                self.counts["fallback"] += 1
                self.device.write(*key, page)  # frontswap: the swap device takes the page
            else:
                assert ret == 0, f"store {key}: {ret}"
            self.expected[key] = page
        finally:
            self.cache.unlock_page(*key)

    def load(self, key: tuple[int, int]) -> None:
        self.counts["load"] += 1
        self.cache.lock_page(*key)
        try:
            result = self.zswap.load(*key)
            if isinstance(result, int):
                assert result == -Errno.ENOENT, f"load {key}: {result}"
                on_disk = self.device.read(*key)
                assert on_disk is not None, f"page {key} is neither in zswap nor on the device"
                result = on_disk
            assert result == self.expected[key], f"page {key} corrupted"
        finally:
            self.cache.unlock_page(*key)

    def invalidate(self, key: tuple[int, int]) -> None:
        self.counts["invalidate"] += 1
        self.cache.lock_page(*key)
        try:
            ret = self.zswap.invalidate_page(*key)
            assert ret in (0, -Errno.ENOENT), f"invalidate {key}: {ret}"
            if ret == -Errno.ENOENT:  # written back meanwhile: it must be on the device
                assert self.device.read(*key) == self.expected[key]
            del self.expected[key]
        finally:
            self.cache.unlock_page(*key)

    def reclaim(self) -> None:
        self.counts["reclaim"] += 1
        pool = self.zswap.pool(self.rng.choice(TYPES))
        assert pool is not None
        ret = pool.reclaim_page(self.rng.randint(1, 3))
        assert ret in (0, -Errno.EAGAIN, -Errno.EINVAL), f"reclaim: {ret}"

    def migrate(self) -> None:
        self.counts["migrate"] += 1
        pool = self.zswap.pool(self.rng.choice(TYPES))
        assert pool is not None
        pages = pool.inspect()["lru"]
        if pages and self.rng.random() < 0.8:
            pfn = self.rng.choice(pages)  # may be gone by the time migrate looks
        else:
            pfn = self.rng.randrange(PAGE_BUDGET)
        ret = pool.migrate(pfn)
        assert ret in (0, -Errno.EAGAIN, -Errno.ENOENT, -Errno.ENOMEM), f"migrate: {ret}"
        self.counts["migrated"] += ret == 0

    def verify_all(self) -> None:
        for key in list(self.expected):
            self.load(key)


def check_quiescent(zswap: Zswap, cache: SwapCacheModel) -> None:
    """Runs in one thread while all others wait at the barrier."""
    assert cache.locked() == set(), cache.locked()
    total = 0
    for swap_type in TYPES:
        pool = zswap.pool(swap_type)
        assert pool is not None
        snap = pool.inspect()
        errors = check_pool_invariants(snap, quiescent=True)
        assert not errors, "\n".join(errors)
        total += len(snap["index"])
    assert zswap.stats.snapshot()["stored_pages"] == total
    assert zswap.allocator.in_use == zswap.pool_pages()


def stats_line(zswap: Zswap, workers: list[Worker], elapsed: float) -> str:
    counts = {k: sum(w.counts[k] for w in workers) for k in workers[0].counts}
    return f"{elapsed:.1f} s, operations {counts}, zswap {zswap.stats.snapshot()}"


def test_concurrent_store_load_invalidate_reclaim_and_migrate_lose_no_page() -> None:
    cache = SwapCacheModel(window_open=False)
    device = MemorySwapDevice()
    zswap = Zswap(
        ZswapConfig(pool_limit=POOL_LIMIT, page_budget=PAGE_BUDGET),
        swap_device=device,
        swap_cache=cache,
    )
    for swap_type in TYPES:
        assert zswap.init(swap_type) == 0
    workers = [Worker(tid, zswap, cache, device) for tid in range(THREADS)]
    failures: list[str] = []

    def quiescent_check() -> None:
        try:
            check_quiescent(zswap, cache)
        except BaseException:
            failures.append(traceback.format_exc())
            raise

    barrier = threading.Barrier(THREADS, action=quiescent_check)
    per_checkpoint = TOTAL_OPS // THREADS // CHECKPOINTS

    def run(worker: Worker) -> None:
        try:
            for _ in range(CHECKPOINTS):
                for _ in range(per_checkpoint):
                    worker.step()
                barrier.wait()
                worker.verify_all()
                barrier.wait()
        except threading.BrokenBarrierError:
            pass
        except BaseException:
            failures.append(f"thread {worker.tid}:\n{traceback.format_exc()}")
            barrier.abort()

    started = time.perf_counter()
    with fine_grained_switching():
        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not failures, "\n".join(failures)

    assert sum(w.steps for w in workers) == TOTAL_OPS
    print(stats_line(zswap, workers, elapsed))
    stats = zswap.stats.snapshot()
    assert stats["pool_limit_hit"] > 1000, stats  # reclaim ran constantly
    assert stats["written_back_pages"] > 1000, stats
    assert sum(w.counts["migrated"] for w in workers) > 500
    # The pool may be emptied wholesale at the end, and nothing is leaked.
    for swap_type in TYPES:
        assert zswap.invalidate_area(swap_type) >= 0
    assert zswap.pool_pages() == 0
    assert zswap.allocator.in_use == 0
    assert zswap.stats.snapshot()["stored_pages"] == 0
    assert elapsed < 60, f"stress run took {elapsed:.1f} s"
