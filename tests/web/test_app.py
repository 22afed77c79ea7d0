"""The app as a whole: error responses, the OpenAPI schema matching the routes, an unexpected
error without the request body in the log, and redaction of everything served."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.helpers import JSON, alert, wait_job, webhook


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


def test_an_unexpected_error_is_a_500_json_and_its_log_has_no_body(
        serve: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve()
    marker = "BODY-MARKER-7f3a"

    def explode(spec: Any, **kw: Any) -> Any:
        raise RuntimeError(f"could not start {spec.incident_text}")

    monkeypatch.setattr(server.jobs, "start", explode)
    caplog.set_level(logging.DEBUG)
    resp = server.client.post("/api/jobs", json={"incident_text": marker})
    assert resp.status_code == 500 and resp.get_json()["error"] == "internal error"
    assert "RuntimeError" in caplog.text and "/api/jobs" in caplog.text
    assert marker not in caplog.text and marker not in resp.get_data(as_text=True)


def test_secrets_in_alerts_never_leave_the_server(serve: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-" + "Q7vX2mN9pL4kR8sT1wY6zA3b"
    plain = "hunter2-correct-horse-battery"  # a value with no token shape: known by name
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("BILLING_DB_PASSWORD", plain)
    server = serve()
    client = server.client
    events = client.get("/api/events", buffered=False)
    chunks = (c.decode() if isinstance(c, bytes) else c for c in events.response)
    seen = next(chunks)
    leaky = f"connection refused; OPENAI_API_KEY={key} password {plain}"
    firing = alert(fingerprint="leak1", scenario="port_mismatch")
    firing["annotations"]["summary"] = leaky
    human = alert(fingerprint="leak2")
    human["annotations"]["description"] = leaky
    human["labels"]["token_hint"] = plain
    # Raw bodies: the test client's `json=` goes through the app's (redacting) JSON provider.
    def post(path: str, payload: Any) -> Any:
        raw = json.dumps(payload)
        assert key in raw or plain in raw
        return client.post(path, data=raw, headers=JSON)

    bodies = [post("/api/alerts", webhook(firing, human)).get_data(as_text=True)]
    decisions = json.loads(bodies[0])["decisions"]
    job = post("/api/jobs", {"simulate": True, "scenarios": ["port_mismatch"],
                             "incident_text": leaky})
    bodies.append(job.get_data(as_text=True))
    bad = post("/api/jobs", {"scenarios": [key]})  # echoed in the error
    assert bad.status_code == 400
    bodies.append(bad.get_data(as_text=True))
    for job_id in (decisions[0]["job_id"], job.get_json()["id"]):
        wait_job(client, job_id)
    deadline = time.monotonic() + 15
    while seen.count('"status": "fixed"') < 2:
        assert time.monotonic() < deadline, "the runs' events never came"
        seen += next(chunks)
    events.close()
    bodies.append(seen)
    bodies.append(client.get("/api/state").get_data(as_text=True))
    bodies.append(client.get("/api/jobs").get_data(as_text=True))
    for d in decisions:
        bodies.append(client.get(f"/api/incidents/{d['incident_id']}").get_data(as_text=True))
        bodies.append(client.get(f"/incidents/{d['incident_id']}").get_data(as_text=True))
    assert key in server.runner.requests[0].incident_text  # it did reach the server
    everything = "\n".join(bodies)
    assert "[REDACTED:" in everything and "connection refused" in everything
    assert key not in everything and plain not in everything
    assert "Q7vX2mN9pL4kR8sT1wY6zA3b" not in everything
