"""The sandbox interface: one incident's isolated copy of the target service.

A backend creates the incident's working directory with its fault in place, starts the
service's supervisor inside its isolation, runs commands inside it, opens connections to its
loopback for the verifier, and tears everything down, leaving nothing running.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

from sre_agent import paths
from sre_agent.errors import SreAgentError
from sre_agent.incidents import GroundTruth, Incident, ground_truth, materialize

T = TypeVar("T")

# Process handles of kept sandboxes (left running on purpose): referenced here so they are not
# garbage-collected while running, and handed back to `attach` in the same process.
KEPT_PROCESSES: dict[int, subprocess.Popen[bytes]] = {}

# What a backend can declare it enforces; contract tests assert exactly these.
ISOLATION_PROPERTIES = ("fs", "pid", "net", "caps")


class SandboxError(SreAgentError):
    """A sandbox could not be created, entered or torn down."""


@dataclass
class ExecResult:
    exit_code: int
    output: str
    duration_s: float


@dataclass
class SandboxTimings:
    created_at: float = 0.0
    ready_at: float = 0.0
    torn_down_at: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def runtime_root() -> Path:
    """Where sandbox directories live (outside the project, hidden from other sandboxes)."""
    return Path(os.environ.get("SRE_AGENT_RUNTIME_DIR", "/tmp/sre-agent/sandboxes"))


class Sandbox(ABC):
    """One incident's sandbox. Use `start()` then `teardown()` (or as a context manager)."""

    backend: ClassVar[str]
    enforces: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""
    shares_host_network: ClassVar[bool] = False
    # Variables the *host-side* entering command needs (e.g. where the Docker engine is);
    # they never reach the sandbox's own processes.
    host_env_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, incident: Incident, *, keep: bool = False) -> None:
        self.incident = incident
        self.keep = keep
        self.id = f"{incident.scenario}-{incident.seed}-{secrets.token_hex(3)}"
        self.instance_id = secrets.token_hex(8)
        self.root = runtime_root() / self.id
        self.workdir = self.root / "work"
        self.timings = SandboxTimings()
        self.started = False
        self.torn_down = False

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> Sandbox:
        self.timings.created_at = time.time()
        t0 = time.perf_counter()
        self.workdir.mkdir(parents=True, exist_ok=False)
        materialize(self.incident, self.workdir, python=self.python(),
                    target_dir=self.target_dir())
        (self.root / "incident.json").write_text(self.incident.model_dump_json(indent=1))
        self.timings.phases["materialize_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        try:
            self._launch()
            self.started = True
            self._wait_settled()
        except BaseException:
            self.teardown()
            raise
        self.timings.phases["launch_s"] = time.perf_counter() - t1
        proc = getattr(self, "proc", None)
        if self.keep and proc is not None:
            KEPT_PROCESSES[proc.pid] = proc
        self.save_state()
        self.write_entry_script()
        self.timings.ready_at = time.time()
        return self

    def __enter__(self) -> Sandbox:
        return self.start() if not self.started else self

    def __exit__(self, *exc: object) -> None:
        if not self.keep:
            self.teardown()

    def _wait_settled(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        sock = self.workdir / "run" / "supervisor.sock"
        while not sock.exists():
            if time.monotonic() > deadline or not self.alive():
                raise SandboxError(f"sandbox {self.id}: supervisor did not start",
                                   f"see {self.workdir}/var/log/supervisor.log")
            time.sleep(0.01)
        self.supervisor_request("wait", timeout=timeout)

    def supervisor_request(self, line: str, timeout: float = 20.0) -> str:
        """Talk to the sandbox's supervisor over its Unix socket (not network-namespaced)."""
        sock_path = self.workdir / "run" / "supervisor.sock"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout)
                    sock.connect(str(sock_path))
                    sock.sendall(line.encode() + b"\n")
                    chunks = []
                    while chunk := sock.recv(65536):
                        chunks.append(chunk)
                return b"".join(chunks).decode(errors="replace")
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def write_entry_script(self) -> Path:
        """Write `<root>/shell`: bash inside this sandbox with its clean environment.

        The agent's terminals reach it through the process-wide `SHELL` wrapper
        (`sre_agent.sandbox.guard`). The environment is emptied *before* entering: a process
        that enters (nsenter, setpriv) is visible inside the sandbox while it starts, and its
        environment must hold nothing of the harness's. No `exec` before the entering
        command: an interrupt would kill nsenter and leave the terminal mute.
        """
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.shell_env().items())
        host = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in self.host_env_keys
                        if k in os.environ)
        enter = " ".join(shlex.quote(part) for part in self.shell_argv()[:-1])
        path = self.root / "shell"
        path.write_text(
            "#!/bin/bash\ntrap : INT\nset -m\n"
            f"cd {shlex.quote(str(self.workdir))} || exit 126\n"
            f"/usr/bin/env -i {env} {host} {enter} /usr/bin/env -i {env} /bin/bash \"$@\"\n")
        path.chmod(0o755)
        return path

    def save_state(self) -> None:
        """Record what `attach` needs to find this sandbox again (for --keep-sandbox)."""
        state = {"backend": self.backend, "id": self.id, "instance_id": self.instance_id,
                 "python": self.python(), **self._state()}
        (self.root / "sandbox.json").write_text(json.dumps(state, indent=1))

    def _state(self) -> dict[str, object]:
        return {}

    def _restore(self, state: dict[str, object]) -> None:
        raise SandboxError(f"the {self.backend} backend cannot re-attach to a kept sandbox")

    @classmethod
    def attach(cls, root: Path) -> Sandbox:
        """Re-open a kept sandbox from its directory (to verify or tear it down later)."""
        state = json.loads((root / "sandbox.json").read_text())
        incident = Incident.model_validate_json((root / "incident.json").read_text())
        sandbox = cls(incident, keep=True)
        sandbox.id, sandbox.instance_id = state["id"], state["instance_id"]
        sandbox.root, sandbox.workdir = root, root / "work"
        sandbox.started = True
        sandbox._restore(state)
        return sandbox

    def teardown(self) -> None:
        """Stop every process of the sandbox and remove its directory (unless kept)."""
        if self.torn_down:
            return
        self._stop()
        proc = getattr(self, "proc", None)
        if proc is not None:
            KEPT_PROCESSES.pop(proc.pid, None)
        self.torn_down = True
        self.timings.torn_down_at = time.time()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- what backends provide ---------------------------------------------------------
    def python(self) -> str:
        """The interpreter (with Flask) the service runs under inside the sandbox."""
        return sys.executable

    def target_dir(self) -> Path:
        """Where the service's code is, as seen from inside the sandbox."""
        return paths.target_service_dir()

    @abstractmethod
    def _launch(self) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...

    @abstractmethod
    def alive(self) -> bool: ...

    @abstractmethod
    def shell_argv(self) -> list[str]:
        """argv that starts an interactive bash inside the sandbox, cwd = workdir."""

    @abstractmethod
    def connect(self, port: int, timeout: float) -> socket.socket:
        """A TCP connection to 127.0.0.1:`port` as seen from inside the sandbox."""

    @abstractmethod
    def leftover_pids(self) -> list[int]:
        """Host pids of processes that still belong to this sandbox (empty after teardown)."""

    def exec(self, command: str, timeout: float = 30.0) -> ExecResult:
        """Run a shell command inside the sandbox (cwd = workdir, clean environment)."""
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                [*self.shell_argv(), "-c", command], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                cwd=self.workdir, env=self.shell_env(),
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace")
            return ExecResult(124, out + "\n[timed out]", time.perf_counter() - t0)
        return ExecResult(done.returncode, done.stdout.decode(errors="replace"),
                          time.perf_counter() - t0)

    def shell_env(self) -> dict[str, str]:
        """The only environment commands in the sandbox see (no secrets of the harness)."""
        return {
            "PATH": f"{self.workdir}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                    "/sbin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "TERM": "xterm",
            "SVC_WORKDIR": str(self.workdir),
            "PS1": "incident$ ",
        }

    def ground_truth(self) -> GroundTruth:
        return ground_truth(self.incident, self.workdir, self.connect)

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id, "backend": self.backend, "workdir": str(self.workdir),
            "enforces": sorted(self.enforces), "scenario": self.incident.scenario,
            "seed": self.incident.seed, "service_port": self.incident.service_port,
        }


