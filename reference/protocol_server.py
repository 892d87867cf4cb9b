"""The reference speaking conformance/PROTOCOL.md (version 1) over stdin/stdout.

    python -m reference.protocol_server

One JSON object per line in, one reply per line out; diagnostics go to stderr. Every
command is served by :class:`reference.conformance_adapter.ReferenceImplementation`.
Nothing here imports ``zbudspec``.
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


def serve(inp: IO[str], out: IO[str]) -> int:
    impl = ReferenceImplementation()
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
            try:
                if cmd == "hello":
                    _reply(out, rid, ok=True, **impl.hello())
                elif cmd == "create":
                    impl.create(str(req.get("level", "")), req.get("config") or {})
                    _reply(out, rid, ok=True)
                elif cmd == "op":
                    result = impl.op(int(req.get("thread", 0)), str(req.get("op")),
                                     req.get("args") or {}, req.get("env") or {})
                    if req.get("inspect") is True:
                        _reply(out, rid, ok=True, result=result, state=impl.inspect())
                    else:
                        _reply(out, rid, ok=True, result=result)
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
