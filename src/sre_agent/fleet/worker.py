"""A remote worker: an OpenHands agent-server that runs incidents for `sre-agent fanout`.

`Worker.start()` launches the agent-server (through `sre_agent.fleet.worker_server`, which registers
our security analyzer first) as a plain child process in its own process group: loopback
unless explicitly allowed otherwise, a session API key always required, tool preloading,
VS Code and the browser off, its state under the worker's directory, and `SHELL` pointing at
the sandbox guard so every terminal it opens enters an incident sandbox. The child also gets
a parent-death signal, so it cannot outlive the worker process.

Incident sandboxes on a worker are created by harness commands the orchestrator sends through
the agent-server (`python -m sre_agent.cli.sandbox create ...`). They are kept sandboxes (they
outlive that short command), so each one is recorded under the worker's directory; the worker
tears down what it recorded when it stops, and again at start-up (a crashed worker's leftovers).
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sre_agent import paths
from sre_agent.errors import SreAgentError, UsageError
from sre_agent.net import free_port, is_loopback
from sre_agent.sandbox import attach_sandbox
from sre_agent.sandbox.guard import universal_wrapper
from sre_agent.sandbox.reaper import OWNER_ENV

logger = logging.getLogger(__name__)

API_KEY_ENV = "SRE_AGENT_WORKER_API_KEY"
WORKER_DIR_ENV = "SRE_AGENT_WORKER_DIR"  # set for the agent-server: where sandboxes are recorded
PYTHON_ENV = "SRE_AGENT_PYTHON"  # the interpreter harness commands on the worker should use
READY_TIMEOUT_S = 180.0  # a loaded 2-core machine took over 60 s to import the SDK twice
_PR_SET_PDEATHSIG = 1


class WorkerError(SreAgentError):
    """The agent-server of a worker could not be started or stopped."""


@dataclass(frozen=True)
class WorkerConfig:
    """A checked worker configuration (build it with `worker_config`)."""

    host: str
    port: int
    api_key: str
    workdir: Path
    generated_key: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def worker_config(host: str = "127.0.0.1", port: int | None = None, api_key: str | None = None,
                  workdir: Path | None = None, *, allow_remote: bool = False) -> WorkerConfig:
    """Check the worker's options; a missing key is generated (`generated_key=True`)."""
    host = host.strip()
    if not host:
        raise UsageError("--host must not be empty")
    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"--host {host} is not a loopback address",
                         "a worker runs agent commands on request: pass --allow-remote to "
                         "bind beyond this machine")
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"--port {port} is out of range (1-65535)")
    key = (api_key or "").strip() or (os.environ.get(API_KEY_ENV) or "").strip()
    generated = not key
    if generated:
        key = secrets.token_urlsafe(24)
    elif len(key) < 16:
        raise UsageError("the worker API key is too short (at least 16 characters)")
    port = port or free_port(host)
    base = workdir or paths.artifacts_dir() / "workers" / f"{host.strip('[]')}-{port}"
    return WorkerConfig(host=host, port=port, api_key=key, workdir=Path(base).absolute(),
                        generated_key=generated)


def _die_with_parent() -> None:  # runs in the child between fork and exec: no imports here
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_alive(url: str, timeout: float = READY_TIMEOUT_S, *, proc: subprocess.Popen[bytes]
               | None = None) -> float:
    """Poll `GET /alive` until it answers 200; returns the seconds it took."""
    import httpx  # lazy: ~0.25 s; every `sandbox` harness command on a worker loads this module

    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise WorkerError(f"the agent-server exited with code {proc.returncode} "
                              "before it was ready")
        try:
            if httpx.get(f"{url}/alive", timeout=2.0).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise WorkerError(f"the agent-server did not answer {url}/alive within {timeout:g}s")


