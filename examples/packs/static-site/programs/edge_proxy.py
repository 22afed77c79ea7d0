#!/usr/bin/env python3
"""edge_proxy: the tiny reverse proxy in front of the docs site's origin.

Usage: edge_proxy.py CONFIG   (an INI file; relative paths in it are relative to the cwd)

    [proxy]
    listen = 127.0.0.1:8080          # where clients and monitors connect
    health_path = /health            # answered by the proxy itself (JSON)
    maintenance_file = run/maintenance   # while it exists: 503 + the maintenance page
    node = edge-1                    # this node's name (Via header, /health); env EDGE_NODE wins

    [upstream]
    address = 127.0.0.1:8000         # the origin (host:port)
    connect_timeout_s = 2
    read_timeout_s = 5

Every other request is forwarded to the origin (GET and HEAD only: a static site). Errors talking
to the origin become 502 (refused, reset) or 504 (timed out), each logged with the upstream
address. The config is read once at start: restart the proxy after changing it. The
maintenance file is looked at on every request. Standard library only.
"""

from __future__ import annotations

import configparser
import http.client
import http.server
import json
import os
import sys
import time
from pathlib import Path

VERSION = "1.3.0"
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
               "te", "trailer", "proxy-authenticate", "proxy-authorization"}
MAX_BODY = 8 * 1024 * 1024
MAINTENANCE_PAGE = """<!doctype html>
<html><head><title>Down for maintenance</title></head>
<body><h1>Down for maintenance</h1><p>{reason}</p><p>Please come back in a few minutes.</p>
</body></html>
"""


class ConfigError(Exception):
    pass


def log(message: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} edge-proxy: {message}\n")
    sys.stderr.flush()


def host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{what} {text.strip()!r} is not host:port")
    return host, int(port)


class Config:
    def __init__(self, path: Path) -> None:
        parser = configparser.ConfigParser()
        try:
            with path.open() as handle:
                parser.read_file(handle)
            self.listen = host_port(parser.get("proxy", "listen"), "[proxy] listen")
            self.health_path = parser.get("proxy", "health_path", fallback="/health")
            self.maintenance_file = parser.get("proxy", "maintenance_file", fallback="")
            self.node = os.environ.get("EDGE_NODE") or parser.get("proxy", "node",
                                                                  fallback="edge")
            self.upstream_text = parser.get("upstream", "address").strip()
            self.upstream = host_port(self.upstream_text, "[upstream] address")
            self.connect_timeout = parser.getfloat("upstream", "connect_timeout_s", fallback=2)
            self.read_timeout = parser.getfloat("upstream", "read_timeout_s", fallback=5)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except (configparser.Error, ValueError) as exc:
            raise ConfigError(f"{path}: {' '.join(str(exc).split())}") from None
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigError(f"{path}: timeouts must be positive")


def maintenance(cfg: Config) -> str | None:
    """The maintenance reason while the flag file exists (its first line), else None."""
    if not cfg.maintenance_file:
        return None
    path = Path(cfg.maintenance_file)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:  # a flag we cannot read is still a flag
        return f"maintenance flag {cfg.maintenance_file} present ({exc.strerror})"
    first = text.strip().splitlines()[0] if text.strip() else "scheduled maintenance"
    return first


