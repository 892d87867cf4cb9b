"""Swap devices that zswap writeback writes to (``__swap_writepage`` stand-ins).

Both keep one page-sized slot per (swap type, offset). ``read`` returns ``None`` for a slot never
written, so tests can tell "written back" from "never reached the device". Writes are
synchronous here (the kernel only issues them, WB_SYNC_NONE); D6 only needs the write to be
issued at W5 with the data read at W3.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Protocol


class SwapDevice(Protocol):
    """What zswap needs from the swap layer's block device."""

    def write(self, swap_type: int, offset: int, data: bytes) -> None:
        """Write one page into slot ``offset`` of swap area ``swap_type``."""

    def read(self, swap_type: int, offset: int) -> bytes | None:
        """The page last written to the slot, or ``None`` if it was never written."""

    def close(self) -> None:
        """Release the device's resources."""


class MemorySwapDevice:
    """A swap device in a dict: fast, for tests and benchmarks."""

    def __init__(self, page_size: int = 4096) -> None:
        self.page_size = page_size
        self._slots: dict[tuple[int, int], bytes] = {}
        self._lock = threading.Lock()

    def write(self, swap_type: int, offset: int, data: bytes) -> None:
        """Store a copy of ``data`` (exactly one page)."""
        _check_page(data, self.page_size)
        with self._lock:
            self._slots[swap_type, offset] = bytes(data)

    def read(self, swap_type: int, offset: int) -> bytes | None:
        """The slot's page or ``None``."""
        with self._lock:
            return self._slots.get((swap_type, offset))

    def written(self, swap_type: int) -> set[int]:
        """Offsets of ``swap_type`` that hold a written page."""
        with self._lock:
            return {offset for (t, offset) in self._slots if t == swap_type}

    def close(self) -> None:
        """Drop every slot."""
        with self._lock:
            self._slots.clear()


class FileSwapDevice:
    """One sparse file per swap type, slot ``offset`` at byte ``offset * page_size``.

    By default the files live in a fresh temporary directory removed by :meth:`close`. The
    positional ``os.pwrite``/``os.pread`` calls need no shared file position, so concurrent
    writebacks do not interfere.
    """

    def __init__(self, page_size: int = 4096, directory: str | None = None) -> None:
        self.page_size = page_size
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="zbud-swap-")
            directory = self._tempdir.name
        self.directory = directory
        self._fds: dict[int, int] = {}
        self._written: dict[int, set[int]] = {}
        self._lock = threading.Lock()

    def path(self, swap_type: int) -> str:
        """The file backing swap area ``swap_type``."""
        return os.path.join(self.directory, f"swap{swap_type}")

    def _fd(self, swap_type: int) -> int:
        with self._lock:
            fd = self._fds.get(swap_type)
            if fd is None:
                fd = os.open(self.path(swap_type), os.O_RDWR | os.O_CREAT, 0o600)
                self._fds[swap_type] = fd
                self._written[swap_type] = set()
            return fd

    def write(self, swap_type: int, offset: int, data: bytes) -> None:
        """``pwrite`` one page at ``offset * page_size``."""
        _check_page(data, self.page_size)
        fd = self._fd(swap_type)
        os.pwrite(fd, data, offset * self.page_size)
        with self._lock:
            self._written[swap_type].add(offset)

    def read(self, swap_type: int, offset: int) -> bytes | None:
        """``pread`` one page, or ``None`` if the slot was never written."""
        with self._lock:
            if offset not in self._written.get(swap_type, ()):
                return None
        return os.pread(self._fd(swap_type), self.page_size, offset * self.page_size)

    def written(self, swap_type: int) -> set[int]:
        """Offsets of ``swap_type`` that hold a written page."""
        with self._lock:
            return set(self._written.get(swap_type, ()))

    def close(self) -> None:
        """Close the files and remove the temporary directory (if we made it)."""
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            self._written.clear()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _check_page(data: bytes, page_size: int) -> None:
    if len(data) != page_size:
        raise ValueError(f"swap writes are whole pages of {page_size} bytes, got {len(data)}")
