"""The reference speaking conformance/PROTOCOL.md (version 1) over stdin/stdout.

    python -m reference.protocol_server

One JSON object per line in, one reply per line out; diagnostics go to stderr. Every
command is served by :class:`reference.conformance_adapter.ReferenceImplementation`.
Nothing here imports ``zbudspec``.

Schedule control (feature ``schedule``): ``spawn`` starts an operation on a logical thread;
each yield point it reaches is written as an event line and the thread waits for
``proceed``; its end is the reply to its ``spawn`` (same ``id``). Only one logical thread runs
at a time, so every line written is about the thread last spawned or proceeded.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from reference.conformance_adapter import ReferenceImplementation

MAX_LINE = 1 << 20


def _reply(out: IO[str], rid: Any, **fields: Any) -> None:
    out.write(json.dumps({"id": rid, **fields}, separators=(",", ":")) + "\n")
    out.flush()


def _error(out: IO[str], rid: Any, code: str, message: str) -> None:
    _reply(out, rid, ok=False, error={"code": code, "message": message})


def _scheduled(out: IO[str], spawned: dict[int, Any], msg: dict[str, Any]) -> None:
    """A yield point as an event line, or the end of an operation as its spawn's reply."""
    if msg.get("event") == "yield":
        out.write(json.dumps(msg, separators=(",", ":")) + "\n")
        out.flush()
        return
    thread = int(msg["thread"])
    _reply(out, spawned.pop(thread, None), ok=True, result=msg.get("result"))


def serve(inp: IO[str], out: IO[str]) -> int:
    impl = ReferenceImplementation()
    spawned: dict[int, Any] = {}  # logical thread -> id of the spawn it is running
    try:
        for line in inp:
            if len(line) > MAX_LINE:
                _error(out, None, "bad_request", "line longer than 1 MiB")
                continue
            try:
                req = json.loads(line)
            except json.JSONDecodeError as exc:
                _error(out, None, "bad_request", f"not JSON: {exc.msg}")
                continue
            if not isinstance(req, dict):
                _error(out, None, "bad_request", "a request is a JSON object")
                continue
            rid = req.get("id")
            cmd = req.get("cmd")
            if cmd == "proceed":  # has no id: answered by the spawn's id when it ends
                rid = spawned.get(int(req.get("thread", -1)))
            try:
                if cmd == "hello":
                    _reply(out, rid, ok=True, **impl.hello())
                elif cmd == "create":
                    spawned.clear()
                    impl.create(str(req.get("level", "")), req.get("config") or {})
                    _reply(out, rid, ok=True)
                elif cmd == "op":
                    result = impl.op(int(req.get("thread", 0)), str(req.get("op")),
                                     req.get("args") or {}, req.get("env") or {})
                    if req.get("inspect") is True:
                        _reply(out, rid, ok=True, result=result, state=impl.inspect())
                    else:
                        _reply(out, rid, ok=True, result=result)
                elif cmd == "spawn":
                    thread = int(req.get("thread", 0))
                    msg = impl.spawn(thread, str(req.get("op")), req.get("args") or {},
                                     req.get("env") or {}, timeout=None)
                    spawned[thread] = rid
                    _scheduled(out, spawned, msg)
                elif cmd == "proceed":
                    thread = int(req.get("thread", -1))
                    try:
                        msg = impl.proceed(thread, timeout=None)
                    except Exception:
                        spawned.pop(thread, None)
                        raise
                    _scheduled(out, spawned, msg)
                elif cmd == "inspect":
                    _reply(out, rid, ok=True, state=impl.inspect())
                elif cmd == "bye":
                    _reply(out, rid, ok=True)
                    return 0
                else:
                    _error(out, rid, "unsupported", f"command {cmd!r}")
            except Exception as exc:  # every failure is an error reply, never a dead server
                code = getattr(exc, "code", "internal")
                _error(out, rid, code if isinstance(code, str) else "internal",
                       f"{type(exc).__name__}: {exc}")
        return 0
    finally:
        impl.close()


def main() -> int:
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    return serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
