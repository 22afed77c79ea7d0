"""The namespace holder of one `ns` sandbox (stdlib C modules only; never imports sre_agent).

Started by the harness as `unshare --user --map-root-user --net --mount --pid --fork
--kill-child python -I -S holder.py CONFIG`, so it is pid 1 of a fresh pid namespace and uid 0
of a user namespace that the harness's uid owns: every namespace of the sandbox (bubblewrap,
run as uid 0 here, nests no second user namespace) belongs to that one user namespace, and
the harness can enter it with `nsenter --user` without privileges. What it does, in order:

1. joins the sandbox's cgroups (before anything forks: bubblewrap and all below inherit them);
2. brings `lo` up (a new network namespace has it down; this one IS the sandbox's network);
3. listens on CTL/sock (a control directory the sandbox cannot see);
4. starts bubblewrap from an EMPTY environment (its pid 1 keeps what it was started with);
5. reads bubblewrap's info-fd until it parses (the fd stays open) and reports "ok BWRAP CHILD"
   with pidfds of itself, bubblewrap and the sandbox's init (the harness learns host pids from
   them; info-fd pids are this namespace's);
6. serves "inet stream" requests on CTL/sock: a socket created HERE (so in the sandbox's
   network namespace), passed back unconnected with SCM_RIGHTS;
7. exits when bubblewrap exits or the lifeline pipe reaches EOF (the harness process is gone);
   being pid 1, its exit makes the kernel kill everything in its pid namespace.

CONFIG holds NUL-separated fields: socket path, status fd, lifeline fd (or empty), timeout,
newline-separated cgroup directories, then bubblewrap's argv.
"""

import _signal as G
import _socket as S
import fcntl
import os
import select
import sys
from _struct import pack, unpack

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
FAMILIES = {b"inet": S.AF_INET, b"inet6": S.AF_INET6}


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        cfg = f.read().split(b"\0")
    sock_path, status_fd, life, timeout, cgroups, bwrap_argv = (
        cfg[0], int(cfg[1]), cfg[2], float(cfg[3]), cfg[4], cfg[5:])
    lifeline = int(life) if life else None
    for fd in (status_fd, lifeline):  # ours alone: bubblewrap and the sandbox never get them
        if fd is not None:
            os.set_inheritable(fd, False)
    status = S.socket(fileno=status_fd)

    def report(msg: bytes, fds: tuple = ()) -> None:
        anc = [(S.SOL_SOCKET, S.SCM_RIGHTS, pack(f"{len(fds)}i", *fds))] if fds else []
        status.sendmsg([msg], anc)

    try:
        for cg in filter(None, cgroups.split(b"\n")):
            with open(cg + b"/cgroup.procs", "wb") as f:
                f.write(b"0")  # 0: the writing process (pid-namespace safe)
        probe = S.socket(S.AF_INET, S.SOCK_DGRAM)
        req = pack("16sH22x", b"lo", 0)
        flags = unpack("16sH", fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS, req)[:18])[1]
        fcntl.ioctl(probe.fileno(), SIOCSIFFLAGS, pack("16sH22x", b"lo", flags | IFF_UP))
        probe.close()
        os.umask(0o077)
        listener = S.socket(S.AF_UNIX, S.SOCK_STREAM)
        listener.bind(sock_path)
        listener.listen(64)
        listener.setblocking(False)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        G.set_wakeup_fd(wake_w)
        G.signal(G.SIGCHLD, lambda *_: None)
        info_r, info_w = os.pipe()
        os.set_inheritable(info_w, True)
        argv = [bwrap_argv[0], b"--info-fd", b"%d" % info_w, *bwrap_argv[1:]]
        bwrap = os.posix_spawn(bwrap_argv[0], argv, {})
        os.close(info_w)
        child = read_child_pid(info_r, timeout)
        if child is None:
            report(b"error bubblewrap did not report its child pid (see the sandbox log)\n")
            sys.exit(1)
        fds = [os.pidfd_open(pid) for pid in (os.getpid(), bwrap, child)]
        report(b"ok %d %d\n" % (bwrap, child), tuple(fds))
        for fd in fds:
            os.close(fd)
    except Exception as exc:
        report(f"error {type(exc).__name__}: {exc}\n".encode())
        sys.exit(1)
    status.close()
    serve(listener, wake_r, lifeline, bwrap)


def read_child_pid(info_r: int, timeout: float) -> "int | None":
    """bubblewrap's child pid from its info-fd JSON (read until it parses, not until EOF)."""
    buf = b""
    while True:
        ready, _, _ = select.select([info_r], [], [], timeout)
        chunk = os.read(info_r, 4096) if ready else b""
        if not chunk:
            os.close(info_r)
            return None
        buf += chunk
        at = buf.find(b'"child-pid"')
        if at >= 0 and b"}" in buf[at:]:
            os.close(info_r)
            return int(buf[at:].split(b":", 1)[1].split(b"}")[0].split(b",")[0])


def serve(listener: S.socket, wake_r: int, lifeline: "int | None", bwrap: int) -> None:
    watch = [listener, wake_r] + ([lifeline] if lifeline is not None else [])
    while True:
        try:
            ready, _, _ = select.select(watch, [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 512)
            except BlockingIOError:
                pass
        while True:  # pid 1 here: reap every orphan; leave with bubblewrap
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            if pid == bwrap:
                sys.exit(os.waitstatus_to_exitcode(st) & 0xFF)
        if lifeline is not None and lifeline in ready and not os.read(lifeline, 1):
            sys.exit(0)  # EOF: the harness process is gone
        if listener in ready:
            answer(listener)


def answer(listener: S.socket) -> None:
    while True:
        try:
            fd, _ = listener._accept()
        except (BlockingIOError, InterruptedError):
            return
        conn = S.socket(fileno=fd)
        try:
            conn.settimeout(2)
            family, _, kind = conn.recv(64).strip().partition(b" ")
            if kind != b"stream" or family not in FAMILIES:
                raise ValueError("unknown request")
            made = S.socket(FAMILIES[family], S.SOCK_STREAM)  # lives in this network ns
            try:
                conn.sendmsg([b"ok\n"], [(S.SOL_SOCKET, S.SCM_RIGHTS, pack("i", made.fileno()))])
            finally:
                made.close()
        except Exception as exc:
            try:
                conn.sendall(f"error {type(exc).__name__}: {exc}\n".encode())
            except OSError:
                pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
