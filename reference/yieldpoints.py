"""Yield points and a baton: runner-chosen interleavings of the reference (PROTOCOL.md).

A concurrent counterexample of the spec is a sequence of steps of several threads. To replay
it on the reference, each logical thread runs in a real Python thread, and a :class:`Baton`
lets exactly one of them run at a time: a thread reports each *yield point* it reaches and
stops there until the driver (the conformance runner) lets it proceed.

Yield points (``point``, ``what``):

* ``lock_acquire`` / ``lock_release`` (``"pool_lock"``): before taking the pool lock, after
  dropping it;
* ``alloc_page`` (the frame number, or None): after the page allocator answered;
* ``evict_before`` / ``evict_after`` (the offset): around reclaim's call of the evict callback;
* ``call`` (``"zbud_alloc"``, ``"zbud_map"``, ``"zbud_unmap"``, ``"zbud_free"``,
  ``"zbud_reclaim_page"``, ``"zbud_free_all"``): before zswap calls into zbud.

Nothing here changes the reference's code: :func:`instrument` swaps wrappers into one pool
(its lock, its page allocator, its evict callback) and puts a calling proxy in front of the
pool for zswap. A pool that is never instrumented runs exactly the code it always did, so the
points cost nothing when no scheduler is installed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from reference.pagealloc import PageFrame
from reference.zbud import ZbudPool
from reference.zswap import Zswap

Hook = Callable[[str, Any], None]
"""``hook(point, what)``, called by the thread that reached the point."""

CALLS = ("alloc", "map", "unmap", "free", "reclaim_page", "free_all")


class YieldLock:
    """The pool lock, reporting ``lock_acquire`` before taking it and ``lock_release`` after
    dropping it."""

    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner = inner
        self.hook = hook

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self.hook("lock_acquire", "pool_lock")
        return bool(self.inner.acquire(blocking, timeout))

    def release(self) -> None:
        self.inner.release()
        self.hook("lock_release", "pool_lock")

    def __enter__(self) -> YieldLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class YieldAllocator:
    """The page allocator, reporting ``alloc_page`` after each allocation."""

    def __init__(self, inner: Any, hook: Hook) -> None:
        self.inner = inner
        self.hook = hook

    def alloc_page(self) -> PageFrame | None:
        frame: PageFrame | None = self.inner.alloc_page()
        self.hook("alloc_page", None if frame is None else frame.pfn)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CallingPool:
    """The pool as zswap sees it: each zbud call is reported (``call``) before it runs."""

    def __init__(self, pool: ZbudPool, hook: Hook) -> None:
        self.pool = pool
        self.hook = hook
        for name in CALLS:
            setattr(self, name, self._calling(name))

    def _calling(self, name: str) -> Callable[..., Any]:
        method = getattr(self.pool, name)
        what = f"zbud_{name}"
        hook = self.hook

        def call(*args: Any) -> Any:
            hook("call", what)
            return method(*args)

        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


def instrument(pool: ZbudPool, hook: Hook, zswap: Zswap | None = None,
               swap_type: int = 0) -> None:
    """Install the yield points in ``pool`` (and in front of it for ``zswap``)."""
    pool._lock = YieldLock(pool._lock, hook)  # type: ignore[assignment]
    pool._allocator = YieldAllocator(pool._allocator, hook)  # type: ignore[assignment]
    caller: Any = pool
    if zswap is not None:
        caller = CallingPool(pool, hook)
        zswap._pools[swap_type] = caller
    evict = pool._evict
    if evict is not None:
        inner = evict

        def evict_with_points(_pool: ZbudPool, offset: int) -> int:
            hook("evict_before", offset)
            try:
                return inner(caller, offset)
            finally:
                hook("evict_after", offset)

        pool._evict = evict_with_points


class ScheduleTimeout(TimeoutError):
    """A thread neither reached a yield point nor finished in time."""

    code = "internal"


class _Worker:
    def __init__(self, logical: int) -> None:
        self.logical = logical
        self.gate = threading.Semaphore(0)
        self.thread: threading.Thread | None = None


Message = tuple[str, int, Any]
"""``("yield", thread, (point, what))`` or ``("done", thread, (result, exception))``."""


class Baton:
    """One logical thread runs at a time, between yield points, when the driver says so."""

    def __init__(self) -> None:
        self._out: queue.Queue[Message] = queue.Queue()
        self._workers: dict[int, _Worker] = {}
        self._by_ident: dict[int, _Worker] = {}
        self._aborted = False
        self.current: int | None = None  # the logical thread running now

    def hook(self, point: str, what: Any) -> None:
        """Called at a yield point: report it and wait for the baton (driver threads and
        threads of an aborted baton pass straight through)."""
        worker = self._by_ident.get(threading.get_ident())
        if worker is None or self._aborted:
            return
        self._out.put(("yield", worker.logical, (point, what)))
        worker.gate.acquire()

    def spawn(self, logical: int, fn: Callable[[], Any], timeout: float | None) -> Message:
        """Start ``fn`` on logical thread ``logical``; its first message."""
        if logical in self._workers:
            raise RuntimeError(f"thread {logical} is still running an operation")
        worker = _Worker(logical)

        def run() -> None:
            self._by_ident[threading.get_ident()] = worker
            worker.gate.acquire()
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn()
            except BaseException as exc:  # reported to the driver, never lost
                error = exc
            finally:
                self._by_ident.pop(threading.get_ident(), None)
            self._out.put(("done", logical, (result, error)))

        worker.thread = threading.Thread(target=run, name=f"logical-{logical}", daemon=True)
        self._workers[logical] = worker
        worker.thread.start()
        return self.proceed(logical, timeout)

    def proceed(self, logical: int, timeout: float | None) -> Message:
        """Let ``logical`` run to its next yield point or to its end; that message."""
        worker = self._workers.get(logical)
        if worker is None:
            raise RuntimeError(f"thread {logical} runs no operation")
        self.current = logical
        worker.gate.release()
        try:
            msg = self._out.get(timeout=timeout)
        except queue.Empty:
            raise ScheduleTimeout(f"thread {logical} reached no yield point and did not "
                                  f"finish within {timeout:g} s") from None
        finally:
            self.current = None
        if msg[1] != logical:
            raise RuntimeError(f"thread {msg[1]} ran while thread {logical} had the baton")
        if msg[0] == "done":
            del self._workers[logical]
        return msg

    def running(self) -> list[int]:
        return sorted(self._workers)

    def abort(self) -> None:
        """Let every stopped thread run on without stopping (their results are dropped)."""
        self._aborted = True
        for worker in self._workers.values():
            worker.gate.release()
        self._workers.clear()
