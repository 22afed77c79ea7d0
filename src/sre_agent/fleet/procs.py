"""Local worker processes: one fan-out's incidents spread over this machine's cores.

Each incident's conversation, verifier and bookkeeping run as Python threads of the process
that runs it, so one process is bounded by one core (the GIL) long before the machine is: at
concurrency 32 with simulated LLM latency the orchestrator alone kept a core busy. With
`procs` > 1 the fan-out keeps a share of its concurrency for itself and starts `procs - 1`
queue workers (`sre-agent worker --queue URL --jobs FANOUT_ID`) on the same durable queue,
each with its share. They claim under leases like any queue worker, so everything the
queue guarantees holds (one result per incident, reclaim when a holder dies); each watches
its parent and stops, giving back what it runs, when the fan-out process is gone.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PER_PROC = 8  # incidents in flight per process before another process pays for itself
STOP_WAIT_S = 60.0
READY_WAIT_S = 60.0  # a worker process that takes longer to import is not waited for


def auto_procs(concurrency: int, cpus: int | None = None) -> int:
    """Processes for a fan-out: one per core, but never under PER_PROC incidents each."""
    cores = cpus or os.cpu_count() or 1
    return max(1, min(cores, concurrency // PER_PROC))


def shares(concurrency: int, procs: int) -> list[int]:
    """The concurrency of each process (the first is the fan-out's own), as even as can be."""
    procs = max(1, min(procs, concurrency))
    base, extra = divmod(concurrency, procs)
    return [base + (1 if i < extra else 0) for i in range(procs)]


@dataclass
class WorkerProcs:
    """Queue worker processes started for one fan-out; `stop()` ends them (SIGTERM: they give
    back what they run) and waits."""

    queue_url: str
    job_id: str
    slots: list[int]
    lease_s: float | None = None
    log_dir: Path | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _ready: list[int] = field(default_factory=list)  # read ends: "ready" once warmed up

    def start(self) -> None:
        for n, slots in enumerate(self.slots, start=2):
            ready_r, ready_w = os.pipe()
            argv = [sys.executable, "-m", "sre_agent.cli.main", "worker", "--queue",
                    self.queue_url, "--slots", str(slots), "--jobs", self.job_id,
                    "--name", f"local-{n}", "--parent-pid", str(os.getpid()),
                    "--ready-fd", str(ready_w)]
            if self.lease_s:
                argv += ["--lease-s", str(self.lease_s)]
            log = subprocess.DEVNULL
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.job_id)  # a file name, never a path
                log = open(self.log_dir / f"{name}-local-{n}.log", "ab")  # noqa: SIM115
            try:
                self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                                   stdout=log, stderr=log,
                                                   pass_fds=(ready_w,)))
                self._ready.append(ready_r)
            except BaseException:
                os.close(ready_r)
                raise
            finally:
                os.close(ready_w)
                if log is not subprocess.DEVNULL:
                    log.close()

    def wait_ready(self, timeout_s: float = READY_WAIT_S) -> int:
        """Wait until every process has warmed up (imported the SDK), died, or `timeout_s`
        passed; returns how many are ready. The fan-out calls this before its first dispatch,
        so all its processes start claiming together instead of one ~4 s after the other."""
        ready = 0
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            for fd in self._ready:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map() and (left := deadline - time.monotonic()) > 0:
                for key, _ in sel.select(left):
                    data = os.read(key.fd, 64)  # b"ready\n", or b"" when it died first
                    ready += bool(data)
                    sel.unregister(key.fd)
        for fd in self._ready:
            os.close(fd)
        self._ready.clear()
        return ready

    def stop(self, wait_s: float = STOP_WAIT_S) -> list[int]:
        """Ask every process to stop, wait for it; returns their exit codes."""
        for fd in self._ready:
            os.close(fd)
        self._ready.clear()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=wait_s))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes


__all__ = ["WorkerProcs", "auto_procs", "shares"]
