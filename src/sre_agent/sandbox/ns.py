"""The `ns` backend: bubblewrap + Linux namespaces, no Docker needed.

Inside: a minimal read-only `/` (the system, the interpreter and the service's code; host
secrets masked; nothing of the harness: see docs/security.md), the incident's workdir writable
(bind-mounted at the same path), private `/tmp`, `/var` and `/run`, its own network namespace
(only `lo`: every incident can serve 127.0.0.1:8080 and nothing reaches out), its own
pid/ipc/uts namespaces, all capabilities dropped and no new privileges, and an environment
that holds nothing of the harness's (bubblewrap itself starts from an empty one). Commands
enter with `nsenter --wdns` (the workdir resolved inside: a host-side working directory would
make `..` the host's) + `setpriv`.
The harness reaches the service by creating sockets inside the namespace (`setns` in a
short-lived thread), which needs root (CAP_SYS_ADMIN); without it the backend says so.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sre_agent.incidents import pack_of
from sre_agent.sandbox import boot
from sre_agent.sandbox.base import Sandbox
from sre_agent.sandbox.common import KEPT_PROCESSES, SandboxError
from sre_agent.sandbox.limits import Limits, apply_limits
from sre_agent.sandbox.procs import connect_in_netns, parent_of, pids_where, spawner, which

BWRAP_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# The system the sandbox sees, read-only. Everything else of the host (home directories, the
# project and its `.env`, other incidents and the harness's control files, /var, /run and
# their sockets, /sys, /mnt, ...) is simply not there: isolation by construction.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
PRIVATE_DIRS = ("/tmp", "/var", "/run")  # empty, writable, private to the sandbox
# Secrets of the host that live in /etc: masked even though /etc is read-only.
MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                "/etc/sudoers", "/etc/security/opasswd", "/etc/.pwd.lock")
MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
ENTER_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
              "--no-new-privs", "--"]


def _under(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent)
        return True
    except ValueError:
        return False


def root_filesystem(read_only: list[Path]) -> list[str]:
    """bubblewrap arguments for the sandbox's `/`: the system read-only, a private /tmp,
    /var and /run, fresh /dev and /proc, host secrets masked, then `read_only` paths (the
    interpreter, the service's code) bound read-only at the same place."""
    argv: list[str] = []
    for top in SYSTEM_DIRS:
        if os.path.islink(top):  # merged /usr: /bin -> usr/bin
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    for private in PRIVATE_DIRS:
        argv += ["--tmpfs", private]
    argv += ["--dir", "/var/tmp", "--dir", "/var/log", "--dir", "/var/lib",
             "--symlink", "../run", "/var/run"]
    for masked in MASKED_FILES:
        if os.path.lexists(masked):
            argv += ["--ro-bind", "/dev/null", masked]
    for masked in MASKED_DIRS:
        if os.path.isdir(masked):
            argv += ["--tmpfs", masked]
    chosen: list[Path] = []
    for path in sorted({p.resolve() for p in read_only if p.exists()}):
        if any(_under(path, Path(top)) for top in SYSTEM_DIRS if not os.path.islink(top)):
            continue  # already there
        if any(_under(path, done) for done in chosen):
            continue  # inside a directory bound already
        chosen.append(path)
        argv += ["--ro-bind", str(path), str(path)]
    return argv


class NsSandbox(Sandbox):
    backend = "ns"
    enforces = frozenset({"fs", "pid", "net", "caps"})
    description = "bubblewrap + namespaces: read-only /, own network and pid namespace, no caps"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.proc: subprocess.Popen[bytes] | None = None
        self.child_pid: int | None = None
        self.pidns: str | None = None
        self.limits: Limits | None = None

    def _bwrap_argv(self, info_fd: int, supervisor: list[str]) -> list[str]:
        argv = ["bwrap", *root_filesystem(self.read_only_paths()),
                "--bind", str(self.workdir), str(self.workdir), *self._private_mounts(),
                "--chdir", str(self.workdir),
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--hostname", "incident", "--cap-drop", "ALL"]
        argv += ["--info-fd", str(info_fd)]
        if not self.keep:
            argv.append("--die-with-parent")
        argv += ["--clearenv"]
        for key, value in self.shell_env().items():
            argv += ["--setenv", key, value]
        return [*argv, *supervisor]

    def _private_mounts(self) -> list[str]:
        """The pack's own /etc/hosts (a workdir file) and small private file systems."""
        service = pack_of(self.incident)[0].spec.service
        argv: list[str] = []
        if service.hosts_file:
            argv += ["--bind", str(self.workdir / service.hosts_file), "/etc/hosts"]
        for fs in service.tmpfs:
            (self.workdir / fs.path).mkdir(parents=True, exist_ok=True)
            argv += ["--size", str(fs.size_mb * 1024 * 1024), "--tmpfs",
                     str(self.workdir / fs.path)]
        return argv

    def read_only_paths(self) -> list[Path]:
        """What the service needs from the host besides the system: the interpreter, the
        pack (its programs) and the supervisor."""
        return [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
                Path(self.incident.pack_root), boot.INSIDE_DIR]

    def _launch(self, supervisor: list[str]) -> None:
        read_fd, write_fd = os.pipe()
        log = (self.workdir / "var" / "log" / "supervisor.log").open("ab")
        try:
            argv = self._bwrap_argv(write_fd, supervisor)
            # bubblewrap's own init (pid 1 inside) keeps the environment it was started
            # with (--clearenv cleans only its child): start it from an empty one.
            self.proc = spawner.call(lambda: subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(write_fd,), start_new_session=True, env=dict(BWRAP_ENV),
            ))
        finally:
            os.close(write_fd)
            log.close()
        self.child_pid = self._read_child_pid(read_fd)
        self.pidns = os.readlink(f"/proc/{self.child_pid}/ns/pid")
        # The sandbox's first process is still the supervisor's parent: everything it starts
        # from now on inherits these cgroups (best effort; reported in describe()).
        self.limits = apply_limits(self.id, self.child_pid)

    def _state(self) -> dict[str, object]:
        return {"bwrap_pid": self.proc.pid if self.proc else None, "child_pid": self.child_pid,
                "pidns": self.pidns,
                "cgroups": [str(p) for p in self.limits.paths] if self.limits else []}

    def _restore(self, state: dict[str, object]) -> None:
        self.child_pid = int(state["child_pid"])  # type: ignore[arg-type]
        self.proc = KEPT_PROCESSES.pop(int(state.get("bwrap_pid") or 0), None)  # type: ignore[arg-type]
        self.pidns = str(state["pidns"])
        cgroups = state.get("cgroups") or []
        self.limits = Limits(paths=[Path(p) for p in cgroups])  # type: ignore[union-attr]
        try:
            alive = os.readlink(f"/proc/{self.child_pid}/ns/pid") == self.pidns
        except OSError:
            alive = False
        self._attached_alive = alive

    def _read_child_pid(self, read_fd: int, timeout: float = 10.0) -> int:
        buf = b""
        deadline = time.monotonic() + timeout
        os.set_blocking(read_fd, False)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(read_fd, 4096)
                except BlockingIOError:
                    chunk = None
                if chunk:
                    buf += chunk
                    try:
                        return int(json.loads(buf)["child-pid"])
                    except (ValueError, KeyError):
                        pass
                elif chunk == b"" or (self.proc and self.proc.poll() is not None):
                    break
                time.sleep(0.002)
        finally:
            os.close(read_fd)
        raise SandboxError(
            f"bubblewrap did not start the sandbox {self.id}",
            f"see {self.workdir}/var/log/supervisor.log; `sre-agent doctor` checks the ns backend")

    _attached_alive = False

    def alive(self) -> bool:
        if self.proc is None:  # attached to a kept sandbox started by another process
            return self._attached_alive and self.child_pid is not None and \
                Path(f"/proc/{self.child_pid}").exists()
        return self.proc.poll() is None

    def shell_argv(self) -> list[str]:
        if self.child_pid is None:
            raise SandboxError(f"sandbox {self.id} is not running")
        argv = ["nsenter", "-t", str(self.child_pid), "--net", "--mount", "--pid", "--uts",
                "--ipc", f"--wdns={self.workdir}", *ENTER_CAPS, "/bin/bash"]
        procs = [p / "cgroup.procs" for p in self.limits.paths] if self.limits else []
        if procs:  # nsenter keeps the caller's cgroups: join the sandbox's limits first
            join = "; ".join(f"echo $$ > {shlex.quote(str(p))}" for p in procs)
            argv = ["/bin/sh", "-c", f'{{ {join}; }} 2>/dev/null; exec "$@"', "sh", *argv]
        return argv

    def connect(self, port: int, timeout: float) -> socket.socket:
        if self.child_pid is None or not self.alive():
            raise ConnectionRefusedError(f"sandbox {self.id} is not running")
        return connect_in_netns(self.child_pid, port, timeout)

    def supervisor_pid(self) -> int | None:
        """The supervisor: the child of the sandbox's init (pid 1 inside) it started."""
        if self.child_pid is None:
            return None
        if getattr(self, "_supervisor", None) is None:
            children = pids_where(lambda pid: parent_of(pid) == self.child_pid)
            self._supervisor = children[0] if children else None
        return self._supervisor

    def leftover_pids(self) -> list[int]:
        if self.pidns is None:
            return []
        found = pids_where(lambda pid: os.readlink(f"/proc/{pid}/ns/pid") == self.pidns)
        if self.proc is not None and self.proc.poll() is None:
            found.append(self.proc.pid)
        return sorted(found)

    def _stop(self) -> None:
        # Killing the namespace's first process makes the kernel kill every other one in it.
        if self.child_pid is not None:
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        deadline = time.monotonic() + 5
        while self.leftover_pids() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.limits is not None:
            self.limits.release()

    def describe(self) -> dict[str, object]:
        info = super().describe()
        if self.limits is not None:
            info["limits"] = {"enforced": self.limits.enforced, "skipped": self.limits.skipped}
        return info


@functools.cache
def self_test() -> tuple[bool, str]:
    """Whether the ns backend works on this machine, and why not (checked once a process)."""
    if which("bwrap") is None:
        return False, "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap"
    if which("nsenter") is None or which("setpriv") is None:
        return False, "nsenter/setpriv (util-linux) are missing"
    if os.geteuid() != 0:
        return False, "the ns backend needs root to enter namespaces (nsenter/setns)"
    try:
        done = subprocess.run(
            ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--tmpfs", "/tmp", "--unshare-net", "--unshare-pid", "--cap-drop", "ALL",
             "--die-with-parent", "/bin/true"],
            capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap failed to run: {exc}"
    if done.returncode != 0:
        return False, f"bwrap failed: {done.stderr.decode(errors='replace').strip()[:200]}"
    return True, "bubblewrap works (read-only /, own net+pid namespace, caps dropped)"
