"""The `ns` backend: bubblewrap + Linux namespaces, no Docker and no root needed.

Inside: a minimal read-only `/` (the system, the interpreter and the service's code; host
secrets masked; nothing of the harness: see docs/security.md), the incident's workdir writable
(bind-mounted at the same path), private `/tmp`, `/var` and `/run`, its own network namespace
(only `lo`: every incident can serve 127.0.0.1:8080 and nothing reaches out), its own
pid/ipc/uts namespaces, all capabilities dropped and no new privileges, and an environment
that holds nothing of the harness's (bubblewrap itself starts from an empty one). Commands
enter with `nsenter --wdns` (the workdir resolved inside: a host-side working directory would
make `..` the host's) + `setpriv`.
One code path for root and for an unprivileged user: each sandbox's namespaces are held by a
holder process in a user namespace the harness's uid owns (`holder.py`); the harness reaches
the service through sockets the holder creates inside the network namespace. As root the
sandbox also gets cgroup limits; unprivileged, they are skipped and the run says why.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from sre_agent.incidents import pack_of
from sre_agent.sandbox import boot, holder
from sre_agent.sandbox.base import Sandbox
from sre_agent.sandbox.common import KEPT_PROCESSES, SandboxError
from sre_agent.sandbox.holder import Holder
from sre_agent.sandbox.limits import Limits, available, prepare_limits
from sre_agent.sandbox.procs import children_of, which

# The system the sandbox sees, read-only. Everything else of the host (home directories, the
# project and its `.env`, other incidents and the harness's control files, /var, /run and
# their sockets, /sys, /mnt, ...) is simply not there: isolation by construction.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
PRIVATE_DIRS = ("/tmp", "/var", "/run")  # empty, writable, private to the sandbox
# Secrets of the host that live in /etc: masked even though /etc is read-only.
MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                "/etc/sudoers", "/etc/security/opasswd", "/etc/.pwd.lock")
MASKED_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
ISOLATE = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "incident",
           "--cap-drop", "ALL"]
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
    # /proc/sys read-only, but for the sandbox's own network namespace: uid 0 without any
    # capability passes the sysctl permission check (owner bits of global root), so as root
    # a command could otherwise set host-wide knobs (kernel.core_pattern: a host command)
    argv += ["--dev", "/dev", "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
             "--bind", "/proc/sys/net", "/proc/sys/net"]
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
        self.holder: Holder | None = None
        self.limits: Limits | None = None
        self._supervisor: int | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        """The holder's `unshare` process, when this process started the sandbox."""
        return self.holder.proc if self.holder is not None else None

    @property
    def child_pid(self) -> int | None:
        """Host pid of the sandbox's init (pid 1 inside): what commands enter."""
        return self.holder.child_pid if self.holder is not None else None

    def _bwrap_argv(self, supervisor: list[str]) -> list[str]:
        # No --unshare-net (the holder's network namespace is the sandbox's), no --info-fd
        # (the holder adds it), no --die-with-parent (the holder's pid namespace does that).
        argv = [bwrap_path(), *root_filesystem(self.read_only_paths()),
                "--bind", str(self.workdir), str(self.workdir), *self._private_mounts(),
                "--chdir", str(self.workdir), *ISOLATE, "--clearenv"]
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
        visible = [p.resolve() for p in self.read_only_paths()]
        if any(_under(self.root, path) for path in visible):
            raise SandboxError(f"the runtime directory {self.root.parent} is inside a directory "
                               "every sandbox sees", "set SRE_AGENT_RUNTIME_DIR elsewhere")
        # Made before the start: the holder joins them before anything of the sandbox forks.
        self.limits = prepare_limits(self.id)
        log = (self.workdir / "var" / "log" / "supervisor.log").open("ab")
        try:
            self.holder = holder.start(
                self._bwrap_argv(supervisor), ctl=self.root / "ctl", python=self.python(),
                log=log.fileno(), keep=self.keep, cgroups=self.limits.paths)
        finally:
            log.close()
        self.timings.phases.update(self.holder.timings)

    def _state(self) -> dict[str, object]:
        return {"holder": self.holder.state() if self.holder else None,
                "cgroups": [str(p) for p in self.limits.paths] if self.limits else []}

    def _restore(self, state: dict[str, object]) -> None:
        saved = state.get("holder")
        if not isinstance(saved, dict):
            raise SandboxError(f"sandbox {self.id} has no holder state (made by an older "
                               "version?)", "remove its directory by hand")
        self.holder = Holder.from_state(saved, KEPT_PROCESSES.pop(
            int(saved.get("unshare_pid") or 0), None))
        cgroups = state.get("cgroups") or []
        self.limits = Limits(paths=[Path(p) for p in cgroups])  # type: ignore[union-attr]

    def alive(self) -> bool:
        return self.holder is not None and holder.alive(self.holder)

    def shell_argv(self) -> list[str]:
        if self.holder is None:
            raise SandboxError(f"sandbox {self.id} is not running")
        argv = [*holder.enter_prefix(self.holder), f"--wdns={self.workdir}", *ENTER_CAPS,
                "/bin/bash"]
        procs = [p / "cgroup.procs" for p in self.limits.paths] if self.limits else []
        if procs:  # nsenter keeps the caller's cgroups: join the sandbox's limits first
            join = "; ".join(f"echo $$ > {shlex.quote(str(p))}" for p in procs)
            argv = ["/bin/sh", "-c", f'{{ {join}; }} 2>/dev/null; exec "$@"', "sh", *argv]
        return argv

    def connect(self, port: int, timeout: float) -> socket.socket:
        if self.holder is None or not self.alive():
            raise ConnectionRefusedError(f"sandbox {self.id} is not running")
        return holder.connect(self.holder, port, timeout)

    def supervisor_pid(self) -> int | None:
        """The supervisor: the child of the sandbox's init (pid 1 inside) it started."""
        if self.holder is None:
            return None
        if self._supervisor is None:
            init = self.holder.child_pid
            children = children_of(init)
            self._supervisor = children[0] if children else None
        return self._supervisor

    def leftover_pids(self) -> list[int]:
        return holder.leftover_pids(self.holder) if self.holder is not None else []

    def _stop(self) -> None:
        if self.holder is not None:
            holder.kill(self.holder)
        if self.limits is not None:
            self.limits.release()

    def describe(self) -> dict[str, object]:
        info = super().describe()
        info["mode"] = mode()
        if self.limits is not None:
            info["limits"] = self.limits.report()
        return info


