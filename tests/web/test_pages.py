"""The pages: the start form, an incident's page (live or from the trace log), the scorecard."""

from __future__ import annotations

import time
from pathlib import Path

from flask.testing import FlaskClient

from sre_agent.scoring import scorecard_from_log, to_json
from sre_agent.traces import TraceAction, TraceRow, TraceWriter
from tests.web.helpers import incidents, start, wait_job


def test_incident_page_shows_timeline_skill_and_probes(client: FlaskClient) -> None:
    job = start(client, scenarios=["port_mismatch"], incident_text="clients get ECONNREFUSED")
    wait_job(client, job["id"])
    incident_id = job["incident_ids"][0] if job["incident_ids"] else \
        next(iter(incidents(client)))
    data = client.get(f"/api/incidents/{incident_id}").get_json()
    assert data["row"]["status"] == "fixed" and data["actions"][0]["command"] == "svc status"
    page = client.get(f"/incidents/{incident_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "svc status" in html and "http://127.0.0.1:5000/health" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html  # escaped
    assert "<h3>Symptoms</h3>" in html  # the skill body rendered from markdown
    assert "clients get ECONNREFUSED" in html and "Verified:" in html


def test_index_page_has_the_start_form(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'id="start-form"' in html and 'value="port_mismatch"' in html
    assert "/static/app.js" in html
    with client.get("/static/app.js") as script:
        assert script.status_code == 200 and b"initIndex" in script.data


def test_a_run_from_the_trace_log_opens_without_a_live_job(client: FlaskClient,
                                                           trace_log: Path) -> None:
    row = TraceRow(run_id="run-from-cli", started_at=time.time(), scenario="disk_full",
                   status="escalated", reason="the agent escalated: <script>x</script>",
                   actions=[TraceAction(step=1, tool="terminal", command="df -h")])
    TraceWriter(trace_log).append(row)
    html = client.get("/incidents/run-from-cli").get_data(as_text=True)
    assert "df -h" in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert client.get("/api/incidents/run-from-cli").get_json()["from_trace_log"] is True
    assert client.get("/incidents/nope").status_code == 404
    missing = client.get("/api/incidents/nope")
    assert missing.status_code == 404 and "no incident 'nope'" in missing.get_json()["error"]


def test_scorecard_is_the_cli_scorecard(client: FlaskClient, trace_log: Path) -> None:
    empty = client.get("/api/scorecard").get_json()
    assert empty["total_runs"] == 0  # no log yet: an empty card, not an error
    wait_job(client, start(client, scenarios=["port_mismatch"], incidents=2)["id"])
    resp = client.get("/api/scorecard?group_by=scenario")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == to_json(
        scorecard_from_log(trace_log, group_by="scenario"))
    card = resp.get_json()
    assert [(g["group"], g["runs"], g["fixed"]) for g in card["groups"]] == [
        ("port_mismatch", 2, 2)]
    report = client.get("/scorecard/report.html?group_by=scenario").get_data(as_text=True)
    assert "<svg" in report and "port_mismatch" in report
    page = client.get("/scorecard?group_by=scenario")
    assert page.status_code == 200 and "/scorecard/report.html?group_by=scenario" in \
        page.get_data(as_text=True)
    bad = client.get("/api/scorecard?group_by=colour")
    assert bad.status_code == 400 and "group-by" in bad.get_json()["error"]
    assert client.get("/scorecard?group_by=colour").status_code == 400
