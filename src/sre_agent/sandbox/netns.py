"""A socket made inside another process's network namespace (needs root).

A short-lived thread enters the namespace and creates the socket; the socket stays in that
namespace (its connections, or the sock_diag questions it asks, are that namespace's) while
the calling thread never leaves the host's.
"""

from __future__ import annotations

import os
import socket
import threading


def socket_in_netns(pid: int, family: int, kind: int, proto: int = 0) -> socket.socket:
    """`socket.socket(family, kind, proto)` in the network namespace of host pid `pid`."""
    made: dict[str, object] = {}

    def make() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                os.setns(fd, os.CLONE_NEWNET)
                made["sock"] = socket.socket(family, kind, proto)
            finally:
                os.close(fd)
        except OSError as exc:
            made["error"] = exc

    thread = threading.Thread(target=make, name="netns-socket")
    thread.start()
    thread.join()
    if "error" in made:
        raise made["error"]  # type: ignore[misc]
    return made["sock"]  # type: ignore[return-value]


__all__ = ["socket_in_netns"]
