"""One program the sandbox's supervisor runs (`supervisor.py`): start, readiness, liveness,
crash loop, stop, status line. Runs *inside* the sandbox (stdlib only; never imports
sre_agent), imported by the supervisor from this directory.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

STARTRETRIES = 3
CRASH_WINDOW_S = 10.0
STOP_GRACE_S = 3.0
WAITING_READ_BYTES = 65536  # of a program's log since its start, for its `waiting` pattern


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return env
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip("'\"")
    return env


def log_line(workdir: Path, message: str) -> None:
    with (workdir / "var" / "log" / "supervisor.log").open("a") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {message}\n")


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Program:
    def __init__(self, workdir: Path, spec: dict) -> None:
        self.workdir = workdir
        self.spec = spec
        self.name = spec["name"]
        self.log_path = workdir / (spec.get("log") or f"var/log/{self.name}.log")
        self.desired = not spec.get("stopped", False)
        self.state = "STOPPED"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self.exits: collections.deque[float] = collections.deque(maxlen=STARTRETRIES)
        self.last_exit: int | None = None
        self.port: int | None = None
        self.log_mark = 0  # the log's size when the program was last started
        self.said_waiting = False

    def env(self) -> dict[str, str]:
        env = dict(self.spec.get("base_env") or {})
        env.update(self.spec.get("env") or {})
        if self.spec.get("env_file"):
            env.update(read_env_file(self.workdir / self.spec["env_file"]))
        return env

    def _ready_port(self) -> int | None:
        ready = self.spec.get("ready") or {}
        if ready.get("port"):
            return int(ready["port"])
        source = ready.get("tcp_from")
        if source:
            try:
                text = (self.workdir / source["file"]).read_text(errors="replace")
            except OSError:
                return None
            match = re.search(source["regex"], text, re.MULTILINE)
            return int(match.group(1)) if match and match.group(1).isdigit() else None
        return None

    def tuning(self, env: dict[str, str], key: str, default: float | None) -> float | None:
        """A supervision setting: the pack's default, or SUPERVISOR_<KEY> from the env file."""
        raw = env.get(f"SUPERVISOR_{key}")
        try:
            return float(raw) if raw not in (None, "") else default
        except ValueError:
            return default

    def spawn(self) -> None:
        self.port = self._ready_port()
        env = self.env()
        nofile = self.tuning(env, "NOFILE", self.spec.get("nofile"))
        memory = self.tuning(env, "MEMORY_MB", self.spec.get("memory_mb"))
        live = self.spec.get("liveness")
        if live:
            self.live = {**live,
                         "initial_delay_s": self.tuning(env, "LIVENESS_DELAY_S",
                                                        live["initial_delay_s"]),
                         "period_s": self.tuning(env, "LIVENESS_PERIOD_S", live["period_s"]),
                         "failures": self.tuning(env, "LIVENESS_FAILURES", live["failures"])}
        self.ready_timeout = self.tuning(env, "READY_TIMEOUT_S",
                                         (self.spec.get("ready") or {}).get("timeout_s", 5.0))
        self.misses = 0
        self.next_check = 0.0

        def limits() -> None:  # in the child, before exec: soft limits only (fixable later)
            if nofile:
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                soft = int(nofile) if hard == resource.RLIM_INFINITY else min(int(nofile), hard)
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            if memory:
                hard = resource.getrlimit(resource.RLIMIT_AS)[1]
                want = int(memory) * 1024 * 1024
                soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.log_mark = os.fstat(log.fileno()).st_size
            self.said_waiting = False
            self.proc = subprocess.Popen(
                self.spec["command"], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True,
                preexec_fn=limits if (nofile or memory) else None)
        self.started_at = time.monotonic()
        self.state = "STARTING"

    def waiting(self) -> bool:
        """STARTING, and its log since its start says it waits for a dependency (the pack's
        `ready.waiting`). The log is in the workdir: read only if it is a regular file (a FIFO
        or device put there must not block the supervisor), at most WAITING_READ_BYTES."""
        pattern = (self.spec.get("ready") or {}).get("waiting")
        if not pattern or self.state != "STARTING" or self.proc is None:
            return False
        if not self.said_waiting:
            try:
                fd = os.open(self.log_path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            except OSError:
                return False
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return False
                os.lseek(fd, self.log_mark, os.SEEK_SET)
                text = os.read(fd, WAITING_READ_BYTES).decode(errors="replace")
            except OSError:
                return False
            finally:
                os.close(fd)
            self.said_waiting = re.search(pattern, text, re.MULTILINE) is not None
        return self.said_waiting

    def alive_probe(self) -> bool:
        import http.client  # here: ~40 ms of CPU, and most sandboxes have no HTTP probe
        live = self.live
        try:
            if live.get("path"):
                conn = http.client.HTTPConnection("127.0.0.1", live["port"],
                                                  timeout=live["timeout_s"])
                try:
                    conn.request("GET", live["path"])
                    return conn.getresponse().status < 400
                finally:
                    conn.close()
            with socket.create_connection(("127.0.0.1", live["port"]),
                                          timeout=live["timeout_s"]):
                return True
        except (OSError, http.client.HTTPException):
            return False

    def check_liveness(self, now: float) -> None:
        """A RUNNING program whose liveness probe misses `failures` times is restarted."""
        live = getattr(self, "live", None)
        if not live or self.proc is None or self.state != "RUNNING":
            return
        if now - self.started_at < live["initial_delay_s"] or now < self.next_check:
            return
        self.next_check = now + live["period_s"]
        if self.alive_probe():
            self.misses = 0
            return
        self.misses += 1
        if self.misses >= live["failures"]:
            log_line(self.workdir, f"{self.name}: liveness probe failed {self.misses} times; "
                                   "restarting")
            proc = self.proc
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.desired = False
        proc, self.proc = self.proc, None
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.state = "STOPPED"

    def ready(self, alive_for: float) -> bool:
        """RUNNING means serving: alive past `after_s` and accepting on its port (a slow start
        still counts after `timeout_s`, so status never hangs in STARTING)."""
        ready = self.spec.get("ready") or {}
        if alive_for < float(ready.get("after_s", 0.3)):
            return False
        timeout = getattr(self, "ready_timeout", None) or float(ready.get("timeout_s", 5.0))
        if self.port is None or alive_for >= timeout:
            return True
        return accepting(self.port)

    def tick(self, now: float) -> None:
        if self.proc is not None:
            code = self.proc.poll()
            if code is None:
                if self.state == "STARTING" and self.ready(now - self.started_at):
                    self.state = "RUNNING"
                self.check_liveness(now)
                return
            self.proc = None
            self.last_exit = code
            self.exits.append(now)
            if not self.desired:
                self.state = "STOPPED"
            elif not self.spec.get("restart", True):
                self.state = "EXITED"
            elif len(self.exits) == STARTRETRIES and now - self.exits[0] <= CRASH_WINDOW_S:
                self.state = "FATAL"
            else:
                self.state = "BACKOFF"
                self.next_start = now + 0.1 * len(self.exits)
        elif self.desired and self.state in ("BACKOFF", "STOPPED") and now >= self.next_start:
            self.spawn()

    def status_line(self, now: float, width: int) -> str:
        parts = [f"{self.name:<{width}}", f"{self.state:<8}"]
        if self.proc is not None and self.state in ("RUNNING", "STARTING"):
            parts.append(f"pid {self.proc.pid}")
            parts.append(f"uptime {now - self.started_at:.0f}s")
        if self.last_exit is not None:
            parts.append(f"last exit {self.last_exit}")
        if self.state == "FATAL":
            parts.append(f"(exited {STARTRETRIES} times in {CRASH_WINDOW_S:.0f}s: crash loop; "
                         f"see svc logs {self.name})")
        return "  ".join(parts)
