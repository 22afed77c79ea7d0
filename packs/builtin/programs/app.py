"""The target service: a small HTTP service whose faults come from its own files.

Started by the supervisor inside one incident's sandbox with the working directory `W`
(see README.md). Everything it needs (config, env, data, readiness marker, dependency) is read
from `W`, so a fault injected into those files shows up exactly as it would in production:
a refusal to start, a crash loop, a degraded `/health`, a failing `/ready`, or slowness.
It serves with the standard library's threading HTTP server (it was a Flask app: the same
three endpoints and JSON bodies, without ~0.2 CPU-s of imports at every start).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import logging
import os
import signal
import socket
import stat
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "1.4.2"
REQUIRED_ENV_FILE = "etc/service.env.example"


class StartupError(Exception):
    """A condition that makes the service refuse to start (logged, exit code 1)."""


def load_config(workdir: Path) -> configparser.ConfigParser:
    path = workdir / "etc" / "service.conf"
    parser = configparser.ConfigParser()
    try:
        with path.open() as handle:
            parser.read_file(handle)
        parser.getint("server", "port")
    except (configparser.Error, ValueError, KeyError) as exc:
        detail = " ".join(str(exc).split())
        raise StartupError(f"config parse error in etc/service.conf: {detail}") from exc
    except OSError as exc:
        raise StartupError(f"cannot read etc/service.conf: {exc.strerror}") from exc
    return parser


def required_env_names(workdir: Path) -> list[str]:
    names = []
    for line in (workdir / REQUIRED_ENV_FILE).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.append(line.split("=", 1)[0].strip())
    return names


def check_env(workdir: Path) -> None:
    for name in required_env_names(workdir):
        if not os.environ.get(name, "").strip():
            raise StartupError(
                f"missing required environment variable {name} (see {REQUIRED_ENV_FILE})"
            )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take_lock(workdir: Path, lock_rel: str) -> Path:
    lock = workdir / lock_rel
    if lock.exists():
        text = lock.read_text().strip()
        pid = int(text) if text.isdigit() else None
        if pid is not None and pid != os.getpid():
            # Whether or not that pid still runs, the service will not start over a lock:
            # the operator must check the holder and clear a stale lock.
            raise StartupError(
                f"lock file {lock_rel} is held by pid {pid} "
                f"({'running' if pid_alive(pid) else 'not running'}); refusing to start"
            )
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"{os.getpid()}\n")
    return lock


def mode_problem(path: Path, need: int) -> str | None:
    """Explicit permission check: the app needs owner bits even when run as root."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return f"cannot stat {path}: {exc.strerror}"
    if mode & need != need:
        return f"permission denied on {path} (mode {mode:03o})"
    return None


def data_store_problem(workdir: Path, data_dir: str) -> str | None:
    base = workdir / data_dir
    store = base / "store.db"
    for path, need in ((base, stat.S_IRWXU), (store, stat.S_IRUSR | stat.S_IWUSR)):
        problem = mode_problem(path, need)
        if problem:
            return problem.replace(str(workdir) + "/", "")
    try:
        raw = store.read_bytes()
        doc = json.loads(raw)
        body = json.dumps(doc["records"], sort_keys=True).encode()
        if hashlib.sha256(body).hexdigest() != doc["checksum"]:
            raise ValueError("checksum")
    except PermissionError:
        return f"permission denied on {data_dir}/store.db"
    except (OSError, ValueError, KeyError, TypeError):
        return (
            f"data store checksum mismatch in {data_dir}/store.db; no backup available; "
            "repair would require re-initialising the store (destroys all records)"
        )
    return None


def volume_usage_mib(workdir: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(workdir / "var"):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / (1024 * 1024)


def kv_ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\n")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False


class Handler(BaseHTTPRequestHandler):
    """The three endpoints; `server.service` holds what they read."""

    server_version = f"target/{VERSION}"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 (`curl -I`: the same status and headers, no body)
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        service: Service = self.server.service  # type: ignore[attr-defined]
        if service.delay_ms > 0:
            time.sleep(service.delay_ms / 1000)
        route = {"/": service.index, "/health": service.health, "/ready": service.ready}
        code, body = route.get(self.path.split("?", 1)[0], service.not_found)()
        data = (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # no access log, as before (only problems are logged)


class Service:
    """What the endpoints answer, read from the workdir at every request."""

    def __init__(self, workdir: Path, config: configparser.ConfigParser,
                 log: logging.Logger) -> None:
        self.workdir, self.log = workdir, log
        self.instance = os.environ.get("SRE_INSTANCE_ID", "")
        self.delay_ms = int(os.environ.get("RESPONSE_DELAY_MS") or config.get(
            "features", "response_delay_ms", fallback="0") or 0)
        self.data_dir = config.get("storage", "data_dir", fallback="var/data")
        self.quota_mib = config.getfloat("storage", "quota_mb", fallback=64.0)
        self.kv_port = config.getint("dependencies", "kv_port", fallback=0)
        self.marker = workdir / config.get("readiness", "marker", fallback="run/ready")
        try:
            self.marker.write_text(f"{self.instance}\n")  # the parent directory is not
            log.info("readiness marker %s written",  # created: a missing one is the fault
                     self.marker.relative_to(workdir))
        except OSError:
            log.error(
                "readiness marker %s could not be written: %s does not exist",
                self.marker.relative_to(workdir), self.marker.parent.relative_to(workdir),
            )

    def problems(self) -> list[str]:
        found = []
        problem = data_store_problem(self.workdir, self.data_dir)
        if problem:
            found.append(problem)
        used = volume_usage_mib(self.workdir)
        if used > self.quota_mib:
            found.append(f"data volume over quota: {used:.1f} MiB used of "
                         f"{self.quota_mib:.0f} MiB")
        if self.kv_port and not kv_ping(self.kv_port):
            found.append(f"dependency kv unreachable at 127.0.0.1:{self.kv_port}")
        return found

    def index(self) -> tuple[int, dict]:
        return 200, {"service": "target", "instance": self.instance, "version": VERSION}

    def health(self) -> tuple[int, dict]:
        found = self.problems()
        if found:
            for problem in found:
                self.log.error("%s", problem)
            return 503, {"status": "error", "error": "; ".join(found),
                         "instance": self.instance}
        return 200, {"status": "ok", "instance": self.instance, "version": VERSION}

    def ready(self) -> tuple[int, dict]:
        if not self.marker.exists():
            return 503, {"ready": False, "reason": f"readiness marker {self.marker.name} missing"}
        return 200, {"ready": True, "instance": self.instance}

    def not_found(self) -> tuple[int, dict]:
        return 404, {"error": "not found"}


def main() -> int:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()).resolve()
    log_path = workdir / "var" / "log" / "service.log"
    logging.basicConfig(
        filename=log_path, level=logging.INFO,
        format="%(asctime)s %(levelname)s target: %(message)s",
    )
    log = logging.getLogger("target")
    try:
        config = load_config(workdir)
        check_env(workdir)
        lock = take_lock(workdir, config.get("server", "lock_file", fallback="run/service.lock"))
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    host = config.get("server", "host", fallback="127.0.0.1")
    port = config.getint("server", "port")
    service = Service(workdir, config, log)
    log.info("starting version %s on %s:%d (pid %d)", VERSION, host, port, os.getpid())
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", host, port, exc.strerror)
        lock.unlink(missing_ok=True)
        return 1
    server.daemon_threads = True
    server.service = service  # type: ignore[attr-defined]
    log.info("listening on %s:%d", host, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean stop releases the lock
    try:
        server.serve_forever()
    finally:
        lock.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
