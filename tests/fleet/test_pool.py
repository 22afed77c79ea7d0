"""Choosing a fan-out's executors: remote workers by URL, else this host."""

from __future__ import annotations

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet import LocalExecutor, RemoteExecutor, choose_executors, make_executors
from tests.fleet.fakes import fake_remote, fanout_request


def test_make_executors_rejects_what_is_not_a_worker_url() -> None:
    with pytest.raises(UsageError, match="not a worker URL"):
        make_executors(["127.0.0.1:1"], None)
    with pytest.raises(UsageError, match="no worker URL given"):
        make_executors([" ", ""], None)


def test_make_executors_builds_remote_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_remote(monkeypatch)
    ex = make_executors(["http://a:1/", "http://b:2", "http://a:1"], "k")
    assert [e.name for e in ex] == ["http://a:1", "http://b:2"]
    assert all(e.api_key == "k" for e in ex)  # type: ignore[attr-defined]


def test_make_executors_passes_the_capacity_on() -> None:
    [one] = make_executors(["http://127.0.0.1:1"], "k", capacity=5)
    assert isinstance(one, RemoteExecutor) and one.capacity == 5 and one.api_key == "k"
    assert "k" not in repr(one)  # never shows the key


def test_without_workers_this_host_runs_every_incident() -> None:
    request = fanout_request(incidents=2, concurrency=3)
    request.template.sandbox = "local"
    [local] = choose_executors(request, [], None)
    assert isinstance(local, LocalExecutor) and local.capacity == 3
    request.template.sandbox = "no-such-backend"
    with pytest.raises(UsageError, match="unknown sandbox backend"):
        choose_executors(request, [], None)
