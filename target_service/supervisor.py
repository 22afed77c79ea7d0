"""The sandbox's process supervisor: runs the app and the kv store, restarts them, reports.

Usage: supervisor.py WORKDIR [--kv-port PORT] [--stopped PROGRAM ...]

Control is a line protocol on the Unix socket `WORKDIR/run/supervisor.sock` (see svc.py):
`status`, `start|stop|restart PROGRAM|all`, `wait` (until every program settled). A program
that exits `STARTRETRIES` times within `CRASH_WINDOW_S` goes FATAL (a crash loop) and stays
down until it is started again. `etc/service.env` is re-read at every start of the app.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTSECS = 0.3  # alive this long after spawn counts as RUNNING
STARTRETRIES = 3
CRASH_WINDOW_S = 10.0
STOP_GRACE_S = 3.0
READY_TIMEOUT_S = 5.0
HERE = Path(__file__).resolve().parent
BASE_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "HOME", "TZ", "SRE_INSTANCE_ID", "PYTHONPATH")


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if not path.exists():
        return env
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip("'\"")
    return env


def configured_port(workdir: Path) -> int | None:
    """The port etc/service.conf asks for (None when it does not parse)."""
    import configparser

    parser = configparser.ConfigParser()
    try:
        with (workdir / "etc" / "service.conf").open() as handle:
            parser.read_file(handle)
        return parser.getint("server", "port")
    except (OSError, configparser.Error, ValueError):
        return None


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Program:
    def __init__(self, name: str, workdir: Path, log_name: str) -> None:
        self.name = name
        self.workdir = workdir
        self.log_path = workdir / "var" / "log" / log_name
        self.desired = True
        self.state = "STOPPED"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self.exits: collections.deque[float] = collections.deque(maxlen=STARTRETRIES)
        self.last_exit: int | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv(), cwd=self.workdir, env=self.env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log,
            )
        self.started_at = time.monotonic()
        self.state = "STARTING"

    def stop(self) -> None:
        self.desired = False
        proc, self.proc = self.proc, None
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.state = "STOPPED"

    def ready(self, alive_for: float) -> bool:
        """Whether a STARTING program counts as RUNNING yet."""
        return alive_for >= STARTSECS

    def tick(self, now: float) -> None:
        if self.proc is not None:
            code = self.proc.poll()
            if code is None:
                if self.state == "STARTING" and self.ready(now - self.started_at):
                    self.state = "RUNNING"
                return
            self.proc = None
            self.last_exit = code
            self.exits.append(now)
            if not self.desired:
                self.state = "STOPPED"
            elif len(self.exits) == STARTRETRIES and now - self.exits[0] <= CRASH_WINDOW_S:
                self.state = "FATAL"
            else:
                self.state = "BACKOFF"
                self.next_start = now + 0.1 * len(self.exits)
        elif self.desired and self.state in ("BACKOFF", "STOPPED") and now >= self.next_start:
            self.spawn()

    def status_line(self, now: float) -> str:
        parts = [f"{self.name:<4}", f"{self.state:<8}"]
        if self.proc is not None and self.state in ("RUNNING", "STARTING"):
            parts.append(f"pid {self.proc.pid}")
            parts.append(f"uptime {now - self.started_at:.0f}s")
        if self.last_exit is not None:
            parts.append(f"last exit {self.last_exit}")
        if self.state == "FATAL":
            parts.append(f"(exited {STARTRETRIES} times in {CRASH_WINDOW_S:.0f}s: crash loop; "
                         f"see svc logs {self.name})")
        return "  ".join(parts)


class App(Program):
    port: int | None = None

    def argv(self) -> list[str]:
        return [sys.executable, str(HERE / "app.py"), str(self.workdir)]

    def spawn(self) -> None:
        self.port = configured_port(self.workdir)
        super().spawn()

    def ready(self, alive_for: float) -> bool:
        # RUNNING means serving: alive past STARTSECS *and* accepting on its port (a slow
        # start still counts after READY_TIMEOUT_S, so status never hangs in STARTING).
        if alive_for < STARTSECS:
            return False
        return alive_for >= READY_TIMEOUT_S or self.port is None or accepting(self.port)

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(read_env_file(self.workdir / "etc" / "service.env"))
        return env


class Kv(Program):
    port = 6390  # set from --kv-port: the store's own setting, not the app's config

    def argv(self) -> list[str]:
        return [sys.executable, str(HERE / "kv.py"), str(self.workdir), str(self.port)]


class Supervisor:
    def __init__(self, workdir: Path, stopped: set[str]) -> None:
        self.workdir = workdir
        # kv first: the app's health depends on it.
        self.programs = {"kv": Kv("kv", workdir, "kv.log"), "app": App("app", workdir,
                                                                       "service.log")}
        for name in stopped:
            self.programs[name].desired = False
        self.lock = threading.RLock()
        self.running = True

    def loop(self) -> None:
        while self.running:
            with self.lock:
                now = time.monotonic()
                for program in self.programs.values():
                    program.tick(now)
            time.sleep(0.03)

    def settled(self) -> bool:
        return all(
            p.state in ("RUNNING", "FATAL") if p.desired else p.state == "STOPPED"
            for p in self.programs.values()
        )

    def wait_settled(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.settled():
                    return
            time.sleep(0.03)

    def status(self) -> str:
        with self.lock:
            now = time.monotonic()
            return "\n".join(p.status_line(now) for p in self.programs.values())

    def control(self, verb: str, target: str) -> str:
        names = list(self.programs) if target == "all" else [target]
        if any(name not in self.programs for name in names):
            return f"error: unknown program {target!r} (programs: app, kv, all)"
        with self.lock:
            for name in names:
                program = self.programs[name]
                if verb in ("stop", "restart"):
                    program.stop()
                if verb in ("start", "restart"):
                    program.desired = True
                    program.exits.clear()
                    program.next_start = 0.0
                    if program.proc is None:
                        program.spawn()
        if verb != "stop":
            self.wait_settled()
        return self.status()

    def shutdown(self) -> None:
        self.running = False
        with self.lock:
            for program in self.programs.values():
                program.stop()


def serve(sup: Supervisor) -> None:
    sock_path = sup.workdir / "run" / "supervisor.sock"
    sock_path.unlink(missing_ok=True)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            words = self.rfile.readline().decode(errors="replace").split()
            if not words:
                return
            verb, target = words[0], (words[1] if len(words) > 1 else "app")
            if verb == "status":
                reply = sup.status()
            elif verb == "wait":
                sup.wait_settled()
                reply = sup.status()
            elif verb in ("start", "stop", "restart"):
                reply = sup.control(verb, target)
            else:
                reply = f"error: unknown command {verb!r} (status, start, stop, restart)"
            self.wfile.write(reply.encode() + b"\n")

    server = socketserver.ThreadingUnixStreamServer(str(sock_path), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> int:
    workdir = Path(sys.argv[1]).resolve()
    stopped = set()
    args = sys.argv[2:]
    while args:
        if args[0] == "--stopped" and len(args) > 1:
            stopped.add(args[1])
            args = args[2:]
        elif args[0] == "--kv-port" and len(args) > 1 and args[1].isdigit():
            Kv.port = int(args[1])
            args = args[2:]
        else:
            sys.stderr.write(f"supervisor: unexpected argument {args[0]!r}\n")
            return 2
    sup = Supervisor(workdir, stopped)

    def on_term(*_: object) -> None:
        sup.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    serve(sup)
    sup.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
