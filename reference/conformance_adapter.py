"""The reference as a conformance implementation (conformance/PROTOCOL.md, version 1).

:class:`ReferenceImplementation` has the methods of the runner's in-process interface
(``zbudspec.conformance.protocol.Implementation``) and speaks in the protocol's JSON values;
:mod:`reference.protocol_server` puts the same object behind stdin/stdout. Nothing here imports
``zbudspec``: the interface is matched by shape, errors by their ``code`` attribute.

How the reference is mapped onto the spec (docs/decisions.md D21-D24):

* a store's ``dlen`` is the zbud allocation size. :class:`TagCodec` encodes a page carrying
  ``(dlen, tag)`` into exactly ``dlen`` bytes (first byte ``0xA0 | tag``, then a pattern of the
  offset), so a misplaced or overwritten buddy fails to decode (``bug``);
* the environment is the adapter's: the codec fails on ``env.compress == "fail"``, the page
  allocator's failure hook follows ``env.alloc_page`` (only while a frame is free), the swap
  cache answers ``env.swapcache`` (default ``NEW``), and the swap device forgets an offset
  when it is invalidated (the spec's ``swap_dev[offset] = none``: the slot is freed);
* ``inspect`` maps :meth:`ZbudPool.inspect` onto the spec's variables; pages are named by pfn;
* ``spawn``/``proceed`` (feature ``schedule``) run each logical thread's operation in a real
  thread under a :class:`~reference.yieldpoints.Baton`: the pool gets its yield points on the
  first ``spawn`` after ``create`` (a pool that only runs ``op`` is never instrumented), and
  the environment queues are per logical thread.

With ``config["concurrent"] = True`` (in-process only) the swap cache is
:class:`~reference.swapcache.SwapCacheModel` and every store, load and invalidate brackets
itself with the offset's page lock, as the swap layer does (D7); ``env`` is then ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from reference.errno import Errno
from reference.geometry import ZbudGeometry
from reference.pagealloc import PageAllocator
from reference.swapcache import SwapCacheModel, SwapCacheOutcome
from reference.yieldpoints import Baton, instrument
from reference.zbud import ZbudPool
from reference.zswap import Zswap, ZswapBug, ZswapConfig

PROTOCOL_VERSION = 1
SWAP_TYPE = 0
SCHEDULE_TIMEOUT = 5.0  # seconds a logical thread may run between two yield points

Json = Any


class ProtocolError(Exception):
    """An error reply; ``code`` is the protocol's error code."""

    code = "internal"


class Unsupported(ProtocolError):
    code = "unsupported"


class BadRequest(ProtocolError):
    code = "bad_request"


class Bug(ProtocolError):
    code = "bug"


def errno_json(ret: int) -> str:
    """``0 -> "OK"``, ``-Errno.ENOENT -> "ENOENT"``."""
    return "OK" if ret == 0 else Errno(-ret).name


def page_for(dlen: int, tag: int, page_size: int) -> bytes:
    """The page a conformance store hands zswap: byte 0 is the tag, the rest the compressed
    length (little-endian; a 4-byte page has room for it)."""
    return bytes([tag]) + dlen.to_bytes(page_size - 1, "little")


def tag_of_page(page: bytes) -> int:
    return page[0]


def dlen_of_page(page: bytes) -> int:
    return int.from_bytes(page[1:], "little")


