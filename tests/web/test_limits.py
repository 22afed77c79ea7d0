"""Hostile sizes: the 1 MiB body limit (declared, chunked, exact), one set of field caps on
every intake path, and the schema stating the limits.

Where the HTTP layer matters (a body that is never sent, a chunked body) a real
`werkzeug.serving` server listens on 127.0.0.1, port 0, in a thread of this process.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.web import limits
from sre_agent.web.limits import (
    MAX_ALERTS_PER_PAYLOAD,
    MAX_BODY_BYTES,
    MAX_INCIDENT_TEXT,
    MAX_LABEL_VALUE,
    MAX_LIVE_TEXT,
    TRUNCATED,
)
from tests.web.helpers import JSON, CountingRunner, Server, alert, raw_request, wait_job, webhook


def test_a_body_over_one_mib_is_413_json(client: FlaskClient) -> None:
    assert MAX_BODY_BYTES == 1024 * 1024
    big = b'{"incident_text": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for path in ("/api/jobs", "/api/alerts", "/api/confirmations/x"):
        resp = client.post(path, data=big, headers=JSON)
        assert resp.status_code == 413, path
        assert "larger than 1048576 bytes" in resp.get_json()["error"]


def test_a_chunked_body_over_the_limit_is_413_without_a_content_length(
        client: FlaskClient) -> None:
    stream = io.BytesIO(b'{"alerts": ["' + b"x" * (MAX_BODY_BYTES + 10) + b'"]}')
    resp = client.post("/api/alerts", input_stream=stream, headers=JSON,
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413 and "error" in resp.get_json()
    assert stream.tell() <= MAX_BODY_BYTES + 64 * 1024  # read up to the limit, not the rest


def test_a_huge_declared_body_is_refused_before_it_is_sent(
        live: tuple[int, Server]) -> None:
    port, server = live
    head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1:{port}\n"
            "Content-Type: application/json\nContent-Length: 104857600\n")
    status, body, _ = raw_request(port, head)  # not one byte of the 100 MB is sent
    assert status == 413 and "larger than" in body["error"]
    assert server.runner.requests == []


def test_a_chunked_body_is_cut_off_at_the_limit(live: tuple[int, Server]) -> None:
    port, server = live
    head = (f"POST /api/alerts HTTP/1.1\nHost: 127.0.0.1:{port}\n"
            "Content-Type: application/json\nTransfer-Encoding: chunked\n")
    piece = b"x" * 65536
    endless = (b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(1024))  # 64 MiB, no end
    status, body, sent = raw_request(port, head, endless)
    assert status == 413 and "larger than" in body["error"]
    assert sent < 1024 * len(piece)  # answered while the body was still coming
    assert server.runner.requests == []


@pytest.mark.parametrize("size, status", [(MAX_BODY_BYTES, 400), (MAX_BODY_BYTES + 1, 413)])
def test_the_limit_is_exact_for_chunked_bodies(live: tuple[int, Server], size: int,
                                               status: int) -> None:
    port, _ = live
    head = (f"POST /api/alerts HTTP/1.1\nHost: 127.0.0.1:{port}\n"
            "Content-Type: application/json\nTransfer-Encoding: chunked\n")
    payload = b"[" + b" " * (size - 2) + b"]"  # valid JSON, but not an Alertmanager object
    got, _, _ = raw_request(port, head, [b"%x\r\n%s\r\n0\r\n\r\n" % (size, payload)])
    assert got == status


def test_jobs_refuse_and_alerts_truncate_at_the_same_caps(serve: Any) -> None:
    server = serve(CountingRunner())
    client = server.client
    over = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"],
                                          "incident_text": "x" * (MAX_INCIDENT_TEXT + 1)})
    assert over.status_code == 400 and "incident_text" in over.get_json()["error"]
    long_alert = alert(fingerprint="long", scenario="port_mismatch")
    long_alert["annotations"] = {"summary": "connection refused " + "s" * 600_000,
                                 "description": "d" * 300_000}
    resp = client.post("/api/alerts", json=webhook(long_alert))
    assert resp.status_code == 202
    decision = resp.get_json()["decisions"][0]
    wait_job(client, decision["job_id"])
    text = server.runner.requests[0].incident_text or ""
    assert len(text) <= MAX_INCIDENT_TEXT and text.endswith(TRUNCATED)
    assert text.startswith("TargetDown. connection refused")
    full = client.get(f"/api/incidents/{decision['incident_id']}").get_json()["incident"]
    assert len(full["incident_text"]) <= MAX_INCIDENT_TEXT
    assert all(len(v) <= MAX_LABEL_VALUE for v in full["alert"]["annotations"].values())
    assert full["alert"]["annotations"]["summary"].endswith(TRUNCATED)
    state = client.get("/api/state")
    assert len(state.get_data()) < 20_000  # 900 kB of alert text in, a few kB of state out
    shown = state.get_json()["incidents"][0]
    assert len(shown["incident_text"]) <= MAX_LIVE_TEXT and "annotations" not in shown["alert"]


def test_openapi_states_the_limits(client: FlaskClient) -> None:
    schema = client.get("/api/openapi.json").get_json()
    assert schema["info"]["x-limits"] == limits.as_dict()
    assert "1048576 bytes" in schema["info"]["description"]
    post = schema["paths"]["/api/jobs"]["post"]
    assert {"400", "403", "413", "415", "429", "500"} <= set(post["responses"])
    job_start = schema["components"]["schemas"]["JobStart"]["properties"]
    text = job_start["incident_text"]["anyOf"][0]
    assert text["maxLength"] == MAX_INCIDENT_TEXT
    alerts = schema["paths"]["/api/alerts"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert alerts["properties"]["alerts"]["maxItems"] == MAX_ALERTS_PER_PAYLOAD
    assert "truncated" in alerts["description"]
    labels = alerts["properties"]["alerts"]["items"]["properties"]["annotations"]
    assert labels["additionalProperties"]["maxLength"] == MAX_LABEL_VALUE
