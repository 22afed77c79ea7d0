"""Risky actions waiting for an operator: approve, reject, time out, cancelled by a stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.agent import ConfirmAnswer
from tests.web.helpers import FakeRunner, incidents, make_client, start, wait_for, wait_job


@pytest.mark.parametrize("approve", [True, False])
def test_a_risky_action_waits_for_the_operator(trace_log: Path, approve: bool) -> None:
    runner = FakeRunner(ask=True)
    client, jobs = make_client(trace_log, runner)
    job = start(client, scenarios=["port_mismatch"], confirm_risk="MEDIUM")
    pending = wait_for(lambda: client.get("/api/confirmations").get_json()["confirmations"],
                       "a pending confirmation")
    item = pending[0]
    assert (item["command"], item["risk"], item["state"]) == ("svc restart app", "MEDIUM",
                                                              "pending")
    assert incidents(client)[item["incident_id"]]["pending"] == 1
    assert runner.answers == []  # the run is blocked on the answer
    resp = client.post(f"/api/confirmations/{item['id']}",
                       json={"approve": approve, "reason": "looked at it"})
    assert resp.status_code == 200 and resp.get_json()["state"] == (
        "approved" if approve else "rejected")
    wait_job(client, job["id"])
    assert runner.answers == [ConfirmAnswer(approve, "looked at it")]
    inc = incidents(client)[item["incident_id"]]
    assert inc["pending"] == 0 and inc["status"] == ("fixed" if approve else "not_fixed")
    twice = client.post(f"/api/confirmations/{item['id']}", json={"approve": True})
    assert twice.status_code == 409 and "already" in twice.get_json()["error"]
    page = client.get(f"/incidents/{item['incident_id']}").get_data(as_text=True)
    assert "looked at it" in page
    assert jobs.shutdown(wait_s=5) == []


def test_an_unanswered_confirmation_is_rejected_after_the_timeout(trace_log: Path) -> None:
    runner = FakeRunner(ask=True)
    client, jobs = make_client(trace_log, runner, confirm_timeout_s=0.2)
    wait_job(client, start(client, scenarios=["port_mismatch"])["id"])
    assert runner.answers[0].approve is False and "nobody answered" in runner.answers[0].reason
    expired = client.get("/api/confirmations?state=expired").get_json()["confirmations"]
    assert len(expired) == 1
    assert jobs.shutdown(wait_s=5) == []


def test_stopping_a_job_rejects_its_pending_confirmation(trace_log: Path) -> None:
    runner = FakeRunner(ask=True)
    client, jobs = make_client(trace_log, runner)
    job = start(client, scenarios=["port_mismatch"])
    wait_for(lambda: client.get("/api/confirmations").get_json()["confirmations"], "pending")
    client.post(f"/api/jobs/{job['id']}/stop", json={})
    wait_job(client, job["id"])
    assert runner.answers[0].approve is False and "cancelled" in runner.answers[0].reason
    assert jobs.shutdown(wait_s=5) == []
