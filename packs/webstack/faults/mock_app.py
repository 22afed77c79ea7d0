"""Fault helper (runs inside the sandbox, started by hand, not by the supervisor): a debug
stub left listening on the app's port. It answers everything with 200 and stores nothing.
Usage: <name> PORT"""

import http.server
import json
import sys


class Stub(http.server.BaseHTTPRequestHandler):
    def _ok(self) -> None:
        body = json.dumps({"status": "ok", "stub": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _ok

    def log_message(self, *args: object) -> None:
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stub).serve_forever()
