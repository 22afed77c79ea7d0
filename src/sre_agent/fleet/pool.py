"""Which executors a fan-out runs on: remote workers given by URL, else this host.

The one module that knows both kinds (`executor.LocalExecutor`, `remote.RemoteExecutor`), so
neither has to import the other or the dispatcher.
"""

from __future__ import annotations

from typing import Any

from sre_agent.errors import UsageError
from sre_agent.fleet.executor import IncidentExecutor, LocalExecutor
from sre_agent.fleet.remote import RemoteExecutor
from sre_agent.fleet.request import FanoutRequest
from sre_agent.sandbox import select_backend


def make_executors(workers: list[str], api_key: str | None,
                   capacity: int | None = None) -> list[IncidentExecutor]:
    """One `RemoteExecutor` per worker URL (blank and duplicate URLs dropped, order kept)."""
    urls = list(dict.fromkeys(w.strip().rstrip("/") for w in workers if w.strip()))
    if not urls:
        raise UsageError("no worker URL given", "--workers http://HOST:PORT[,URL...]")
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise UsageError(f"not a worker URL: {bad[0]!r}", "use http://HOST:PORT")
    kwargs: dict[str, Any] = {"api_key": api_key}
    if capacity is not None:
        kwargs["capacity"] = capacity
    return [RemoteExecutor(url, **kwargs) for url in urls]


def choose_executors(request: FanoutRequest, workers: list[str],
                     api_key: str | None) -> list[IncidentExecutor]:
    """The workers' executors when URLs are given, else one `LocalExecutor` taking
    `request.concurrency` incidents at once.

    Locally, the sandbox backend of `request.template` is resolved here, once (`auto` becomes
    the backend it picks): a Docker probe per incident would cost seconds each.
    """
    if workers:
        return make_executors(workers, api_key)
    request.template.sandbox = select_backend(request.template.sandbox).name
    return [LocalExecutor(capacity=request.concurrency)]


__all__ = ["choose_executors", "make_executors"]