class TagCodec:
    """Encodes a conformance page into exactly ``dlen`` bytes; fails on request."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.fail_next: list[str] = []  # env.compress queue
        self.queue_of: Callable[[], list[str]] | None = None  # per-thread queues (schedule)

    @staticmethod
    def pattern(offset: int, tag: int) -> int:
        return (offset * 37 + tag * 11 + 5) & 0xFF

    def encode(self, offset: int, page: bytes) -> bytes | None:
        queue = self.fail_next if self.queue_of is None else self.queue_of()
        if queue and queue.pop(0) == "fail":
            return None
        dlen, tag = dlen_of_page(page), tag_of_page(page)
        buddy: bytes = bytes([0xA0 | tag]) + bytes([self.pattern(offset, tag)]) * (dlen - 1)
        return buddy

    def decode(self, offset: int, buddy: memoryview) -> bytes:
        data = bytes(buddy)
        if not data or data[0] & 0xF0 != 0xA0:
            raise ZswapBug(f"offset {offset}: buddy does not start with a tag byte")
        tag = data[0] & 0x0F
        if data[1:] != bytes([self.pattern(offset, tag)]) * (len(data) - 1):
            raise ZswapBug(f"offset {offset}: buddy bytes corrupted (overwritten or misplaced)")
        return page_for(len(data), tag, self.page_size)


def tag_of_buddy(data: bytes) -> int | None:
    """The tag a stored buddy holds, or None if it holds no tag byte."""
    if data and data[0] & 0xF0 == 0xA0:
        return data[0] & 0x0F
    return None


class _ScriptedCache:
    """Writeback's swap-cache lookup answers what the step's ``env.swapcache`` says."""

    def __init__(self, owner: ReferenceImplementation) -> None:
        self.owner = owner

    def get_page(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        return self.owner._swapcache_outcome(swap_type, offset)

    def unlock_page(self, swap_type: int, offset: int) -> None:
        """Nothing is locked in sequential runs."""

    def put_page(self, swap_type: int, offset: int) -> None:
        """Nothing to release."""


class _Device:
    """The swap device as the spec sees it: the tag written back per offset."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.slots: dict[int, int] = {}
        self._lock = threading.Lock()

    def write(self, swap_type: int, offset: int, data: bytes) -> None:
        with self._lock:
            self.slots[offset] = tag_of_page(data)

    def read(self, swap_type: int, offset: int) -> bytes | None:
        with self._lock:
            tag = self.slots.get(offset)
        return None if tag is None else page_for(0, tag, self.page_size)

    def forget(self, offset: int | None = None) -> None:
        with self._lock:
            if offset is None:
                self.slots.clear()
            else:
                self.slots.pop(offset, None)

    def close(self) -> None:
        """Nothing to release."""


