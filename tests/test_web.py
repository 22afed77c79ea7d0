"""The web UI's API and pages, driven with Flask's test client and a fake `run_incident`.

`FakeRunner` stands in for the runner (no sandbox, no SDK): it reports progress like
`run_incident`, may ask its confirmer about a risky action, may wait to be released or
cancelled, then writes a trace row to the log. Everything else is the real code: the job
manager, the fan-out dispatcher, the alert intake, the scorecard.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.agent.driver import ConfirmAnswer, PendingAction
from sre_agent.errors import UsageError
from sre_agent.runs.runner import RunHooks, RunRequest
from sre_agent.scoring import scorecard_from_log, to_json
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    VerifierProbe,
    summarize_actions,
)
from sre_agent.web import JobManager, WebState, check_bind, create_app
from sre_agent.web.markdown import render

JSON = {"Content-Type": "application/json"}


class FakeRunner:
    """A deterministic stand-in for `run_incident` (see the module docstring)."""

    def __init__(self, *, ask: bool = False, hold: bool = False) -> None:
        self.ask = ask
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.answers: list[ConfirmAnswer] = []
        self.requests: list[RunRequest] = []

    def __call__(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        self.requests.append(req)
        started = time.time()
        assert hooks.on_progress is not None and hooks.cancel is not None
        hooks.on_progress("planned", {"skill": "port-mismatch", "run_id": req.run_id})
        hooks.on_progress("sandbox_ready", {})
        actions = [TraceAction(step=1, tool="terminal", command="svc status", risk="LOW",
                               observation="app RUNNING <b>not bold</b>", exit_code=0)]
        hooks.on_progress("action", {"action": actions[0]})
        approved = True
        if self.ask:
            assert hooks.confirmer is not None
            answer = hooks.confirmer(PendingAction("terminal", "svc restart app", "MEDIUM",
                                                   ["restarts a supervised program"]))
            self.answers.append(answer)
            approved = answer.approve
            actions.append(TraceAction(
                step=2, tool="terminal", command="svc restart app", risk="MEDIUM",
                decision="confirm_approved" if approved else "confirm_rejected",
                mutating=True))
        while not self.release.wait(0.02):
            if hooks.cancel.is_set():
                break
        cancelled = hooks.cancel.is_set()
        healthy = approved and not cancelled
        hooks.on_progress("verifying", {})
        row = TraceRow(
            run_id=req.run_id or "run-x", started_at=started, incident_started_at=started,
            scenario=req.scenario, seed=req.seed, incident_text=req.incident_text or "",
            skill_id="port-mismatch", model="fake", simulated=True, steps=len(actions),
            actions=actions, service_up=healthy, ended_at=time.time(), duration_s=0.1,
            status="cancelled" if cancelled else ("fixed" if healthy else "not_fixed"),
            reason="cancelled" if cancelled else ("green" if healthy else "still red"),
            verdict=None if cancelled else TraceVerdict(
                healthy=healthy, reason="2 consecutive healthy probes" if healthy else "red",
                ground_truth_ok=healthy,
                probes=[VerifierProbe(attempt=1, at=started + 0.05, ok=healthy,
                                      url="http://127.0.0.1:5000/health",
                                      status=200 if healthy else 503, latency_ms=1.5)]),
            **summarize_actions(actions))
        if req.trace_log is not None:
            TraceWriter(req.trace_log).append(row)
        return row


def wait_for(predicate: Callable[[], Any], what: str, limit_s: float = 15.0) -> Any:
    """Poll until `predicate()` is truthy (a liveness deadline, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def trace_log(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "trace_log.jsonl"


def make_client(trace_log: Path, runner: FakeRunner, **state: Any) -> tuple[FlaskClient,
                                                                              JobManager]:
    manager_kw = {k: state.pop(k) for k in ("confirm_timeout_s",) if k in state}
    jobs = JobManager(trace_log, runner, stop_wait_s=5, **manager_kw)
    app = create_app(WebState(jobs=jobs, trace_log=trace_log, keepalive_s=0.2, **state))
    return app.test_client(), jobs


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def client(trace_log: Path, runner: FakeRunner) -> Iterator[FlaskClient]:
    c, jobs = make_client(trace_log, runner)
    yield c
    runner.release.set()
    assert jobs.shutdown(wait_s=10) == []


def start(client: FlaskClient, **body: Any) -> dict[str, Any]:
    body.setdefault("simulate", True)
    resp = client.post("/api/jobs", json=body)
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()


def job_state(client: FlaskClient, job_id: str) -> dict[str, Any]:
    return client.get(f"/api/jobs/{job_id}").get_json()


def wait_job(client: FlaskClient, job_id: str) -> dict[str, Any]:
    return wait_for(lambda: (j := job_state(client, job_id))["state"]
                    in ("finished", "stopped", "error") and j, f"job {job_id} to end")


def incidents(client: FlaskClient) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in client.get("/api/state").get_json()["incidents"]}


# -- start, state, pages ------------------------------------------------------------------------

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
    assert (req.simulate, req.max_risk, req.confirm_risk, req.trace_log) == (
        True, "HIGH", "MEDIUM", trace_log)
    assert len(trace_log.read_text().splitlines()) == 3


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


# -- stop and cancel ----------------------------------------------------------------------------

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


# -- confirmations ------------------------------------------------------------------------------

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


# -- scorecard ----------------------------------------------------------------------------------

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


# -- alerts -------------------------------------------------------------------------------------

def alert(status: str = "firing", fingerprint: str = "fp1", **labels: str) -> dict[str, Any]:
    return {"status": status, "fingerprint": fingerprint,
            "labels": {"alertname": "TargetDown", **labels},
            "annotations": {"summary": "connection refused on the client port",
                            "description": "the service listens on the wrong port"},
            "startsAt": "2025-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


def webhook(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "sre-agent",
            "groupKey": "{}:{alertname=\"TargetDown\"}", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "truncatedAlerts": 0, "alerts": list(alerts)}


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


# -- bad input, auth, schema ----------------------------------------------------------------------

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


def test_other_bad_requests(client: FlaskClient) -> None:
    form = client.post("/api/jobs", data="incidents=1")
    assert form.status_code == 415 and "application/json" in form.get_json()["error"]
    assert client.post("/api/jobs", data="{", headers=JSON).status_code == 400
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.post("/api/jobs/nope/stop", json={}).status_code == 404
    assert client.get("/api/nothing-here").get_json()["error"]
    assert client.delete("/api/jobs").status_code == 405
    assert client.post("/api/confirmations/nope", json={"approve": True}).status_code == 404
    bad = client.post("/api/confirmations/nope", json={"approve": "yes"})
    assert bad.status_code == 400 and "approve" in bad.get_json()["error"]


def test_a_token_is_required_when_configured(trace_log: Path, runner: FakeRunner) -> None:
    client, _ = make_client(trace_log, runner, token="s3cret-token-0123456789")
    assert client.get("/api/state").status_code == 401
    assert client.get("/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/state", headers={
        "Authorization": "Bearer s3cret-token-0123456789"}).status_code == 200
    assert client.get("/api/state", headers={
        "X-Api-Token": "s3cret-token-0123456789"}).status_code == 200
    assert client.post("/api/alerts", json=webhook()).status_code == 401
    assert client.get("/").status_code == 401  # the page asks for the token
    login = client.get("/?token=s3cret-token-0123456789")
    assert login.status_code == 302 and "HttpOnly" in login.headers["Set-Cookie"]
    assert client.get("/").status_code == 200  # the browser now holds the cookie
    assert client.get("/api/state").status_code == 200


def test_without_a_token_only_loopback_host_names_are_served(client: FlaskClient) -> None:
    assert client.get("/api/state", headers={"Host": "127.0.0.1:8008"}).status_code == 200
    assert client.get("/api/state", headers={"Host": "[::1]:8008"}).status_code == 200
    assert client.get("/api/state", headers={"Host": "evil.example:8008"}).status_code == 403


def test_binding_beyond_loopback_needs_allow_remote_and_a_token() -> None:
    check_bind("127.0.0.1", None, False)
    check_bind("localhost", None, False)
    check_bind("::1", None, False)
    with pytest.raises(UsageError, match="not a loopback"):
        check_bind("0.0.0.0", "a-long-enough-token-123", False)
    with pytest.raises(UsageError, match="needs --token"):
        check_bind("0.0.0.0", None, True)
    with pytest.raises(UsageError, match="at least 16"):
        check_bind("0.0.0.0", "short", True)
    check_bind("0.0.0.0", "a-long-enough-token-123", True)


def test_serve_refuses_a_remote_host_without_allow_remote() -> None:
    from sre_agent.cli.main import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2


def test_openapi_documents_exactly_the_api(client: FlaskClient) -> None:
    schema = client.get("/api/openapi.json").get_json()
    assert schema["openapi"].startswith("3.")
    app = client.application
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            served.setdefault(path, set()).update(
                m.lower() for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))
    documented = {p: set(ops) for p, ops in schema["paths"].items()}
    assert documented == served
    json.dumps(schema)  # serialisable


def test_events_stream_incident_updates(client: FlaskClient) -> None:
    resp = client.get("/api/events", buffered=False)
    assert resp.mimetype == "text/event-stream"
    chunks = (c.decode() if isinstance(c, bytes) else c for c in resp.response)
    assert next(chunks).startswith("retry:")
    start(client, scenarios=["port_mismatch"])
    seen = ""
    deadline = time.monotonic() + 15
    while "event: incident" not in seen or '"status": "fixed"' not in seen:
        assert time.monotonic() < deadline, "no incident event on the stream"
        seen += next(chunks)
    assert "event: job" in seen and "event: action" in seen
    resp.close()


def test_markdown_is_escaped_and_links_are_only_http() -> None:
    html = render("# T <x>\n\nrun `rm -rf <dir>` **now**\n\n- a [x](javascript:alert(1))\n"
                  "- [ok](https://example.org/a?b=1&c=2)\n\n```\n<script>\n```")
    assert "<h2>T &lt;x&gt;</h2>" in html
    assert "<code>rm -rf &lt;dir&gt;</code> <strong>now</strong>" in html
    assert 'href="javascript' not in html and "x (javascript:alert(1))" in html
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html
    assert "<pre><code>&lt;script&gt;</code></pre>" in html
