"""An impostor: a process that answers the steady-state probes exactly like the healthy
service did (same status, same body, instance id included), but that the sandbox's supervisor
did not start. Validation runs it inside the sandbox; the verdict must stay red.

`SCRIPT` runs inside the sandbox (stdlib only) with one argument: JSON of
{"pid_file": ..., "ports": {port: {path: [status, body]}}}.
"""

from __future__ import annotations

SCRIPT = r'''
import http.server, json, os, socketserver, sys, threading
spec = json.loads(sys.argv[1])
open(spec["pid_file"], "w").write(str(os.getpid()))

def handler_for(routes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            status, body = routes.get(self.path, [404, ""])
            data = body.encode()
            self.send_response(int(status))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        do_GET = do_POST = do_HEAD = _answer
        def log_message(self, *args):
            pass
    return Handler

socketserver.TCPServer.allow_reuse_address = True
servers = [socketserver.ThreadingTCPServer(("127.0.0.1", int(port)), handler_for(routes))
           for port, routes in spec["ports"].items()]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
'''