def mode() -> str:
    return "root" if os.geteuid() == 0 else "rootless"


def bwrap_path() -> str:
    return which("bwrap") or "/usr/bin/bwrap"  # the holder spawns it without a PATH search


def _userns_refused() -> str | None:
    """Why user namespaces cannot be created here (None: nothing says they cannot)."""
    knobs = {"/proc/sys/user/max_user_namespaces": ("0", "user namespaces are disabled"),
             "/proc/sys/kernel/unprivileged_userns_clone": (
                 "0", "unprivileged user namespaces are disabled"),
             "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": (
                 "1", "AppArmor restricts unprivileged user namespaces")}
    for knob, (bad, why) in knobs.items():
        try:
            value = Path(knob).read_text().strip()
        except OSError:
            continue
        if value == bad and (os.geteuid() != 0 or knob.endswith("max_user_namespaces")):
            return f"{why} ({knob.removeprefix('/proc/sys/').replace('/', '.')} = {value})"
    return None


PROBE = ('test "$(hostname)" = incident && ! touch /usr/.sre-agent-probe 2>/dev/null '
         '&& ! test -w /proc/sys/kernel/core_pattern '
         '&& touch ./ok && grep -q "^CapEff:[[:space:]]*0*$" /proc/self/status')


def _probe() -> str | None:
    """Start, enter, connect into and stop one tiny sandbox; None when all of it worked."""
    base = Path(tempfile.mkdtemp(prefix="sre-agent-ns-probe-"))
    work, log = base / "work", base / "log"
    work.mkdir()
    held = None
    try:
        with log.open("wb") as out:
            held = holder.start(
                [bwrap_path(), *root_filesystem([Path(sys.executable).resolve().parent]),
                 "--bind", str(work), str(work), "--chdir", str(work), *ISOLATE, "--clearenv",
                 "--setenv", "PATH", "/usr/bin:/bin", "--", "/bin/sleep", "60"],
                ctl=base / "ctl", python=sys.executable, log=out.fileno(), keep=False,
                cgroups=[], timeout=5)
        done = subprocess.run([*holder.enter_prefix(held), f"--wdns={work}", *ENTER_CAPS,
                               "/bin/bash", "-c", PROBE], capture_output=True, timeout=10,
                              env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            return f"entering a sandbox failed: {done.stderr.decode(errors='replace')[:200]}"
        try:
            holder.connect(held, 9, 2).close()
            return "127.0.0.1:9 answered inside a fresh network namespace"
        except ConnectionRefusedError:
            pass
        left, held = holder.kill(held), None
        return f"teardown left processes {left}" if left else None
    except (OSError, SandboxError, subprocess.SubprocessError) as exc:
        said = " ".join(log.read_text(errors="replace").split())[-200:] if log.exists() else ""
        return f"{exc}{f' ({said})' if said else ''}"
    finally:
        if held is not None:
            holder.kill(held)
        shutil.rmtree(base, ignore_errors=True)


@functools.cache
def self_test() -> tuple[bool, str]:
    """Whether the ns backend works on this machine, in which mode, and why (checked once a
    process by starting one tiny sandbox, ~50-100 ms)."""
    if which("bwrap") is None:
        return False, "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap"
    missing = [tool for tool in ("unshare", "nsenter", "setpriv") if which(tool) is None]
    if missing:
        return False, f"{', '.join(missing)} missing (util-linux)"
    refused = _userns_refused()
    if refused:
        return False, refused
    failed = _probe()
    if failed:
        return False, f"a test sandbox did not work: {failed}"
    limits = available()
    if limits.enforced:
        caps = f"cgroup limits ({', '.join(limits.enforced)}) enforced"
    else:
        skipped = "; ".join(f"{c}: {why}" for c, why in limits.skipped.items())
        caps = f"cgroup limits skipped, they need root or a delegated cgroup ({skipped})"
    why = "running as root" if mode() == "root" else \
        f"running as uid {os.geteuid()} (not root) with user namespaces available"
    return True, (f"mode {mode()} ({why}): bubblewrap in a user namespace held per sandbox "
                  f"(read-only /, own net+pid namespace, no capabilities); {caps}")
