"""The subprocess transport: an implementation behind conformance/PROTOCOL.md.

The command runs without a shell, in its own session (so a timeout kills its children too).
Requests go to its stdin; its stdout is read with `select`, never blocking past the per-request
deadline; its stderr is drained by a thread into a bounded buffer. Every way the process can
misbehave ends in a `TransportFailure` (crash, timeout, protocol, flood), never in a hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from zbudspec.conformance.protocol import (
    PROTOCOL_VERSION,
    ImplError,
    Json,
    TransportFailure,
)


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 5.0  # seconds per request (the handshake too)
    max_line: int = 1 << 20  # bytes per line, newline excluded
    max_lines: int = 1000  # lines per request
    stderr_keep: int = 64 << 10  # bytes of stderr kept (the tail)


class _StderrTail:
    def __init__(self, stream: object, keep: int) -> None:
        self.keep = keep
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream: object) -> None:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.buf += chunk
                if len(self.buf) > self.keep:
                    del self.buf[: len(self.buf) - self.keep]

    def text(self) -> str:
        self.thread.join(timeout=0.2)
        with self.lock:
            return self.buf.decode("utf-8", "replace")


class SubprocessImplementation:
    """`Implementation` over a child process speaking the protocol."""

    def __init__(self, argv: Sequence[str], limits: Limits | None = None,
                 cwd: str | None = None) -> None:
        self.argv = list(argv)
        self.limits = limits or Limits()
        self.next_id = 0
        self.buf = bytearray()
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, bufsize=0, cwd=cwd, start_new_session=True)
        except OSError as exc:
            raise TransportFailure("crash", f"cannot start {self.argv[0]!r}: "
                                   f"{exc.strerror or exc}") from None
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self.stdout_fd = self.proc.stdout.fileno()
        os.set_blocking(self.stdout_fd, False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.stdout_fd, selectors.EVENT_READ)
        self.stderr = _StderrTail(self.proc.stderr, self.limits.stderr_keep)
        self.dead: TransportFailure | None = None
        self._hello: Mapping[str, Json] | None = None
        self._spawned: dict[int, int] = {}  # logical thread -> id of its running `spawn`

    # ---- the interface
    def hello(self) -> Mapping[str, Json]:
        if self._hello is None:
            reply = self.request({"cmd": "hello", "protocol": PROTOCOL_VERSION})
            if reply.get("protocol") != PROTOCOL_VERSION:
                self.fail("protocol", f"the implementation speaks protocol "
                          f"{reply.get('protocol')!r}, the runner {PROTOCOL_VERSION}")
            if not isinstance(reply.get("features"), list):
                self.fail("protocol", "the hello reply has no `features` list")
            self._hello = reply
        return self._hello

    def create(self, level: str, config: Mapping[str, Json]) -> None:
        self.request({"cmd": "create", "level": level, "config": dict(config)})

    def op(self, thread: int, op: str, args: Mapping[str, Json],
           env: Mapping[str, Sequence[str]] | None = None) -> Json:
        req: dict[str, Json] = {"cmd": "op", "thread": thread, "op": op, "args": dict(args)}
        if env:
            req["env"] = {k: list(v) for k, v in env.items()}
        reply = self.request(req)
        if "result" not in reply:
            self.fail("protocol", f"the reply to `{op}` has no `result`")
        return reply["result"]

    def op_inspect(self, thread: int, op: str, args: Mapping[str, Json],
                   env: Mapping[str, Sequence[str]] | None = None
                   ) -> tuple[Json, Mapping[str, Json]]:
        """`op` with `"inspect": true`: the result and the state after it in one reply."""
        req: dict[str, Json] = {"cmd": "op", "thread": thread, "op": op, "args": dict(args),
                                "inspect": True}
        if env:
            req["env"] = {k: list(v) for k, v in env.items()}
        reply = self.request(req)
        if "result" not in reply or not isinstance(reply.get("state"), dict):
            self.fail("protocol", f"the reply to `{op}` with `inspect` lacks `result` or "
                      "`state`")
        return reply["result"], reply["state"]

    def spawn(self, thread: int, op: str, args: Mapping[str, Json],
              env: Mapping[str, Sequence[str]] | None = None,
              timeout: float | None = None) -> dict[str, Json]:
        """`spawn` (feature `schedule`): the thread's first yield event, or its end."""
        req: dict[str, Json] = {"cmd": "spawn", "thread": thread, "op": op,
                                "args": dict(args)}
        if env:
            req["env"] = {k: list(v) for k, v in env.items()}
        rid = self.next_id
        self._spawned[thread] = rid
        self._send({"id": rid, **req}, "spawn")
        self.next_id += 1
        return self._scheduled(thread, rid, "spawn", timeout)

    def proceed(self, thread: int, timeout: float | None = None) -> dict[str, Json]:
        """`proceed`: the thread's next yield event, or its end (the reply to its spawn)."""
        rid = self._spawned.get(thread)
        if rid is None:
            raise ImplError("bad_request", f"proceed: thread {thread} runs no operation")
        self._send({"cmd": "proceed", "thread": thread}, "proceed")
        return self._scheduled(thread, rid, "proceed", timeout)

    def _send(self, req: dict[str, Json], cmd: str) -> None:
        if self.dead is not None:
            raise self.dead
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(req, separators=(",", ":")).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            self.fail("crash", f"the implementation {self._exit_text()} before `{cmd}`")

    def _scheduled(self, thread: int, rid: int, cmd: str,
                   timeout: float | None) -> dict[str, Json]:
        deadline = time.monotonic() + (self.limits.timeout if timeout is None else timeout)
        raw = self._read_line(deadline, f"{cmd}` of thread `{thread}")
        try:
            msg = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.fail("protocol", f"not a JSON line after `{cmd}`: {raw[:120]!r}")
        if not isinstance(msg, dict):
            self.fail("protocol", f"a line must be a JSON object, got {raw[:120]!r}")
        if "event" in msg:
            if msg.get("event") != "yield" or msg.get("thread") != thread \
                    or not isinstance(msg.get("point"), str):
                self.fail("protocol", f"after `{cmd}` of thread {thread} expected its yield "
                          f"event or the reply to its spawn, got {raw[:120]!r}")
            event: dict[str, Json] = msg
            return event
        if msg.get("id") != rid:
            self.fail("protocol", f"reply with id {msg.get('id')!r} after `{cmd}` of thread "
                      f"{thread} (its spawn has id {rid})")
        self._spawned.pop(thread, None)
        if msg.get("ok") is True:
            if "result" not in msg:
                self.fail("protocol", f"the reply to thread {thread}'s spawn has no `result`")
            return {"done": True, "thread": thread, "result": msg["result"]}
        err = msg.get("error")
        if msg.get("ok") is not False or not isinstance(err, dict) \
                or not isinstance(err.get("code"), str):
            self.fail("protocol", f"a reply without `ok` or `error.code`: {raw[:120]!r}")
        raise ImplError(str(err["code"]), str(err.get("message", "")))

    def inspect(self) -> Mapping[str, Json]:
        state = self.request({"cmd": "inspect"}).get("state")
        if not isinstance(state, dict):
            self.fail("protocol", "the reply to `inspect` has no `state` object")
            raise AssertionError("unreachable")
        return state

    def close(self) -> None:
        if self.dead is None and self.proc.poll() is None:
            with contextlib.suppress(TransportFailure, ImplError):
                self.request({"cmd": "bye"}, timeout=min(1.0, self.limits.timeout))
        self._kill()

    # ---- plumbing
    def fail(self, kind: str, message: str) -> NoReturn:
        self._kill()
        failure = TransportFailure(kind, message, self.stderr.text())
        self.dead = failure
        raise failure

    def _kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        with contextlib.suppress(OSError, ValueError):
            self.sel.close()

    def _exit_text(self) -> str:
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "closed its stdout"
        if code < 0:
            try:
                return f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def request(self, req: dict[str, Json], timeout: float | None = None) -> dict[str, Json]:
        if self.dead is not None:
            raise self.dead
        rid = self.next_id
        self.next_id += 1
        line = json.dumps({"id": rid, **req}, separators=(",", ":")).encode() + b"\n"
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(line)
            stdin.flush()
        except (BrokenPipeError, OSError):
            self.fail("crash", f"the implementation {self._exit_text()} before `{req['cmd']}`")
        deadline = time.monotonic() + (self.limits.timeout if timeout is None else timeout)
        for _ in range(self.limits.max_lines):
            raw = self._read_line(deadline, req["cmd"])
            try:
                msg = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.fail("protocol", f"not a JSON line in reply to `{req['cmd']}`: "
                          f"{raw[:120]!r}")
            if not isinstance(msg, dict):
                self.fail("protocol", f"a reply must be a JSON object, got {raw[:120]!r}")
            if "event" in msg:
                self.fail("protocol", f"a `schedule` event outside a spawned operation: "
                          f"{raw[:120]!r}")
            if msg.get("id") != rid:
                self.fail("protocol", f"reply with id {msg.get('id')!r} to request {rid} "
                          f"(`{req['cmd']}`)")
            ok = msg.get("ok")
            if ok is True:
                reply: dict[str, Json] = msg
                return reply
            if ok is False:
                err = msg.get("error")
                if not isinstance(err, dict) or not isinstance(err.get("code"), str):
                    self.fail("protocol", "an error reply without `error.code`")
                raise ImplError(str(err["code"]), str(err.get("message", "")))
            self.fail("protocol", f"a reply without `ok`: {raw[:120]!r}")
        self.fail("flood", f"more than {self.limits.max_lines} lines for one request "
                  f"(`{req['cmd']}`)")
        raise AssertionError("unreachable")

    def _read_line(self, deadline: float, cmd: str) -> bytes:
        limit = self.limits.max_line
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                if nl > limit:
                    break
                raw = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                return raw
            if len(self.buf) > limit:
                break
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                self.fail("timeout", f"no reply to `{cmd}` within "
                          f"{self.limits.timeout:g} s")
            try:
                chunk = os.read(self.stdout_fd, 1 << 20)
            except BlockingIOError:
                continue
            except OSError as exc:
                self.fail("crash", f"cannot read the implementation's stdout: {exc}")
            if not chunk:
                self.fail("crash", f"the implementation {self._exit_text()} during `{cmd}`")
            self.buf += chunk
        self.fail("flood", f"a line longer than {limit} bytes in reply to `{cmd}`")
        raise AssertionError("unreachable")