def fetch(cfg: Config, method: str, path: str, headers: dict[str, str]
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    host, port = cfg.upstream
    conn = http.client.HTTPConnection(host, port, timeout=cfg.connect_timeout)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(cfg.read_timeout)
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read(MAX_BODY) if method != "HEAD" else b""
        return response.status, response.getheaders(), body
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = f"edge-proxy/{VERSION}"
    protocol_version = "HTTP/1.0"

    @property
    def cfg(self) -> Config:
        return self.server.cfg  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # one line per request is written by `answer`

    def answer(self, status: int, body: bytes, content_type: str,
               headers: list[tuple[str, str]] | None = None, note: str = "") -> None:
        self.send_response(status)
        for key, value in headers or []:
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Via", f"1.0 {self.cfg.node}")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        suffix = f" {note}" if note else ""
        log(f'{self.client_address[0]} "{self.command} {self.path}" {status}{suffix}')

    def json_answer(self, status: int, data: dict[str, object], note: str = "") -> None:
        self.answer(status, json.dumps(data).encode(), "application/json", note=note)

    def do_GET(self) -> None:  # noqa: N802
        self.handle_any()

    def do_HEAD(self) -> None:  # noqa: N802
        self.handle_any()

    def handle_any(self) -> None:
        cfg = self.cfg
        if self.path.split("?", 1)[0] == cfg.health_path:
            self.health()
            return
        reason = maintenance(cfg)
        if reason is not None:
            page = MAINTENANCE_PAGE.format(reason=reason).encode()
            self.answer(503, page, "text/html; charset=utf-8", [("Retry-After", "600")],
                        note=f"maintenance mode: flag {cfg.maintenance_file} present")
            return
        headers = {"Host": cfg.upstream_text, "X-Forwarded-For": self.client_address[0],
                   "Connection": "close"}
        try:
            status, upstream_headers, body = fetch(cfg, self.command, self.path, headers)
        except ConnectionRefusedError:
            self.answer(502, b"502 Bad Gateway\n", "text/plain",
                        note=f"upstream {cfg.upstream_text} refused the connection "
                             "(nothing listening there?)")
            return
        except TimeoutError:
            self.answer(504, b"504 Gateway Timeout\n", "text/plain",
                        note=f"upstream {cfg.upstream_text} timed out")
            return
        except (OSError, http.client.HTTPException) as exc:
            self.answer(502, b"502 Bad Gateway\n", "text/plain",
                        note=f"upstream {cfg.upstream_text} failed: {type(exc).__name__}: {exc}")
            return
        kept = [(k, v) for k, v in upstream_headers
                if k.lower() not in HOP_HEADERS and k.lower() not in ("content-length",
                                                                      "content-type", "server")]
        content_type = next((v for k, v in upstream_headers if k.lower() == "content-type"),
                            "application/octet-stream")
        note = f"upstream {cfg.upstream_text} answered {status}" if status >= 400 else ""
        self.answer(status, body, content_type, kept, note=note)

    def health(self) -> None:
        cfg = self.cfg
        base: dict[str, object] = {"node": cfg.node, "upstream": cfg.upstream_text,
                                   "version": VERSION}
        reason = maintenance(cfg)
        if reason is not None:
            self.json_answer(503, {**base, "status": "maintenance", "reason": reason,
                                   "flag": cfg.maintenance_file},
                             note=f"maintenance mode: flag {cfg.maintenance_file} present")
            return
        try:
            status, _headers, _body = fetch(cfg, "GET", "/", {"Host": cfg.upstream_text,
                                                              "Connection": "close"})
        except OSError as exc:
            error = f"upstream {cfg.upstream_text} unreachable: {exc.strerror or exc}"
            self.json_answer(502, {**base, "status": "error", "error": error}, note=error)
            return
        if status >= 400:
            error = f"upstream {cfg.upstream_text} answered {status} to GET /"
            self.json_answer(502, {**base, "status": "error", "error": error}, note=error)
            return
        self.json_answer(200, {**base, "status": "ok"})


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: edge_proxy.py CONFIG\n")
        return 2
    try:
        cfg = Config(Path(argv[0]))
    except ConfigError as exc:
        log(f"config error: {exc}; refusing to start")
        return 1
    try:
        server = Server(cfg.listen, Handler)
    except OSError as exc:
        log(f"cannot listen on {cfg.listen[0]}:{cfg.listen[1]}: {exc.strerror}")
        return 1
    server.cfg = cfg  # type: ignore[attr-defined]
    log(f"{VERSION} listening on {cfg.listen[0]}:{cfg.listen[1]}, upstream "
        f"{cfg.upstream_text} (connect {cfg.connect_timeout:g}s, read {cfg.read_timeout:g}s), "
        f"maintenance flag {cfg.maintenance_file or '(none)'}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
