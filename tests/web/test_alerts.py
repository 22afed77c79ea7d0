"""Alertmanager webhooks: runs started once per alert, duplicates and resolved alerts ignored,
alerts with no sandbox need a human, malformed payloads and alerts, the per-alert caps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.web.limits import MAX_ALERTS_PER_PAYLOAD, MAX_LABELS_PER_ALERT
from tests.web.helpers import FakeRunner, alert, incidents, make_client, wait_job, webhook


def test_alerts_start_runs_once_and_ignore_duplicates_and_resolved(trace_log: Path) -> None:
    runner = FakeRunner(hold=True)
    client, jobs = make_client(trace_log, runner)
    firing = alert(scenario="port_mismatch", seed="4", instance="10.0.0.7:8080")
    resp = client.post("/api/alerts", json=webhook(firing, firing))
    assert resp.status_code == 202
    out = resp.get_json()
    assert (out["started"], out["ignored"], out["needs_human"]) == (1, 1, 0)
    first, second = out["decisions"]
    assert first["action"] == "started" and first["scenario"] == "port_mismatch"
    assert first["skill"] == "port-mismatch"  # the alert's own text was routed
    assert second["action"] == "ignored" and "duplicate" in second["reason"]
    assert second["incident_id"] == first["incident_id"]
    again = client.post("/api/alerts", json=webhook(firing)).get_json()
    assert again["started"] == 0 and "duplicate" in again["decisions"][0]["reason"]
    resolved = client.post("/api/alerts", json=webhook(alert("resolved", scenario="x")))
    assert resolved.status_code == 200
    assert resolved.get_json()["decisions"][0]["action"] == "ignored"
    assert "resolved" in resolved.get_json()["decisions"][0]["reason"]
    runner.release.set()
    wait_job(client, first["job_id"])
    req = runner.requests[0]
    assert (req.scenario, req.seed) == ("port_mismatch", 4)
    assert "connection refused" in (req.incident_text or "")
    assert "port_mismatch" not in (req.incident_text or "")  # the label is not routed
    inc = incidents(client)[first["incident_id"]]
    assert inc["source"] == "alert" and inc["alert"]["fingerprint"] == "fp1"
    refire = client.post("/api/alerts", json=webhook(firing)).get_json()
    assert refire["started"] == 1  # the earlier incident is closed: a new one starts
    runner.release.set()
    assert jobs.shutdown(wait_s=5) == []


def test_an_alert_without_a_scenario_needs_a_human(client: FlaskClient,
                                                    runner: FakeRunner) -> None:
    out = client.post("/api/alerts", json=webhook(alert(fingerprint="h1"),
                                                  alert(fingerprint="h2", scenario="nope")))
    assert out.status_code == 200
    decisions = out.get_json()["decisions"]
    assert [d["action"] for d in decisions] == ["needs_human", "needs_human"]
    assert "no sandbox for this alert" in decisions[0]["reason"]
    assert "'nope' is not a known scenario" in decisions[1]["reason"]
    assert runner.requests == []  # nothing ran against a guessed scenario
    inc = incidents(client)[decisions[0]["incident_id"]]
    assert inc["state"] == "needs_human" and inc["skill"] == "port-mismatch"
    dup = client.post("/api/alerts", json=webhook(alert(fingerprint="h1"))).get_json()
    assert dup["decisions"][0]["action"] == "ignored"
    client.post("/api/alerts", json=webhook(alert("resolved", fingerprint="h1")))
    assert incidents(client)[decisions[0]["incident_id"]]["state"] == "resolved"
    page = client.get(f"/incidents/{decisions[0]['incident_id']}").get_data(as_text=True)
    assert "no sandbox for this alert" in page


@pytest.mark.parametrize("payload, message", [
    ([1, 2], "JSON object"),
    ({"version": "4", "alerts": "x"}, "'alerts' must be a list"),
    ({"version": "3", "alerts": []}, "unsupported"),
])
def test_a_malformed_webhook_is_a_400(client: FlaskClient, payload: Any, message: str) -> None:
    resp = client.post("/api/alerts", json=payload)
    assert resp.status_code == 400 and message in resp.get_json()["error"]


def test_a_malformed_alert_is_ignored_with_its_reason(client: FlaskClient) -> None:
    out = client.post("/api/alerts", json=webhook({"status": "pending", "labels": {}},
                                                  {"status": "firing", "labels": [1]}))
    reasons = [d["reason"] for d in out.get_json()["decisions"]]
    assert "status 'pending'" in reasons[0] and "labels must be an object" in reasons[1]


def test_too_many_alerts_is_413_and_starts_nothing(serve: Any) -> None:
    server = serve()
    alerts = [alert(fingerprint=f"f{i}", scenario="port_mismatch")
              for i in range(MAX_ALERTS_PER_PAYLOAD + 1)]
    resp = server.client.post("/api/alerts", json=webhook(*alerts))
    assert resp.status_code == 413 and "too many alerts" in resp.get_json()["error"]
    assert server.runner.requests == [] and incidents(server.client) == {}


def test_alerts_over_the_label_count_or_seed_range_are_ignored(client: FlaskClient) -> None:
    crowded = alert(fingerprint="many", scenario="port_mismatch")
    crowded["labels"].update({f"l{i}": "v" for i in range(MAX_LABELS_PER_ALERT)})
    far = alert(fingerprint="far", scenario="port_mismatch", seed="9" * 12)
    out = client.post("/api/alerts", json=webhook(crowded, far)).get_json()
    assert [d["action"] for d in out["decisions"]] == ["ignored", "ignored"]
    assert f"at most {MAX_LABELS_PER_ALERT}" in out["decisions"][0]["reason"]
    assert "seed" in out["decisions"][1]["reason"]
