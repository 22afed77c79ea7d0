"""The target service: a small Flask app whose faults come from its own files.

Started by the supervisor inside one incident's sandbox with the working directory `W`
(see README.md). Everything it needs (config, env, data, readiness marker, dependency) is read
from `W`, so a fault injected into those files shows up exactly as it would in production:
a refusal to start, a crash loop, a degraded `/health`, a failing `/ready`, or slowness.
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


def create_app(workdir: Path, config: configparser.ConfigParser, log: logging.Logger):  # noqa: ANN201
    # Flask is imported only after the start-up checks passed: a refusal is immediate.
    from flask import Flask, jsonify

    app = Flask("target_service")
    instance = os.environ.get("SRE_INSTANCE_ID", "")
    delay_ms = int(os.environ.get("RESPONSE_DELAY_MS") or config.get(
        "features", "response_delay_ms", fallback="0") or 0)
    data_dir = config.get("storage", "data_dir", fallback="var/data")
    quota_mib = config.getfloat("storage", "quota_mb", fallback=64.0)
    kv_port = config.getint("dependencies", "kv_port", fallback=0)
    marker = workdir / config.get("readiness", "marker", fallback="run/ready")

    try:
        marker.write_text(f"{instance}\n")  # the parent directory is not created: a missing
        log.info("readiness marker %s written", marker.relative_to(workdir))  # one is the fault
    except OSError:
        log.error(
            "readiness marker %s could not be written: %s does not exist",
            marker.relative_to(workdir), marker.parent.relative_to(workdir),
        )

    def problems() -> list[str]:
        found = []
        problem = data_store_problem(workdir, data_dir)
        if problem:
            found.append(problem)
        used = volume_usage_mib(workdir)
        if used > quota_mib:
            found.append(f"data volume over quota: {used:.1f} MiB used of {quota_mib:.0f} MiB")
        if kv_port and not kv_ping(kv_port):
            found.append(f"dependency kv unreachable at 127.0.0.1:{kv_port}")
        return found

    @app.before_request
    def _slow() -> None:
        if delay_ms > 0:
            time.sleep(delay_ms / 1000)

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return jsonify(service="target", instance=instance, version=VERSION)

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        found = problems()
        if found:
            for problem in found:
                log.error("%s", problem)
            return jsonify(status="error", error="; ".join(found), instance=instance), 503
        return jsonify(status="ok", instance=instance, version=VERSION)

    @app.get("/ready")
    def ready():  # type: ignore[no-untyped-def]
        if not marker.exists():
            return jsonify(ready=False, reason=f"readiness marker {marker.name} missing"), 503
        return jsonify(ready=True, instance=instance)

    return app


def main() -> int:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()).resolve()
    log_path = workdir / "var" / "log" / "service.log"
    logging.basicConfig(
        filename=log_path, level=logging.INFO,
        format="%(asctime)s %(levelname)s target: %(message)s",
    )
    log = logging.getLogger("target")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        config = load_config(workdir)
        check_env(workdir)
        lock = take_lock(workdir, config.get("server", "lock_file", fallback="run/service.lock"))
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    host = config.get("server", "host", fallback="127.0.0.1")
    port = config.getint("server", "port")
    app = create_app(workdir, config, log)
    log.info("starting version %s on %s:%d (pid %d)", VERSION, host, port, os.getpid())
    try:
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", host, port, exc.strerror)
        lock.unlink(missing_ok=True)
        return 1
    log.info("listening on %s:%d", host, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean stop releases the lock
    try:
        server.serve_forever()
    finally:
        lock.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
