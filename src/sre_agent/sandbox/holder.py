"""The host side of an `ns` sandbox's namespace holder (see `inside/holder.py`).

One sandbox is, in host pids::

    unshare --user --map-root-user --net --mount --pid --fork --kill-child    (P, our child)
      python -I -S inside/holder.py CTL/config     (H: pid 1 of the holder pid namespace)
        bwrap ... --unshare-pid --unshare-ipc --unshare-uts                    (B)
          bwrap's init                  (S: pid 1 of the sandbox's pid namespace; entered)
            the supervisor and the programs it starts

Every namespace belongs to the one user namespace the harness's uid owns (mapped to uid 0
there), so the same code runs for root and for an unprivileged user: commands enter with
`nsenter --user --preserve-credentials` (the namespace denies setgroups), and connections are
sockets the holder creates inside the network namespace and passes back (no `setns` here).
The holder dies with the harness process through a lifeline pipe (per process, unlike a
parent-death signal, which follows the forking thread); a kept sandbox has no lifeline.
Teardown is SIGKILL only (a pid-namespace init ignores SIGTERM from outside): the holder's
death makes the kernel kill both pid namespaces; stragglers that entered the user namespace
without its pid namespace are killed by pid, checked against the namespaces.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from sre_agent.sandbox import inside
from sre_agent.sandbox.common import SandboxError
from sre_agent.sandbox.procs import pids_where, spawner

HOLDER_SCRIPT = Path(inside.__file__).resolve().parent / "holder.py"
UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork",
           "--kill-child"]
# What unshare and the holder run with (the holder starts bubblewrap from an empty one).
HOLDER_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
_UNSAVED = ("proc", "lifeline", "pidfds")


@dataclass
class Holder:
    """Where one sandbox's processes and namespaces are (host pids)."""

    ctl: str  # control directory: config and the holder's socket (never mounted inside)
    unshare_pid: int
    holder_pid: int
    bwrap_pid: int
    child_pid: int  # bubblewrap's init: pid 1 of the sandbox, what commands enter
    userns: str  # "user:[inode]": identifies everything of this sandbox
    pidns_holder: str
    pidns_sandbox: str
    timings: dict[str, float] = field(default_factory=dict)
    # only in the process that started it
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    lifeline: int | None = field(default=None, repr=False, compare=False)
    pidfds: list[int] = field(default_factory=list, repr=False, compare=False)

    def state(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _UNSAVED}

    @classmethod
    def from_state(cls, state: dict[str, object], proc: subprocess.Popen[bytes] | None
                   ) -> Holder:
        """The holder of a kept sandbox, from its saved state (see `alive` before use)."""
        known = {f.name for f in fields(cls)} - set(_UNSAVED)
        return cls(**{k: v for k, v in state.items() if k in known}, proc=proc)  # type: ignore[arg-type]


