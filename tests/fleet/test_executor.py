"""The executor protocol, `WorkerLost` and `LocalExecutor`."""

from __future__ import annotations

from typing import Any

import pytest

from sre_agent.errors import SreAgentError
from sre_agent.fleet import IncidentExecutor, LocalExecutor, RemoteExecutor, WorkerLost
from sre_agent.fleet import executor as executor_module
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import TraceRow
from tests.fleet.fakes import FakeExecutor, row_for


def test_every_executor_satisfies_the_protocol() -> None:
    for ex in (LocalExecutor(), FakeExecutor(), RemoteExecutor("http://127.0.0.1:1")):
        assert isinstance(ex, IncidentExecutor), ex


def test_worker_lost_names_the_worker_and_is_an_sre_agent_error() -> None:
    lost = WorkerLost("http://w:1")
    assert isinstance(lost, SreAgentError) and lost.worker == "http://w:1"
    assert lost.one_line() == "worker http://w:1 stopped answering"
    detailed = WorkerLost("w", "worker w died", "re-queue it")
    assert "worker w died" in detailed.one_line() and detailed.hint == "re-queue it"


def test_local_executor_runs_the_incident_in_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_run_incident(req: RunRequest, hooks: RunHooks) -> TraceRow:
        seen.append((req, hooks))
        return row_for(req)

    monkeypatch.setattr(executor_module, "run_incident", fake_run_incident)
    req, hooks = RunRequest(scenario="disk_full", seed=4), RunHooks()
    ex = LocalExecutor(capacity=3)
    assert (ex.name, ex.capacity) == ("local", 3)
    assert ex.run(req, hooks).status == "fixed" and seen == [(req, hooks)]
