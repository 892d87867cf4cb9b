"""A misbehaving implementation for the runner's robustness tests.

    python fake_impl.py MODE

Speaks the protocol correctly up to the first `op`, then misbehaves as MODE says:
crash, hang, garbage, flood, longline, wrong-id, no-ok, event, wrong-result, bug,
unsupported. `crash-at-start` dies before the handshake; `hang-in-schedule` offers the
`schedule` feature, reports one yield point after `spawn` and hangs on `proceed`. The
correct answers come from the reference adapter.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from reference.conformance_adapter import ReferenceImplementation


def say(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    mode = sys.argv[1]
    if mode == "crash-at-start":
        sys.stderr.write("fake: dying before the handshake\n")
        return 3
    impl = ReferenceImplementation()
    for line in sys.stdin:
        req = json.loads(line)
        rid, cmd = req.get("id"), req["cmd"]
        if cmd == "spawn":
            say({"event": "yield", "thread": req["thread"], "point": "call",
                 "what": "zbud_free"})
        elif cmd == "proceed":
            time.sleep(3600)
        elif cmd == "hello":
            say({"id": rid, "ok": True, **impl.hello()})
        elif cmd == "create":
            impl.create(req["level"], req["config"])
            say({"id": rid, "ok": True})
        elif cmd == "inspect":
            say({"id": rid, "ok": True, "state": impl.inspect()})
        elif cmd == "bye":
            say({"id": rid, "ok": True})
            return 0
        elif cmd == "op":
            result = impl.op(req["thread"], req["op"], req["args"], req.get("env"))
            if mode == "crash":
                sys.stderr.write("fake: segmentation fault (pretend)\n")
                sys.stderr.flush()
                os._exit(139)
            elif mode == "hang":
                time.sleep(3600)
            elif mode == "garbage":
                sys.stdout.write("\x00\x01 this is not json\n")
                sys.stdout.flush()
            elif mode == "flood":
                while True:
                    sys.stdout.write('{"id": -1, "ok": true}\n')
            elif mode == "longline":
                while True:
                    sys.stdout.write("x" * 65536)
            elif mode == "wrong-id":
                say({"id": rid + 7, "ok": True, "result": result})
            elif mode == "no-ok":
                say({"id": rid, "result": result})
            elif mode == "event":
                say({"event": "yield", "thread": 0, "point": "lock_acquire"})
            elif mode == "wrong-result":
                say({"id": rid, "ok": True, "result": "EAGAIN", "state": impl.inspect()})
            elif mode == "bug":
                say({"id": rid, "ok": False, "error": {"code": "bug", "message": "BUG_ON"}})
            elif mode == "unsupported":
                say({"id": rid, "ok": False,
                     "error": {"code": "unsupported", "message": "no ops today"}})
            else:
                say({"id": rid, "ok": True, "result": result, "state": impl.inspect()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
