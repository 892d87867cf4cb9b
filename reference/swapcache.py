"""The swap cache as writeback sees it (D6 step W1, D7 the environment).

``zswap_get_swap_cache_page`` has three outcomes: ``NEW`` (a fresh locked page was added to the
swap cache: writeback may proceed), ``EXIST`` (the offset already has a swap-cache page, i.e. a
store or load of it is in progress: writeback fails with ``-EEXIST``) and ``FAIL`` (no memory, or
the slot is no longer in use: ``-ENOMEM``). Which one happens depends on the rest of the kernel,
so it is injected: :class:`AlwaysNew` is the default, :class:`SwapCacheModel` enforces D7 for
multi-threaded users.

Writeback tells the swap cache two things after ``NEW``: :meth:`SwapCache.unlock_page` once the
write is issued (W5; the page is unlocked under I/O) or writeback gave up early, and
:meth:`SwapCache.put_page` when writeback is completely done with the offset (after W6). D7
models the offset as unprotected from the unlock on; the kernel's swap cache actually keeps
the page (and so keeps invalidate and load away) until the I/O completes, which is after W6.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from typing import Protocol


class SwapCacheOutcome(Enum):
    """``ZSWAP_SWAPCACHE_NEW`` / ``_EXIST`` / ``_FAIL`` (``_NOMEM`` before 3.13)."""

    NEW = "NEW"
    EXIST = "EXIST"
    FAIL = "FAIL"


class SwapCache(Protocol):
    """What zswap writeback asks of the swap cache."""

    def get_page(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        """W1: try to add a locked page for the offset to the swap cache."""

    def unlock_page(self, swap_type: int, offset: int) -> None:
        """After ``NEW``: the write was issued (W5) or writeback gave up; unlock the page."""

    def put_page(self, swap_type: int, offset: int) -> None:
        """After ``NEW``: writeback is done with the offset (after W6, or after giving up)."""


class AlwaysNew:
    """The default chooser: every lookup is ``NEW``, nothing is locked.

    Right for single-threaded use, where nothing else can hold the offset's page.
    """

    def get_page(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        """Always ``NEW``."""
        return SwapCacheOutcome.NEW

    def unlock_page(self, swap_type: int, offset: int) -> None:
        """Nothing to unlock."""

    def put_page(self, swap_type: int, offset: int) -> None:
        """Nothing to release."""


class ScriptedSwapCache:
    """Outcomes from a function of (type, offset), for tests of each writeback branch."""

    def __init__(self, choose: Callable[[int, int], SwapCacheOutcome]) -> None:
        self._choose = choose
        self.unlocked: list[tuple[int, int]] = []
        self.released: list[tuple[int, int]] = []

    def get_page(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        """Whatever ``choose`` says."""
        return self._choose(swap_type, offset)

    def unlock_page(self, swap_type: int, offset: int) -> None:
        """Record the unlock."""
        self.unlocked.append((swap_type, offset))

    def put_page(self, swap_type: int, offset: int) -> None:
        """Record the release."""
        self.released.append((swap_type, offset))


class SwapCacheModel:
    """D7 as a lock per swap offset: the swap layer's serialisation, for concurrent callers.

    The frontswap side (whoever calls store, load or invalidate) brackets each call with
    :meth:`lock_page` / :meth:`unlock_page`, waiting while writeback holds the offset, which is
    how store, load and invalidate of one offset never overlap and never run between W1 and
    W5. Writeback's :meth:`get_page` never waits: it answers ``EXIST`` while the offset's page
    is locked, else locks it and answers ``NEW``. ``fail_hook`` may turn a would-be ``NEW``
    into ``FAIL``.

    ``window_open`` (default, D7 as written) frees the offset for the frontswap side when
    writeback unlocks the page after W5; with ``False`` it stays held until writeback's
    :meth:`put_page` after W6, as the kernel's swap cache holds the page until the write is
    done. With the window open a load or invalidate+store of the offset may run between W5 and
    W6 (see tests/reference/test_ref_zswap_writeback.py for what that does).
    """

    def __init__(
        self,
        fail_hook: Callable[[int, int], bool] | None = None,
        *,
        window_open: bool = True,
    ) -> None:
        self._held: dict[tuple[int, int], bool] = {}  # key -> held by writeback
        self._cond = threading.Condition(threading.Lock())
        self._fail_hook = fail_hook
        self.window_open = window_open

    def lock_page(self, swap_type: int, offset: int) -> None:
        """Frontswap side: wait until the offset has no locked page, then lock it."""
        key = (swap_type, offset)
        with self._cond:
            while key in self._held:
                self._cond.wait()
            self._held[key] = False

    def unlock_page(self, swap_type: int, offset: int) -> None:
        """Unlock the offset's page and wake waiters (writeback's unlock waits for
        :meth:`put_page` when the window is closed)."""
        key = (swap_type, offset)
        with self._cond:
            if self._held.get(key) and not self.window_open:
                return
            self._release(key)

    def put_page(self, swap_type: int, offset: int) -> None:
        """Writeback is done with the offset: release it if still held."""
        key = (swap_type, offset)
        with self._cond:
            if self._held.get(key):
                self._release(key)

    def _release(self, key: tuple[int, int]) -> None:
        self._held.pop(key, None)
        self._cond.notify_all()

    def get_page(self, swap_type: int, offset: int) -> SwapCacheOutcome:
        """Writeback side (W1): ``EXIST`` if locked, else ``FAIL`` (hook) or lock and ``NEW``."""
        key = (swap_type, offset)
        with self._cond:
            if key in self._held:
                return SwapCacheOutcome.EXIST
            if self._fail_hook is not None and self._fail_hook(swap_type, offset):
                return SwapCacheOutcome.FAIL
            self._held[key] = True
            return SwapCacheOutcome.NEW

    def locked(self) -> set[tuple[int, int]]:
        """The offsets whose page is locked right now."""
        with self._cond:
            return set(self._held)
