"""Where a network target points: its host, and whether that host is this machine.

A request to loopback stays with the sandbox's own service; anything else leaves it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sre_agent.safety.shell.markers import UNKNOWN

_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|0\.0\.0\.0|::1|\[::1\]|ip6-localhost)$",
                       re.I)


def is_loopback(host: str | None) -> bool:
    return bool(host) and bool(_LOOPBACK.match(host or ""))


def host_of(target: str) -> str | None:
    """Host of a URL, `user@host:path`, or bare `host`; None when not determinable."""
    if UNKNOWN in target:
        m = re.match(r"[a-z]+://([^/:\[\]" + UNKNOWN + r"]+)[:/]", target)
        return m.group(1) if m else None
    if "://" in target:
        return urlsplit(target).hostname
    m = re.match(r"^(?:[^@/\s]+@)?(\[[^\]]+\]|[A-Za-z0-9_.-]+)(?::|$)", target)
    return m.group(1) if m else None


__all__ = ["host_of", "is_loopback"]
