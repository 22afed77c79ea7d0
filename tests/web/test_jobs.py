"""The job manager through the API: fan-outs, stop and cancel, bad job requests, and the
server's limits on open incidents, active jobs and the state it keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.web.limits import MAX_INCIDENT_TEXT, MAX_LIVE_TEXT
from tests.web.helpers import (
    FakeRunner,
    alert,
    incidents,
    make_client,
    start,
    wait_for,
    wait_job,
    webhook,
)


def test_a_fanout_runs_every_incident_and_the_state_shows_them(
        client: FlaskClient, runner: FakeRunner, trace_log: Path) -> None:
    job = start(client, scenarios=["port_mismatch", "stale_lockfile"], incidents=3,
                concurrency=2, seed=7, max_risk="HIGH", confirm_risk="MEDIUM")
    assert job["kind"] == "fanout"
    done = wait_job(client, job["id"])
    assert done["state"] == "finished" and done["summary"]["fixed"] == 3
    rows = [i for i in incidents(client).values() if i["job_id"] == job["id"]]
    assert sorted((i["scenario"], i["seed"]) for i in rows) == [
        ("port_mismatch", 7), ("port_mismatch", 9), ("stale_lockfile", 8)]
    for inc in rows:
        assert inc["state"] == "done" and inc["status"] == "fixed"
        assert inc["service_up"] is True and inc["skill"] == "port-mismatch"
        assert inc["steps"] == 1 and inc["highest_risk"] == "LOW" and inc["model"] == "fake"
    req = runner.requests[0]
    assert (req.simulate, req.max_risk, req.confirm_risk) == (True, "HIGH", "MEDIUM")
    # the run writes its row to a scratch file; the job records it in the log once the
    # queue holds it: exactly one row per incident
    assert req.trace_log is not None and req.trace_log != trace_log
    lines = [json.loads(line) for line in trace_log.read_text().splitlines()]
    assert sorted(r["extra"]["queue"]["id"] for r in lines) == sorted(i["id"] for i in rows)


def test_stop_cancels_the_running_incident_and_skips_the_queued(trace_log: Path) -> None:
    runner = FakeRunner(hold=True)
    client, jobs = make_client(trace_log, runner)
    job = start(client, scenarios=["port_mismatch"], incidents=3, concurrency=1)
    wait_for(lambda: any(i["state"] == "agent" for i in incidents(client).values()),
             "an incident to be running")
    resp = client.post(f"/api/jobs/{job['id']}/stop", json={})
    assert resp.status_code == 200 and resp.get_json()["state"] in ("stopping", "stopped")
    done = wait_job(client, job["id"])
    assert done["state"] == "stopped"
    assert (done["summary"]["cancelled"], done["summary"]["not_started"]) == (1, 2)
    states = sorted((i["state"], i["status"]) for i in incidents(client).values())
    assert states == [("done", "cancelled"), ("not_started", None), ("not_started", None)]
    assert jobs.shutdown(wait_s=5) == []


def test_cancel_one_incident(trace_log: Path) -> None:
    runner = FakeRunner(hold=True)
    client, jobs = make_client(trace_log, runner)
    job = start(client, scenarios=["port_mismatch"])
    incident_id = job["incident_ids"][0] if job["incident_ids"] else wait_for(
        lambda: next(iter(incidents(client)), None), "the incident")
    wait_for(lambda: incidents(client)[incident_id]["state"] == "agent", "the run")
    resp = client.post(f"/api/incidents/{incident_id}/cancel", json={})
    assert resp.get_json()["cancelled"] is True
    wait_job(client, job["id"])
    assert incidents(client)[incident_id]["status"] == "cancelled"
    again = client.post(f"/api/incidents/{incident_id}/cancel", json={}).get_json()
    assert again["cancelled"] is False
    assert jobs.shutdown(wait_s=5) == []


@pytest.mark.parametrize("body, status, message", [
    ({"scenarios": ["nope"]}, 400, "unknown scenario"),
    ({"incidents": 0}, 400, "incidents"),
    ({"colour": "red"}, 400, "colour"),
    ({"simulate": True, "model": "openai/gpt-4o"}, 400, "exclude"),
    ({"max_risk": "LOW", "confirm_risk": "HIGH"}, 400, "above max_risk"),
    ({"max_risk": "EXTREME"}, 400, "max_risk"),
    ([1], 400, "JSON object"),
])
def test_bad_job_requests_are_4xx_with_a_message(client: FlaskClient, body: Any, status: int,
                                                 message: str) -> None:
    resp = client.post("/api/jobs", json=body)
    assert resp.status_code == status
    assert message in resp.get_json()["error"]


def test_past_the_open_incident_cap_starts_are_429(serve: Any) -> None:
    server = serve(FakeRunner(hold=True), max_open=3)
    client = server.client
    body = {"simulate": True, "scenarios": ["port_mismatch"], "incidents": 2}
    assert client.post("/api/jobs", json=body).status_code == 202
    busy = client.post("/api/jobs", json=body)
    assert busy.status_code == 429 and "server busy" in busy.get_json()["error"]
    assert busy.headers["Retry-After"]
    out = client.post("/api/alerts", json=webhook(alert(fingerprint="h1"),
                                                  alert(fingerprint="h2"))).get_json()
    assert [d["action"] for d in out["decisions"]] == ["needs_human", "ignored"]
    assert "server busy" in out["decisions"][1]["reason"]


def test_past_the_active_job_cap_starts_are_429(serve: Any) -> None:
    server = serve(FakeRunner(hold=True), max_active_jobs=1)
    body = {"simulate": True, "scenarios": ["port_mismatch"]}
    assert server.client.post("/api/jobs", json=body).status_code == 202
    assert server.client.post("/api/jobs", json=body).status_code == 429


def test_state_keeps_a_bounded_number_of_finished_jobs_and_incidents(serve: Any) -> None:
    server = serve(max_incidents=3, max_jobs=2)
    client = server.client
    for _ in range(5):
        job = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"],
                                             "incident_text": "t" * MAX_INCIDENT_TEXT})
        wait_job(client, job.get_json()["id"])
    state = client.get("/api/state").get_json()
    assert len(state["incidents"]) == 3 and len(state["jobs"]) == 2
    assert all(len(j["request"]["incident_text"]) <= MAX_LIVE_TEXT for j in state["jobs"])
    newest = state["incidents"][0]
    assert len(newest["incident_text"]) <= MAX_LIVE_TEXT
    full = client.get(f"/api/incidents/{newest['id']}").get_json()["incident"]
    assert len(full["incident_text"]) == MAX_INCIDENT_TEXT  # the whole text is one GET away