def pids_where(predicate: Callable[[int], bool]) -> list[int]:
    """Host pids for which `predicate(pid)` holds (processes that vanish are skipped)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if predicate(int(entry)):
                    found.append(int(entry))
            except OSError:
                continue
    return sorted(found)


def processes_under(directory: Path) -> list[str]:
    """`pid: command line` of processes whose cwd or command line is under `directory`
    (what a teardown must leave empty for the runtime directory)."""
    found = []
    for pid in pids_where(lambda pid: True):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd.startswith(str(directory)) or str(directory) in cmd:
            found.append(f"{pid}: {cmd[:120]}")
    return found


def which(name: str) -> str | None:
    return shutil.which(name)


class _Spawner:
    """Starts sandbox processes from one long-lived thread.

    Linux ties a parent-death signal (bubblewrap's `--die-with-parent`) to the *thread* that
    forked the child: a sandbox started from a short-lived worker thread would be killed when
    that thread ends. Spawning from a thread that lives as long as the process avoids that.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[], object], Future[object]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        while True:
            fn, fut = self._queue.get()
            try:
                fut.set_result(fn())
            except BaseException as exc:  # delivered to the caller
                fut.set_exception(exc)

    def call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-spawner",
                                                daemon=True)
                self._thread.start()
        fut: Future[object] = Future()
        self._queue.put((fn, fut))
        return fut.result()  # type: ignore[return-value]


spawner = _Spawner()
