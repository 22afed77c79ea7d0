"""Processes on this machine: finding a sandbox's, who listens on a port, and the one thread
that starts sandboxes."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from sre_agent.sandbox import sockdiag
from sre_agent.sandbox.netns import socket_in_netns

T = TypeVar("T")


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


def _under(directory: Path) -> list[tuple[int, str]]:
    found = []
    for pid in pids_where(lambda pid: True):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd.startswith(str(directory)) or str(directory) in cmd:
            found.append((pid, cmd))
    return found


def processes_under(directory: Path) -> list[str]:
    """`pid: command line` of processes whose cwd or command line is under `directory`
    (what a teardown must leave empty for the runtime directory)."""
    return [f"{pid}: {cmd[:120]}" for pid, cmd in _under(directory)]


def pids_under(directory: Path) -> list[int]:
    """Pids of the processes `processes_under` lists."""
    return [pid for pid, _cmd in _under(directory)]


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


def parent_of(pid: int) -> int:
    """The parent pid (0 when gone or unreadable)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def children_of(pid: int) -> list[int]:
    """The children of `pid`, oldest first: from its main thread's `children` file (one read),
    else by a pass over /proc (every process's parent)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        if not Path(f"/proc/{pid}").exists():
            return []
    except (OSError, ValueError):
        pass
    return sorted(pids_where(lambda child: parent_of(child) == pid))


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether `ancestor` is `pid` or one of its ancestors."""
    seen = 0
    while pid > 1 and seen < 64:
        if pid == ancestor:
            return True
        pid = parent_of(pid)
        seen += 1
    return pid == ancestor


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, parents first (one pass over /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()  # depth first: a parent still comes before its children
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _listening_inodes(net_pid: int, port: int) -> set[str]:
    """Inodes of the sockets listening on `port` in the network namespace of `net_pid`: asked
    of the kernel (sock_diag), else read from /proc (the same answer, ~100x the CPU)."""
    try:
        return {str(inode) for inode in sockdiag.listening_inodes(net_pid, port)}
    except OSError:
        return proc_listening_inodes(net_pid, port)


def proc_listening_inodes(net_pid: int, port: int) -> set[str]:
    """`_listening_inodes` from /proc/<pid>/net/tcp{,6} (the kernel walks its whole TCP hash)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{net_pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) \
                    == port:
                inodes.add(fields[9])
    return inodes


def listener_pids(net_pid: int, port: int, candidates: list[int]) -> list[int]:
    """Which of `candidates` hold a socket listening on `port` (in `net_pid`'s namespace)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(net_pid, port)}
    holders = []
    for pid in candidates:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    holders.append(pid)
                    break
            except OSError:
                continue
    return holders


def connect_in_netns(pid: int, port: int, timeout: float) -> socket.socket:
    """TCP to 127.0.0.1:`port` inside the network namespace of host pid `pid` (needs root).

    The socket is made there (`netns.socket_in_netns`); the calling thread never leaves the
    host's namespace.
    """
    sock = socket_in_netns(pid, socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock
