"""Which queue: a URL picks the backend (`open_queue`), with a durable default.

| URL | backend |
|---|---|
| `sqlite:///relative/queue.db`, `sqlite:////var/lib/sre-agent/queue.db` | `SqliteQueue` |
| `sqlite://:memory:` | a private in-process queue (not durable) |
| `redis://[:PASSWORD@]HOST:PORT/DB`, `rediss://...`, `unix:///run/redis.sock` | `RedisQueue` |

Options as query parameters: `lease_s`, `max_attempts` (both), `synchronous` (SQLite: FULL,
EXTRA or NORMAL), `prefix` (Redis key prefix; keep a `{...}` hash tag). The default URL is
`SRE_AGENT_QUEUE_URL`, else a SQLite file under the artifacts directory: nothing to start.
A URL may hold a password: `shown_url` is what logs and summaries print.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.fleet.queue.base import DurableQueue
from sre_agent.fleet.queue.redis import RedisQueue
from sre_agent.fleet.queue.sqlite import SqliteQueue

QUEUE_URL_ENV = "SRE_AGENT_QUEUE_URL"
_HINT = ("use sqlite:///relative.db, sqlite:////absolute/path.db or "
         "redis://[:password@]127.0.0.1:6379/0")


def default_queue_url() -> str:
    """`SRE_AGENT_QUEUE_URL`, else `sqlite:////<artifacts>/queue/queue.db`."""
    return os.environ.get(QUEUE_URL_ENV) or \
        f"sqlite:///{(paths.artifacts_dir() / 'queue' / 'queue.db').absolute()}"


def shown_url(url: str) -> str:
    """The URL without its password (what is printed and stored in summaries)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _number(opts: dict[str, str], name: str, kind: type, kw: dict[str, Any]) -> None:
    if name in opts:
        raw = opts.pop(name)
        try:
            kw.setdefault(name, kind(raw))
        except ValueError:
            raise UsageError(f"queue option {name}={raw!r} is not a number") from None


def open_queue(url: str | None = None, **kw: Any) -> DurableQueue:
    """The queue at `url` (default: `default_queue_url()`); options from the query string
    or keyword arguments (keywords win)."""
    url = (url or default_queue_url()).strip()
    parts = urlsplit(url)
    opts = dict(parse_qsl(parts.query))
    _number(opts, "lease_s", float, kw)
    _number(opts, "max_attempts", int, kw)
    if parts.scheme == "sqlite":
        if "synchronous" in opts:
            kw.setdefault("synchronous", opts.pop("synchronous"))
        if opts:
            raise UsageError(f"unknown sqlite queue option(s): {', '.join(sorted(opts))}")
        if parts.netloc == ":memory:":
            return SqliteQueue(":memory:", **kw)
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise UsageError(f"the queue URL {url!r} names no file", _HINT)
        return SqliteQueue(parts.path[1:], **kw)
    if parts.scheme in ("redis", "rediss", "unix"):
        if "prefix" in opts:
            kw.setdefault("prefix", opts.pop("prefix"))
        rest = urlunsplit(parts._replace(query="&".join(f"{k}={v}" for k, v in opts.items())))
        return RedisQueue(rest, shown_url=shown_url(url), **kw)
    raise UsageError(f"unsupported queue URL {shown_url(url)!r}", _HINT)


__all__ = ["QUEUE_URL_ENV", "default_queue_url", "open_queue", "shown_url"]
