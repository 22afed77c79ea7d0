"""A tiny key-value store the target service depends on (line protocol over TCP on loopback).

Commands: `PING` -> `PONG`; `GET key` -> value or `NIL`; `SET key value` -> `OK`.
Its records persist in `var/data/kv.json` inside the sandbox workdir.
"""

from __future__ import annotations

import json
import logging
import signal
import socketserver
import sys
from pathlib import Path


def main() -> int:
    workdir = Path(sys.argv[1]).resolve()
    port = int(sys.argv[2])
    store_path = workdir / "var" / "data" / "kv.json"
    logging.basicConfig(filename=workdir / "var" / "log" / "kv.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s kv: %(message)s")
    log = logging.getLogger("kv")
    data: dict[str, str] = json.loads(store_path.read_text()) if store_path.exists() else {}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for raw in self.rfile:
                parts = raw.decode(errors="replace").strip().split(" ", 2)
                cmd = parts[0].upper()
                if cmd == "PING":
                    reply = "PONG"
                elif cmd == "GET" and len(parts) == 2:
                    reply = data.get(parts[1], "NIL")
                elif cmd == "SET" and len(parts) == 3:
                    data[parts[1]] = parts[2]
                    store_path.write_text(json.dumps(data))
                    reply = "OK"
                else:
                    reply = "ERR unknown command"
                self.wfile.write((reply + "\n").encode())

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("kv listening on 127.0.0.1:%d with %d keys", port, len(data))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
