"""The in-process face of conformance/PROTOCOL.md: what a Python implementation provides.

Methods mirror the protocol's commands and take and return its JSON values. An
implementation signals an error reply by raising any exception with a `code` attribute
(`unsupported`, `bad_request`, `bug`, `internal`); any other exception counts as `internal`.
The subprocess transport (`transport.py`) implements the same interface and raises
`TransportFailure` when the process breaks the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

PROTOCOL_VERSION = 1
ERROR_CODES = ("unsupported", "bad_request", "bug", "internal")
FEATURES = ("zswap", "zbud", "inspect", "schedule", "bytes")

Json = Any


@runtime_checkable
class Implementation(Protocol):
    """An implementation under test (one pool at a time)."""

    def hello(self) -> Mapping[str, Json]:
        """`{"protocol": 1, "implementation": NAME, "features": [...]}`."""
        ...

    def create(self, level: str, config: Mapping[str, Json]) -> None:
        """A fresh pool (`create`)."""
        ...

    def op(self, thread: int, op: str, args: Mapping[str, Json],
           env: Mapping[str, Sequence[str]] | None = None) -> Json:
        """Run one operation to completion; its result in the spec's encoding."""
        ...

    def inspect(self) -> Mapping[str, Json]:
        """The abstract state (feature `inspect`)."""
        ...

    def close(self) -> None:
        """Release the implementation (`bye`)."""
        ...


@runtime_checkable
class Scheduled(Protocol):
    """Feature `schedule`: operations started on logical threads and run between yield points.

    Both methods return the thread's next message: `{"event": "yield", "thread": t,
    "point": P, "what": W}` (the thread stopped at a yield point) or `{"done": true,
    "thread": t, "result": R}` (the operation ended); an error reply raises. `timeout` (s)
    bounds the wait; in process a `TimeoutError` says it passed.
    """

    def spawn(self, thread: int, op: str, args: Mapping[str, Json],
              env: Mapping[str, Sequence[str]] | None = None,
              timeout: float | None = None) -> Mapping[str, Json]:
        """Start an operation on `thread`; it runs to its first yield point or its end."""
        ...

    def proceed(self, thread: int, timeout: float | None = None) -> Mapping[str, Json]:
        """Let `thread` run on to its next yield point or its end."""
        ...


class ImplError(Exception):
    """An error reply from the implementation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code if code in ERROR_CODES else "internal"
        self.message = message


class TransportFailure(Exception):
    """The implementation broke the protocol: `kind` is crash, timeout, protocol or flood."""

    def __init__(self, kind: str, message: str, stderr: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.stderr = stderr


def error_of(exc: BaseException) -> ImplError:
    """An in-process implementation's exception as an error reply."""
    if isinstance(exc, ImplError):
        return exc
    code = getattr(exc, "code", "internal")
    return ImplError(code if isinstance(code, str) else "internal",
                     f"{type(exc).__name__}: {exc}")