class Worker:
    """One running agent-server child process (start, wait, stop)."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s: float | None = None
        self.reaped_at_start: list[str] = []

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def log_path(self) -> Path:
        return self.config.workdir / "agent-server.log"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in list(env):  # no other session keys leak in from the caller
            if name.startswith("OH_SESSION_API_KEYS_") or name in ("SESSION_API_KEY",
                                                                   API_KEY_ENV):
                env.pop(name)
        env.update({
            "OH_SESSION_API_KEYS_0": self.config.api_key,
            "OH_PRELOAD_TOOLS": "false", "OH_ENABLE_VSCODE": "false",
            "OH_ENABLE_BROWSER": "false",
            "SHELL": str(universal_wrapper()),
            OWNER_ENV: str(os.getpid()),  # its sandboxes are reaped if it dies
            WORKER_DIR_ENV: str(self.config.workdir),
            PYTHON_ENV: sys.executable,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENHANDS_SUPPRESS_BANNER": "1",
        })
        return env

    def start(self, timeout: float = READY_TIMEOUT_S) -> Worker:
        """Reap a previous run's sandboxes, launch the agent-server, wait for `/alive`."""
        workdir = self.config.workdir
        (workdir / "server").mkdir(parents=True, exist_ok=True)
        self.reaped_at_start = reap_sandboxes(workdir)
        argv = [sys.executable, "-m", "sre_agent.fleet.worker_server",
                "--host", self.config.host, "--port", str(self.config.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=workdir / "server", env=self._env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        try:
            self.ready_s = wait_alive(self.url, timeout, proc=self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def wait(self, poll_s: float = 0.5) -> int:
        """Block until the agent-server exits; returns its exit code."""
        if self.proc is None:
            return 0
        while True:
            try:
                return self.proc.wait(poll_s)
            except subprocess.TimeoutExpired:
                continue

    def stop(self, grace_s: float = 10.0) -> list[str]:
        """Stop the agent-server's process group, then tear down the sandboxes it created."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None:
            try:  # whatever is left of its group (the server is gone or did not listen)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
        return reap_sandboxes(self.config.workdir)


# ---- sandboxes owned by a worker -------------------------------------------------------------

def _owned_dir(workdir: Path) -> Path:
    return workdir / "sandboxes"


def record_sandbox(sandbox_id: str, root: Path, workdir: Path | None = None) -> None:
    """Note that this worker created a kept sandbox (no-op outside a worker)."""
    base = workdir or (Path(os.environ[WORKER_DIR_ENV]) if os.environ.get(WORKER_DIR_ENV)
                       else None)
    if base is None:
        return
    owned = _owned_dir(base)
    owned.mkdir(parents=True, exist_ok=True)
    (owned / sandbox_id).write_text(str(root))


def forget_sandbox(sandbox_id: str) -> None:
    if os.environ.get(WORKER_DIR_ENV):
        (_owned_dir(Path(os.environ[WORKER_DIR_ENV])) / sandbox_id).unlink(missing_ok=True)


def destroy_sandbox(ref: str) -> dict[str, object]:
    """Tear down a kept sandbox by id or directory; returns what was left running (nothing)."""
    sandbox = attach_sandbox(ref)
    sandbox.keep = False
    sandbox.teardown()
    forget_sandbox(sandbox.id)
    return {"sandbox": sandbox.id, "leftover_pids": sandbox.leftover_pids()}


def reap_sandboxes(workdir: Path) -> list[str]:
    """Tear down every sandbox recorded under a worker's directory; returns their ids."""
    owned = _owned_dir(workdir)
    if not owned.is_dir():
        return []
    reaped = []
    for entry in sorted(owned.iterdir()):
        root = Path(entry.read_text().strip() or entry.name)
        try:
            if (root / "sandbox.json").exists():
                destroy_sandbox(str(root))
                reaped.append(entry.name)
        except (SreAgentError, OSError, ValueError, KeyError) as exc:
            logger.warning("could not tear down sandbox %s: %s", entry.name, exc)
            continue
        entry.unlink(missing_ok=True)
    for entry in owned.iterdir():  # records of sandboxes already gone
        root = Path(entry.read_text().strip())
        if not (root / "sandbox.json").exists():
            entry.unlink(missing_ok=True)
    return reaped


__all__ = ["API_KEY_ENV", "PYTHON_ENV", "WORKER_DIR_ENV", "Worker", "WorkerConfig",
           "WorkerError", "destroy_sandbox", "forget_sandbox", "reap_sandboxes",
           "record_sandbox", "wait_alive", "worker_config"]