def _ns(pid: int, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def _zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in (b"Z", b"X")


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def start(bwrap_argv: list[str], *, ctl: Path, python: str, log: int, keep: bool,
          cgroups: list[Path], timeout: float = 10.0) -> Holder:
    """Start the holder and bubblewrap in it; return once the sandbox is built (its init
    has dropped its capabilities, which bubblewrap does after every mount)."""
    t0 = time.perf_counter()
    ctl.mkdir(mode=0o700)
    status, status_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    life_r, life_w = (None, None) if keep else os.pipe()  # non-inheritable: ours alone
    fields_ = [str(ctl / "sock"), str(status_child.fileno()),
               "" if life_r is None else str(life_r), str(timeout),
               "\n".join(str(c) for c in cgroups), *bwrap_argv]
    if any("\0" in f for f in fields_):
        raise SandboxError("a NUL byte in the sandbox's command line or environment")
    (ctl / "config").write_bytes(b"\0".join(os.fsencode(f) for f in fields_))
    pass_fds = (status_child.fileno(), *(() if life_r is None else (life_r,)))
    argv = [*UNSHARE, python, "-I", "-S", str(HOLDER_SCRIPT), str(ctl / "config")]
    try:
        # from the long-lived spawner thread, like every sandbox process (see procs.spawner)
        proc = spawner.call(lambda: subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=dict(HOLDER_ENV),
            cwd="/", pass_fds=pass_fds, start_new_session=True))
    except BaseException:
        status.close()
        if life_w is not None:
            os.close(life_w)
        raise
    finally:
        status_child.close()
        if life_r is not None:
            os.close(life_r)
    pidfds: list[int] = []
    try:
        words, pidfds = _read_status(status, proc, timeout)
        holder = _locate(proc, words, pidfds, ctl)
        holder.timings["holder_s"] = time.perf_counter() - t0
        wait_built(holder.child_pid, timeout)
    except BaseException:
        _kill_proc(proc)
        for fd in pidfds:
            os.close(fd)
        if life_w is not None:
            os.close(life_w)
        raise
    holder.proc, holder.lifeline, holder.pidfds = proc, life_w, pidfds
    holder.timings["launch_s"] = time.perf_counter() - t0
    return holder


def wait_built(child_pid: int, timeout: float) -> None:
    """bubblewrap reports its child right after clone(), before it has mounted anything: an
    nsenter then can land in a half-built mount namespace. The child drops its capabilities
    only after every mount and the pivot_root: CapEff == CapPrm == 0 marks the end."""
    deadline = time.monotonic() + timeout
    while True:
        st = _status(child_pid)
        if not st:
            raise SandboxError("the sandbox exited while bubblewrap was building it",
                               "see the sandbox's var/log/supervisor.log")
        if int(st.get("CapEff", "1"), 16) == 0 and int(st.get("CapPrm", "1"), 16) == 0:
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"bubblewrap did not finish building the sandbox in {timeout}s")
        time.sleep(0.0005)


