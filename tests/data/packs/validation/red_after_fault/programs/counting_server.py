"""A tiny HTTP service for the broken packs of the validation tests (stdlib only).

Usage: counting_server.py PORT

GET /health answers 200 {"status": "ok"} unless the env file says otherwise:
  FAIL_FIRST=N  answer 503 to the first N requests after each start (a warm-up)
  FAIL_AFTER=N  answer 500 to every request after the first N (a leak)
Requests are counted per start, so the harness's TCP readiness check does not count.
"""

import http.server
import json
import os
import sys
import threading

COUNT = 0
LOCK = threading.Lock()
FAIL_FIRST = int(os.environ.get("FAIL_FIRST") or 0)
FAIL_AFTER = int(os.environ.get("FAIL_AFTER") or 0)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        global COUNT
        with LOCK:
            COUNT += 1
            n = COUNT
        if n <= FAIL_FIRST:
            status, body = 503, {"status": "warming up", "request": n}
        elif FAIL_AFTER and n > FAIL_AFTER:
            status, body = 500, {"status": "error", "error": "too many open files"}
        else:
            status, body = 200, {"status": "ok"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002
        sys.stderr.write("%s\n" % (format % args))


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