class ReferenceImplementation:
    """The reference zbud/zswap behind the conformance interface."""

    name = "reference (v3 design, Python)"
    features = ("zswap", "zbud", "inspect", "schedule")

    def __init__(self) -> None:
        self._level = ""
        self._pool: ZbudPool | None = None
        self._zswap: Zswap | None = None
        self._codec: TagCodec | None = None
        self._device: _Device | None = None
        self._swapcache_queue: list[str] = []
        self._alloc_queue: list[str] = []
        self._allocator: PageAllocator | None = None
        self._model: SwapCacheModel | None = None
        self._page_size = 0
        self._offsets = 0
        self._busy: int | None = None  # the offset whose store/load is running (D7)
        self._baton: Baton | None = None  # schedule: the logical threads' baton
        self._envs: dict[int, dict[str, list[str]]] = {}  # schedule: env queues per thread
        self._busy_of: dict[int, int] = {}  # schedule: offset a thread's store/load works on

    # ---- the interface
    def hello(self) -> dict[str, Json]:
        return {"protocol": PROTOCOL_VERSION, "implementation": self.name,
                "features": list(self.features)}

    def create(self, level: str, config: Mapping[str, Json]) -> None:
        try:
            shift = int(config["page_shift"])
            order = int(config["nchunks_order"])
            budget = int(config["page_budget"])
            offsets = int(config["offsets"])
            limit = config.get("pool_limit")
            duplicates = str(config.get("duplicates", "refuse"))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"create: bad config: {exc!r}") from None
        if level not in ("zswap", "zbud"):
            raise Unsupported(f"level {level!r}")
        try:
            ZbudGeometry(shift, order)
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        if duplicates not in ("refuse", "accept"):
            raise Unsupported(f"duplicates {duplicates!r}")
        self.close()
        self._level = level
        self._page_size = 1 << shift
        self._offsets = offsets
        self._swapcache_queue = []
        self._alloc_queue = []
        allocator = PageAllocator(self._page_size, budget=budget, fail_hook=self._alloc_fails)
        self._allocator = allocator
        if level == "zbud":
            self._pool = ZbudPool(lambda pool, offset: -Errno.EINVAL, page_shift=shift,
                                  nchunks_order=order, allocator=allocator)
            return
        self._codec = TagCodec(self._page_size)
        self._device = _Device(self._page_size)
        concurrent = bool(config.get("concurrent", False))
        self._model = SwapCacheModel() if concurrent else None
        swap_cache = self._model if self._model is not None else _ScriptedCache(self)
        self._zswap = Zswap(
            ZswapConfig(page_shift=shift, nchunks_order=order,
                        pool_limit=None if limit is None else int(limit),
                        accept_duplicates=duplicates == "accept"),
            swap_device=self._device, swap_cache=swap_cache, allocator=allocator,
            codec=self._codec)
        self._zswap.init(SWAP_TYPE)
        self._pool = self._zswap.pool(SWAP_TYPE)

    def op(self, thread: int, op: str, args: Mapping[str, Json],
           env: Mapping[str, list[str]] | None = None) -> Json:
        if self._pool is None:
            raise BadRequest("op before create")
        if env and self._model is None:
            self._swapcache_queue = list(env.get("swapcache", ()))
            self._alloc_queue = list(env.get("alloc_page", ()))
            if self._codec is not None:
                self._codec.fail_next = list(env.get("compress", ()))
        try:
            return self._checked_op(op, args)
        finally:
            if env and self._model is None:
                self._swapcache_queue = []
                self._alloc_queue = []
                if self._codec is not None:
                    self._codec.fail_next = []

    def inspect(self) -> dict[str, Json]:
        pool = self._pool
        if pool is None:
            raise BadRequest("inspect before create")
        snap = pool.inspect()
        pages: dict[str, Json] = {}
        for pfn, info in snap["pages"].items():
            rec: dict[str, Json] = {"count": info["refcount"]}
            frame = pool.frame_bytes(pfn) if self._level == "zswap" else b""
            for name, slot in (("first", info["first"]), ("last", info["last"])):
                rec[f"{name}_offset"] = None if slot is None else slot["offset"]
                rec[f"{name}_size"] = 0 if slot is None else slot["size"]
                rec[f"{name}_map_count"] = 0 if slot is None else slot["map_count"]
                data = None
                if slot is not None and frame:
                    data = tag_of_buddy(frame[slot["start"]: slot["start"] + slot["size"]])
                rec[f"{name}_data"] = data
            pages[str(pfn)] = rec
        state: dict[str, Json] = {
            "unbuddied": {str(i): lst for i, lst in snap["unbuddied"].items()},
            "buddied": snap["buddied"],
            "lru": snap["lru"],
            "index": {str(o): {"page": pfn, "slot": str(slot)}
                      for o, (pfn, slot) in snap["index"].items()},
            "pages_nr": snap["pages_nr"],
            "pages": pages,
        }
        if self._device is not None:
            state["swap_dev"] = {str(o): t for o, t in self._device.slots.items()}
        return state

    def close(self) -> None:
        if self._baton is not None:
            self._baton.abort()
        self._baton = None
        self._envs = {}
        self._busy_of = {}
        if self._zswap is not None:
            self._zswap.close()
        self._zswap = None
        self._pool = None
        self._codec = None
        self._device = None
        self._model = None

    # ---- schedule (feature `schedule`, PROTOCOL.md)
    def spawn(self, thread: int, op: str, args: Mapping[str, Json],
              env: Mapping[str, list[str]] | None = None,
              timeout: float | None = SCHEDULE_TIMEOUT) -> dict[str, Json]:
        """Start ``op`` on logical thread ``thread``; its first yield point or its end."""
        if self._pool is None:
            raise BadRequest("spawn before create")
        if self._model is not None:
            raise Unsupported("schedule with config.concurrent (the swap-cache model)")
        baton = self._baton
        if baton is None:
            baton = self._baton = Baton()
            instrument(self._pool, baton.hook, self._zswap, SWAP_TYPE)
            if self._codec is not None:
                self._codec.queue_of = lambda: self._queue("compress")
        if thread in baton.running():
            raise BadRequest(f"spawn: thread {thread} is still running an operation")
        self._envs[thread] = {k: list(v) for k, v in (env or {}).items()}
        return self._message(baton.spawn(thread, lambda: self._checked_op(op, args), timeout))

    def proceed(self, thread: int, timeout: float | None = SCHEDULE_TIMEOUT) -> dict[str, Json]:
        """Let ``thread`` run to its next yield point or to its end."""
        baton = self._baton
        if baton is None or thread not in baton.running():
            raise BadRequest(f"proceed: thread {thread} runs no operation")
        return self._message(baton.proceed(thread, timeout))

    def _checked_op(self, op: str, args: Mapping[str, Json]) -> Json:
        """One operation; the reference's BUG and bad arguments as protocol errors."""
        try:
            return self._op(op, args)
        except ZswapBug as exc:
            raise Bug(str(exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"{op}: bad arguments {dict(args)!r}: {exc!r}") from None

    @staticmethod
    def _message(msg: tuple[str, int, Any]) -> dict[str, Json]:
        kind, thread, body = msg
        if kind == "yield":
            point, what = body
            return {"event": "yield", "thread": thread, "point": point, "what": what}
        result, error = body
        if error is not None:
            raise error
        return {"done": True, "thread": thread, "result": result}

    def _mark_busy(self, offset: int | None) -> None:
        baton = self._baton
        if baton is None or baton.current is None:
            self._busy = offset
        elif offset is None:
            self._busy_of.pop(baton.current, None)
        else:
            self._busy_of[baton.current] = offset

    # ---- the environment
    def _queue(self, control: str) -> list[str]:
        """The running thread's queue of an environment control."""
        baton = self._baton
        if baton is None or baton.current is None:
            if control == "compress":
                return self._codec.fail_next if self._codec is not None else []
            return self._alloc_queue if control == "alloc_page" else self._swapcache_queue
        return self._envs.setdefault(baton.current, {}).setdefault(control, [])

    def _alloc_fails(self) -> bool:
        allocator = self._allocator
        queue = self._queue("alloc_page")
        if not queue or allocator is None or allocator.frames_free() == 0:
            return False  # no choice to make: the budget decides
        return queue.pop(0) == "fail"

    def _swapcache_outcome(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        queue = self._queue("swapcache")
        if queue:
            return SwapCacheOutcome(queue.pop(0))
        # the first outcome the swap layer allows: a store or load in progress holds its
        # offset's page in the swap cache (D7), so writeback of that offset finds it there
        busy = offset == self._busy or offset in self._busy_of.values()
        return SwapCacheOutcome.EXIST if busy else SwapCacheOutcome.NEW

    # ---- operations
    def _op(self, op: str, args: Mapping[str, Json]) -> Json:
        pool = self._pool
        assert pool is not None
        if op == "zbud_migrate_page":
            ret = pool.migrate(int(args["page"]))
            # the reference answers -ENOENT for a frame that is no page of the pool; the spec
            # (and so the protocol) says EINVAL for "not a zbud page on the LRU" (D24)
            return "EINVAL" if ret == -Errno.ENOENT else errno_json(ret)
        if self._level == "zswap":
            return self._zswap_op(op, args)
        return self._zbud_op(pool, op, args)

    def _offset(self, args: Mapping[str, Json]) -> int:
        offset = int(args["offset"])
        if not 0 <= offset < self._offsets:
            raise ValueError(f"offset {offset} outside 0..{self._offsets - 1}")
        return offset

    def _zswap_op(self, op: str, args: Mapping[str, Json]) -> Json:
        zswap, device, model = self._zswap, self._device, self._model
        assert zswap is not None and device is not None
        if op == "zswap_frontswap_invalidate_area":
            n = zswap.invalidate_area(SWAP_TYPE)
            device.forget()
            return n
        if op not in ("zswap_frontswap_store", "zswap_frontswap_load",
                      "zswap_frontswap_invalidate_page"):
            raise Unsupported(f"operation {op!r} at level zswap")
        offset = self._offset(args)
        if model is not None:
            model.lock_page(SWAP_TYPE, offset)
        elif op != "zswap_frontswap_invalidate_page":
            self._mark_busy(offset)
        try:
            if op == "zswap_frontswap_store":
                dlen, tag = int(args["dlen"]), int(args["tag"])
                if not 1 <= dlen <= self._page_size or not 0 <= tag < 16:
                    raise ValueError("dlen or tag out of range")
                return errno_json(zswap.store(SWAP_TYPE, offset,
                                              page_for(dlen, tag, self._page_size)))
            if op == "zswap_frontswap_load":
                got = zswap.load(SWAP_TYPE, offset)
                if isinstance(got, int):
                    if got != -Errno.ENOENT:
                        raise Bug(f"load returned {errno_json(got)}")
                    return None
                return tag_of_page(got)
            ret = zswap.invalidate_page(SWAP_TYPE, offset)
            device.forget(offset)
            return errno_json(ret)
        finally:
            self._mark_busy(None)
            if model is not None:
                model.unlock_page(SWAP_TYPE, offset)

    def _zbud_op(self, pool: ZbudPool, op: str, args: Mapping[str, Json]) -> Json:
        if op == "zbud_alloc":
            return errno_json(pool.alloc(int(args["size"]), self._offset(args)))
        if op == "zbud_free":
            return errno_json(pool.free(self._offset(args)))
        if op == "zbud_free_all":
            return pool.free_all()
        if op == "zbud_map":
            offset = self._offset(args)
            got = pool.map(offset)
            if isinstance(got, int):
                return None
            where = pool.locate(offset)
            assert where is not None
            return {"page": where[0], "slot": str(where[1])}
        if op == "zbud_unmap":
            return errno_json(pool.unmap(self._offset(args)))
        if op == "zbud_reclaim_page":
            return errno_json(pool.reclaim_page(int(args["retries"])))
        if op == "zbud_get_pool_size":
            return pool.get_pool_size()
        raise Unsupported(f"operation {op!r} at level zbud")


def make() -> ReferenceImplementation:
    """The factory for ``--impl python:reference.conformance_adapter:make``."""
    return ReferenceImplementation()
