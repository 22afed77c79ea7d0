"""Network helpers shared by the fleet, the web UI and the sandboxes: is a host loopback, and
which ports are free on it right now."""

from __future__ import annotations

import contextlib
import ipaddress
import socket


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1).

    Surrounding whitespace, IPv6 brackets (`[::1]`) and the case of `localhost` are ignored;
    any other name is not loopback (no DNS lookup: a name can be re-pointed at any time).
    """
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_ports(count: int, host: str = "127.0.0.1") -> tuple[int, ...]:
    """`count` distinct ports free on `host` right now.

    Each is bound to port 0 and held until all are picked, then all are closed: the ports are
    distinct, but another process may take one before the caller binds it (a small race).
    """
    address = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(family, socket.SOCK_STREAM))
            sock.bind((address, 0))
            ports.append(int(sock.getsockname()[1]))
        return tuple(ports)


def free_port(host: str = "127.0.0.1") -> int:
    """One port free on `host` right now (see `free_ports` for the race)."""
    return free_ports(1, host)[0]


__all__ = ["free_port", "free_ports", "is_loopback"]
