"""Mutants as source patches of the reference, applied to subclasses in fresh classes.

`Patch(cls, method, old, new)` takes the source of `reference.<module>.<cls>.<method>`,
replaces `old` (which must occur exactly once, so a mutant breaks loudly when the reference
changes) by `new`, compiles the result in the reference module's namespace and puts it on a
subclass. `mutant(*patches)` returns a conformance factory: the reference adapter whose pool
(and zswap) are switched to the mutated subclasses right after `create`. `reference/` itself
is never modified and nothing is monkeypatched.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference.conformance_adapter import ReferenceImplementation
from reference.zbud import ZbudPool
from reference.zswap import Zswap


@dataclass(frozen=True)
class Patch:
    cls: str  # "ZbudPool" or "Zswap"
    method: str
    old: str
    new: str


_HOME = {"ZbudPool": (ZbudPool, "reference.zbud"), "Zswap": (Zswap, "reference.zswap")}


def _patched(base: type, module: str, patches: list[Patch]) -> type:
    ns: dict[str, Any] = {"__slots__": ()} if "__slots__" in base.__dict__ else {}
    mod = importlib.import_module(module)
    for p in patches:
        src = inspect.getsource(getattr(base, p.method))  # indented as in its class
        n = src.count(p.old)
        if n != 1:
            raise AssertionError(f"{base.__name__}.{p.method}: the mutated text occurs {n} "
                                 f"times: {p.old!r}")
        code = compile("class _Mutated:\n" + src.replace(p.old, p.new),
                       f"<mutant {base.__name__}.{p.method}>", "exec")
        scope: dict[str, Any] = {}
        exec(code, vars(mod), scope)
        ns[p.method] = scope["_Mutated"].__dict__[p.method]
    return type(f"Mutant{base.__name__}", (base,), ns)


class CheckedLock:
    """A pool lock that fails on self-deadlock instead of hanging (lockdep's report)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self) -> bool:
        if self._owner == threading.get_ident():
            raise RuntimeError("self-deadlock: the pool lock is already held by this thread")
        self._lock.acquire()
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        self._owner = None
        self._lock.release()

    def __enter__(self) -> CheckedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def mutant(*patches: Patch, checked_lock: bool = False
           ) -> Callable[[], ReferenceImplementation]:
    pool_cls = _patched(ZbudPool, "reference.zbud", [p for p in patches if p.cls == "ZbudPool"])
    zswap_cls = _patched(Zswap, "reference.zswap", [p for p in patches if p.cls == "Zswap"])

    class Mutant(ReferenceImplementation):
        name = "reference mutant"

        def create(self, level: str, config: Any) -> None:
            super().create(level, config)
            pool = self._pool
            if pool is not None:
                pool.__class__ = pool_cls
                if checked_lock:
                    pool._lock = CheckedLock()  # type: ignore[assignment]
            if self._zswap is not None:
                self._zswap.__class__ = zswap_cls

    return Mutant