def _kill_proc(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # SIGKILL: unshare --fork ignores SIGTERM; --kill-child takes the holder
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _read_status(status: socket.socket, proc: subprocess.Popen[bytes],
                 timeout: float) -> tuple[list[str], list[int]]:
    """The holder's one report: b"ok BWRAP CHILD" (its own pids) with 3 pidfds."""
    with status:
        status.settimeout(timeout)
        try:
            msg, fds, _flags, _addr = socket.recv_fds(status, 4096, 3, socket.MSG_CMSG_CLOEXEC)
        except TimeoutError:
            raise SandboxError(f"the sandbox holder did not report within {timeout}s") from None
    words = msg.decode(errors="replace").split()
    if not words or words[0] != "ok" or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        try:
            code = proc.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        said = " ".join(msg.decode(errors="replace").split())[:300] or "nothing"
        raise SandboxError(f"the sandbox holder failed (exit {code}): {said}",
                           "see the sandbox's var/log/supervisor.log; `sre-agent doctor` "
                           "checks the ns backend")
    return words, list(fds)


def _pidfd_pid(fd: int) -> int:
    """The host pid behind a pidfd (fdinfo shows it in the reader's pid namespace)."""
    for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines():
        if line.startswith("Pid:") and int(line.split()[1]) > 0:
            return int(line.split()[1])
    raise SandboxError("a sandbox process exited while it was starting")


def _locate(proc: subprocess.Popen[bytes], words: list[str], pidfds: list[int],
            ctl: Path) -> Holder:
    hpid, bpid, cpid = (_pidfd_pid(fd) for fd in pidfds)
    nspid = _status(cpid).get("NSpid", "").split()
    if nspid[1:] != [words[2], "1"] or _status(hpid).get("NSpid", "").split()[1:] != ["1"]:
        raise SandboxError(f"unexpected pid chain of the sandbox: {nspid}")
    userns = _ns(hpid, "user")
    if not userns or userns == _ns(os.getpid(), "user") or _ns(cpid, "user") != userns:
        raise SandboxError("the sandbox is not in its holder's user namespace")
    return Holder(ctl=str(ctl), unshare_pid=proc.pid, holder_pid=hpid, bwrap_pid=bpid,
                  child_pid=cpid, userns=userns, pidns_holder=_ns(hpid, "pid") or "",
                  pidns_sandbox=_ns(cpid, "pid") or "")


def enter_prefix(holder: Holder) -> list[str]:
    """nsenter into every namespace of the sandbox (the caller adds --wdns and the command).
    --preserve-credentials: the holder's user namespace denies setgroups()."""
    return ["nsenter", "-t", str(holder.child_pid), "--user", "--preserve-credentials",
            "--net", "--mount", "--pid", "--uts", "--ipc"]


def alive(holder: Holder) -> bool:
    if holder.proc is not None and holder.proc.poll() is not None:
        return False
    return _ns(holder.child_pid, "pid") == holder.pidns_sandbox and not _zombie(holder.child_pid)


def connect(holder: Holder, port: int, timeout: float, host: str = "127.0.0.1"
            ) -> socket.socket:
    """A TCP connection to host:port inside the sandbox's network namespace: the holder
    creates the socket there and passes it back; it is connected here (from any thread)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ctl:
        ctl.settimeout(timeout)
        try:
            ctl.connect(os.path.join(holder.ctl, "sock"))
            ctl.sendall(b"inet6 stream\n" if ":" in host else b"inet stream\n")
            msg, fds, _flags, _addr = socket.recv_fds(ctl, 256, 1, socket.MSG_CMSG_CLOEXEC)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ConnectionRefusedError(f"the sandbox holder is not running: {exc}") from exc
    if not fds:
        raise ConnectionRefusedError(f"the sandbox holder refused: {msg.decode().strip()}")
    for extra in fds[1:]:
        os.close(extra)
    sock = socket.socket(fileno=fds[0])
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def leftover_pids(holder: Holder) -> list[int]:
    """Host pids of this sandbox still running: anything in its user namespace or in its pid
    namespaces (zombies skipped: dead, only waiting for their parent), and unshare."""
    found = []
    for pid in pids_where(lambda pid: True):
        if pid == holder.unshare_pid:
            if holder.proc is not None:
                if holder.proc.poll() is None:
                    found.append(pid)
            elif not _zombie(pid) and _cmdline_has(pid, holder.ctl):
                found.append(pid)  # attached: not our child; its argv names our directory
            continue
        if (_ns(pid, "user") == holder.userns
                or _ns(pid, "pid") in (holder.pidns_holder, holder.pidns_sandbox)) \
                and not _zombie(pid):
            found.append(pid)
    return found


def kill(holder: Holder, timeout: float = 5.0) -> list[int]:
    """SIGKILL the holder (the kernel then kills both pid namespaces) and whatever entered
    its user namespace; remove the control directory. Returns what is still left."""
    if holder.lifeline is not None:
        os.close(holder.lifeline)
        holder.lifeline = None
    if holder.pidfds:  # started by this process: no pid-reuse race
        for fd in holder.pidfds:
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:  # attached: signal only pids still in the recorded namespaces
        for pid, pidns in ((holder.holder_pid, holder.pidns_holder),
                           (holder.child_pid, holder.pidns_sandbox)):
            if _ns(pid, "pid") == pidns:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    if holder.proc is not None:
        _kill_proc(holder.proc)
    deadline = time.monotonic() + timeout
    left = leftover_pids(holder)
    while left and time.monotonic() < deadline:
        for pid in left:  # entered the user namespace without its pid namespace
            if pid != holder.unshare_pid and _ns(pid, "user") == holder.userns:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.005)
        left = leftover_pids(holder)
    for fd in holder.pidfds:
        os.close(fd)
    holder.pidfds = []
    shutil.rmtree(holder.ctl, ignore_errors=True)
    return left
