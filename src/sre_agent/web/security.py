"""What the web app checks about a request before a handler sees it (no Flask here).

- `check_bind`: listen on loopback, or elsewhere only with `allow_remote` and a long token.
- `host_allowed`: without a token, or when the server is bound to loopback, the `Host`
  header must name a loopback address (`localhost`, 127.0.0.0/8, ::1): a page from another
  site that re-binds its DNS name to 127.0.0.1 sends its own name and is refused.
- `origin_allowed`: a state-changing request that carries an `Origin` header must come from
  the server's own origin (scheme://host:port as the client addressed it); a cross-site page
  cannot make one. Clients that send no `Origin` (curl, Alertmanager) are not affected.
- `parse_json_body`: a body is JSON nested at most `MAX_JSON_DEPTH` levels; anything else
  (unparsable, not UTF-8, too deep, so deep the parser gives up) is a `UsageError` (400).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sre_agent.errors import UsageError
from sre_agent.net import is_loopback
from sre_agent.web.limits import MAX_JSON_DEPTH

MIN_REMOTE_TOKEN = 16
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_bind(host: str, token: str | None, allow_remote: bool) -> None:
    """Refuse to listen beyond loopback unless asked to, and then only with a token."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise UsageError(f"refusing to listen on {host}: not a loopback address",
                         "pass --allow-remote and --token to expose the UI beyond this host")
    if not token or len(token) < MIN_REMOTE_TOKEN:
        raise UsageError(f"--allow-remote needs --token of at least {MIN_REMOTE_TOKEN} "
                         "characters", "every /api request must then carry it")


def host_name(host_header: str) -> str:
    """The name part of a Host header (`[::1]:8008` -> `::1`, `a:80` -> `a`)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def host_allowed(host_header: str, *, token: str | None, bind_host: str) -> bool:
    """May a request addressed to `host_header` be served? (See the module docstring.)"""
    if token is not None and not is_loopback(bind_host):
        return True  # served beyond this host on purpose; the token is the gate
    return is_loopback(host_name(host_header))


def _origin_key(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or _DEFAULT_PORTS.get(scheme.lower(), 0)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return scheme.lower(), parts.hostname.lower(), port


def origin_allowed(origin: str | None, *, scheme: str, host_header: str) -> bool:
    """True without an `Origin` header, or when it is the origin the client addressed."""
    if origin is None:
        return True
    given = urlsplit(origin.strip()) if "://" in origin else None
    if given is None or given.path not in ("", "/") or given.query or given.fragment:
        return False  # "null", garbage, or more than an origin
    theirs = _origin_key(given.scheme, given.netloc)
    ours = _origin_key(scheme, host_header)
    return theirs is not None and theirs == ours


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar: 0); iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth) for child in children)
    return deepest


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a request body; UsageError (never a traceback) for a bad one."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise UsageError(f"the JSON body nests too deeply (at most {MAX_JSON_DEPTH} "
                         "levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise UsageError(f"the body is not valid JSON{where}") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise UsageError(f"the JSON body nests too deeply (at most {MAX_JSON_DEPTH} levels)")
    return value
