"""The sandbox interface: one incident's isolated copy of its pack's service.

A backend starts the service's supervisor inside its isolation, runs commands inside it,
opens connections to its loopback for the verifier, tells who listens on a port, and tears
everything down, leaving nothing running. The start sequence over the pack (workdir, fault,
fingerprints) is the same for every backend (`boot.py`).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from sre_agent.incidents import (
    GroundTruth,
    Incident,
    fingerprint,
    ground_truth,
    materialize,
    pack_of,
    values_for,
)
from sre_agent.incidents.templates import Values
from sre_agent.incidents.truth import CheckContext
from sre_agent.incidents.verifier import Verdict, VerifySettings, verify
from sre_agent.sandbox import boot, procs
from sre_agent.sandbox.common import (
    KEPT_PROCESSES,
    ExecResult,
    SandboxError,
    SandboxTimings,
    runtime_root,
)
from sre_agent.sandbox.limits import bound_workdir, release_workdir
from sre_agent.sandbox.process import DEFAULT_MAX_BYTES, Bounded, run_bounded
from sre_agent.sandbox.reaper import write_owner


class Sandbox(ABC):
    """One incident's sandbox. Use `start()` then `teardown()` (or as a context manager)."""

    backend: ClassVar[str]
    enforces: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""
    shares_host_network: ClassVar[bool] = False
    # Variables the *host-side* entering command needs (e.g. where the Docker engine is);
    # they never reach the sandbox's own processes.
    host_env_keys: ClassVar[tuple[str, ...]] = ()
    # The working directory is a size-bounded tmpfs where that can be mounted (limits.py);
    # not for the backend that isolates nothing anyway.
    bounds_workdir: ClassVar[bool] = True

    def __init__(self, incident: Incident, *, keep: bool = False, inject: bool = True) -> None:
        self.incident = incident
        self.keep = keep
        self.inject = inject  # False: the healthy service, no fault (scenario validation)
        if not inject:
            self.incident.stopped_programs = []
        self.id = f"{incident.scenario}-{incident.seed}-{secrets.token_hex(3)}"
        self.instance_id = secrets.token_hex(8)
        self.root = runtime_root() / self.id
        self.workdir = self.root / "work"
        self.timings = SandboxTimings()
        self.started = False
        self.torn_down = False
        self.workdir_limit = "not started"
        # The longest `start all` waits for the programs to settle; None: until every one is
        # settled (the supervisor's own bound). Only the triage command sets it: it looks as
        # soon as the fault is live, a program in its start-up wait still STARTING.
        self.settle_wait_s: float | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> Sandbox:
        self.timings.created_at = time.time()
        t0 = time.perf_counter()
        self.workdir.mkdir(parents=True, exist_ok=False)
        write_owner(self.root, kept=self.keep)  # before anything that could leave debris
        self.workdir_limit = (bound_workdir(self.workdir) if self.bounds_workdir
                              else "unbounded: this backend isolates nothing")
        values = self.values()
        materialize(self.incident, self.workdir, values)
        boot.write_svc(self)
        self.timings.phases["materialize_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        try:
            self._launch(boot.supervisor_argv(self, values))
            self.started = True
            self._wait_socket()
            self.save_state()
            self.write_entry_script()
            self._inject(values)
        except BaseException:
            self.teardown()
            raise
        self.timings.phases["launch_s"] = time.perf_counter() - t1
        proc = getattr(self, "proc", None)
        if self.keep and proc is not None:
            KEPT_PROCESSES[proc.pid] = proc
        (self.root / "incident.json").write_text(self.incident.model_dump_json(indent=1))
        self.timings.ready_at = time.time()
        return self

    def _inject(self, values: Values) -> None:
        """Prepare, fault, start, fingerprint: see `boot.py`."""
        pack, spec = pack_of(self.incident)
        ctx = self.check_context(values)
        for action in pack.spec.service.prepare:
            boot.apply(self, action, values, "pack preparation")
        fingerprint(self.incident, ctx, "before_fault")
        faults = spec.fault if self.inject else []
        for action in faults:
            if action.phase == "prepare":
                boot.apply(self, action, values, "fault")
        self.supervisor_request("start all" if self.settle_wait_s is None
                                else f"start all {self.settle_wait_s:g}", timeout=30.0)
        for action in faults:
            if action.phase == "live":
                boot.apply(self, action, values, "fault")
        fingerprint(self.incident, ctx, "after_fault")

    def __enter__(self) -> Sandbox:
        return self.start() if not self.started else self

    def __exit__(self, *exc: object) -> None:
        if not self.keep:
            self.teardown()

    def _wait_socket(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        sock = self.workdir / "run" / "supervisor.sock"
        while not sock.exists():
            if time.monotonic() > deadline or not self.alive():
                raise SandboxError(f"sandbox {self.id}: supervisor did not start",
                                   f"see {self.workdir}/var/log/supervisor.log")
            time.sleep(0.01)
        self.supervisor_request("status", timeout=timeout)

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
        sandbox.workdir_limit = ("a bounded tmpfs (since it started)"
                                 if os.path.ismount(sandbox.workdir) else "unbounded")
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
            release_workdir(self.workdir)
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- what backends provide ---------------------------------------------------------
    def python(self) -> str:
        """The interpreter the services run under inside the sandbox (with Flask: webstack)."""
        return sys.executable

    def values(self) -> Values:
        """What the pack's templates resolve to in this sandbox."""
        return values_for(self.incident, workdir=self.workdir, python=self.python(),
                          instance=self.instance_id)

    @abstractmethod
    def _launch(self, supervisor: list[str]) -> None:
        """Start `supervisor` (argv) inside the isolation, as the sandbox's first program."""

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

    def exec_raw(self, command: str, timeout: float = 30.0, *,
                 env: dict[str, str] | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> Bounded:
        """Run a shell command inside the sandbox (cwd = workdir, clean environment): its
        output as bytes, capped at `max_bytes`, its whole process group killed at the deadline
        (`timeout`: the command's own time; a backend adds what entering costs it)."""
        return run_bounded([*self.shell_argv(), "-c", command], timeout=timeout,
                           max_bytes=max_bytes, cwd=str(self.workdir),
                           env=env or self.shell_env())

    def exec(self, command: str, timeout: float = 30.0, *,
             env: dict[str, str] | None = None) -> ExecResult:
        """`exec_raw` as text, with its cap and deadline said in the output."""
        done = self.exec_raw(command, timeout, env=env)
        output = done.output.decode(errors="replace")
        if done.truncated:
            output += "\n[output truncated]"
        if done.timed_out:
            output += "\n[timed out]"
        return ExecResult(done.exit_code, output, done.duration_s)

    def run_inside(self, command: str, timeout: float) -> tuple[int, str]:
        """A harness check inside the sandbox: the system's tools only (the workdir's `bin/`,
        which the agent can change, is not on PATH)."""
        env = {**self.shell_env(), "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                           "/usr/bin:/sbin:/bin"}
        done = self.exec(command, timeout, env=env)
        return done.exit_code, done.output

    def supervisor_pid(self) -> int | None:
        """Host pid of the sandbox's supervisor (the ancestor of every program it starts)."""
        return None

    def listener_supervised(self, port: int) -> bool | None:
        """Whether what listens on `port` inside the sandbox was started by its supervisor
        (False: an impostor; None: this backend cannot tell)."""
        supervisor = self.supervisor_pid()
        if supervisor is None:
            return None
        holders = procs.listener_pids(supervisor, port, self.leftover_pids())
        if not holders:
            return None  # nobody listens: the probe itself fails
        return all(procs.descends_from(pid, supervisor) for pid in holders)

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

    def check_context(self, values: Values | None = None) -> CheckContext:
        return CheckContext(workdir=self.workdir, incident=self.incident,
                            values=values or self.values(), connect=self.connect,
                            run=self.run_inside)

    def ground_truth(self) -> GroundTruth:
        return ground_truth(self.incident, self.check_context())

    def verify(self, settings: VerifySettings | None = None) -> Verdict:
        """The verifier gate on this sandbox (its templates: its instance, ports, workdir)."""
        values = self.values()
        return verify(self, settings, render=lambda obj: values.render_obj(obj, "probe"))

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id, "backend": self.backend, "workdir": str(self.workdir),
            "enforces": sorted(self.enforces), "scenario": self.incident.scenario,
            "seed": self.incident.seed, "service_port": self.incident.service_port,
            "pack": self.incident.pack, "ports": self.incident.ports,
            "workdir_limit": self.workdir_limit,
        }
