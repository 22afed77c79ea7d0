"""The `local` backend: plain processes, one directory, port and process group per incident.

It isolates nothing: commands run on the host as the current user and can touch anything the
user can. It exists for machines without bubblewrap or Docker, and says so wherever it is used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from sre_agent.incidents import pack_of
from sre_agent.sandbox import procs
from sre_agent.sandbox.base import Sandbox
from sre_agent.sandbox.common import KEPT_PROCESSES, SandboxError
from sre_agent.sandbox.procs import pids_where


class LocalSandbox(Sandbox):
    backend = "local"
    enforces: frozenset[str] = frozenset()
    shares_host_network = True
    bounds_workdir = False
    description = "plain processes with their own directory, port and process group: " \
                  "NO isolation (commands run on the host)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.proc: subprocess.Popen[bytes] | None = None

    def _launch(self, supervisor: list[str]) -> None:
        service = pack_of(self.incident)[0].spec.service
        if service.hosts_file or service.tmpfs:
            raise SandboxError(f"pack {self.incident.pack} needs a private /etc/hosts or file "
                               "systems, which the local backend cannot give",
                               "use --sandbox ns (or docker)")
        with (self.workdir / "var" / "log" / "supervisor.log").open("ab") as log:
            self.proc = subprocess.Popen(supervisor, cwd=self.workdir, env=self.shell_env(),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)

    def _state(self) -> dict[str, object]:
        return {"supervisor_pid": self.proc.pid if self.proc else None}

    def _restore(self, state: dict[str, object]) -> None:
        self.attached_pid = int(state["supervisor_pid"])  # type: ignore[arg-type]
        self.proc = KEPT_PROCESSES.pop(self.attached_pid, None)

    attached_pid: int | None = None

    def _pgid(self) -> int | None:
        return self.proc.pid if self.proc is not None else self.attached_pid

    def alive(self) -> bool:
        if self.proc is None:
            return self.attached_pid is not None and Path(f"/proc/{self.attached_pid}").exists()
        return self.proc.poll() is None

    def shell_argv(self) -> list[str]:
        return ["/bin/bash"]

    def connect(self, port: int, timeout: float) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def supervisor_pid(self) -> int | None:
        return self._pgid()

    def listener_supervised(self, port: int) -> bool | None:
        supervisor = self._pgid()
        if supervisor is None:
            return None
        holders = procs.listener_pids(supervisor, port, procs.pids_where(lambda pid: True))
        if not holders:
            return None
        return all(procs.descends_from(pid, supervisor) for pid in holders)

    def leftover_pids(self) -> list[int]:
        """The supervisor's group and every process working in (or naming) the sandbox's
        directory: programs run in sessions of their own, so the group alone misses them."""
        pgid = self._pgid()
        group = pids_where(lambda pid: os.getpgid(pid) == pgid) if pgid is not None else []
        own = os.getpid()
        return sorted({*group, *(p for p in procs.pids_under(self.root) if p != own)})

    def _stop(self) -> None:
        pgid = self._pgid()
        if pgid is None:
            return
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while self.leftover_pids() and time.monotonic() < deadline:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.wait(5)
