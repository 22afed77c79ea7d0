"""The web server against a hostile client: body and field limits, the server-wide in-flight
cap and bounded state, Origin/Host checks, malformed JSON, unexpected errors, and redaction
of everything served.

Runs use `FakeRunner` from `test_web` (no sandbox, no SDK). Where the HTTP layer matters
(a body that is never sent, a chunked body) a real `werkzeug.serving` server listens on
127.0.0.1, port 0, in a thread of this process.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from sre_agent.runs.runner import RunHooks, RunRequest
from sre_agent.traces import TraceRow
from sre_agent.web import JobManager, WebState, create_app, limits
from sre_agent.web.events import EventHub
from sre_agent.web.limits import (
    MAX_ALERTS_PER_PAYLOAD,
    MAX_BODY_BYTES,
    MAX_INCIDENT_TEXT,
    MAX_JSON_DEPTH,
    MAX_LABEL_VALUE,
    MAX_LABELS_PER_ALERT,
    MAX_LIVE_TEXT,
    TRUNCATED,
)
from sre_agent.web.schemas import Busy
from tests.test_web import FakeRunner, alert, incidents, wait_for, wait_job, webhook

JSON = {"Content-Type": "application/json"}


class CountingRunner(FakeRunner):
    """A FakeRunner that counts the runs in progress (and the most ever at once)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return super().__call__(req, hooks)
        finally:
            with self.lock:
                self.now -= 1


class Server:
    """An app under test: its test client, job manager and runner."""

    def __init__(self, trace_log: Path, runner: FakeRunner, manager: dict[str, Any],
                 state: dict[str, Any]) -> None:
        self.runner = runner
        self.jobs = JobManager(trace_log, runner, stop_wait_s=5, **manager)
        self.app = create_app(WebState(jobs=self.jobs, trace_log=trace_log, keepalive_s=0.2,
                                       **state))
        self.client: FlaskClient = self.app.test_client()

    def close(self) -> None:
        self.runner.release.set()
        assert self.jobs.shutdown(wait_s=10) == []


@pytest.fixture
def trace_log(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "trace_log.jsonl"


@pytest.fixture
def serve(trace_log: Path) -> Iterator[Any]:
    made: list[Server] = []

    def make(runner: FakeRunner | None = None, state: dict[str, Any] | None = None,
             **manager: Any) -> Server:
        made.append(Server(trace_log, runner or FakeRunner(), manager, state or {}))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def client(serve: Any) -> FlaskClient:
    return serve().client


@pytest.fixture
def live(serve: Any) -> Iterator[tuple[int, Server]]:
    """A real werkzeug server on 127.0.0.1 (any free port) in a thread."""
    server = serve()
    http = make_server("127.0.0.1", 0, server.app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield http.server_port, server
    http.shutdown()
    http.server_close()
    thread.join(10)


def raw_request(port: int, head: str, body: Iterable[bytes] = (), timeout_s: float = 10
                ) -> tuple[int, dict[str, Any], int]:
    """Send a hand-made request, its body from `body` (in a thread, until the response
    arrives), read the response until the server closes the connection; returns (status,
    JSON body, body bytes sent)."""
    sent = 0
    responded = threading.Event()
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")

        def send() -> None:
            nonlocal sent
            try:
                for part in body:
                    if responded.is_set():
                        break
                    sock.sendall(part)
                    sent += len(part)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            while chunk := sock.recv(65536):
                data += chunk
                responded.set()
        except ConnectionResetError:  # the server dropped what we sent past the response
            pass
        responded.set()
        sender.join(timeout_s)
    header, _, payload = data.partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(payload), sent


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- 1. the body limit --------------------------------------------------------------------------

def test_a_body_over_one_mib_is_413_json(client: FlaskClient) -> None:
    assert MAX_BODY_BYTES == 1024 * 1024
    big = b'{"incident_text": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for path in ("/api/jobs", "/api/alerts", "/api/confirmations/x"):
        resp = client.post(path, data=big, headers=JSON)
        assert resp.status_code == 413, path
        assert "larger than 1048576 bytes" in resp.get_json()["error"]


def test_a_chunked_body_over_the_limit_is_413_without_a_content_length(
        client: FlaskClient) -> None:
    import io

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


# -- 2. one set of field caps on every intake path ----------------------------------------------

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


# -- 3. the in-flight cap, queueing and bounded state ---------------------------------------------

def test_incidents_in_flight_are_capped_across_jobs_and_alerts(serve: Any,
                                                                trace_log: Path) -> None:
    server = serve(CountingRunner(hold=True), max_in_flight=2)
    client, runner = server.client, server.runner
    job = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"],
                                         "incidents": 3, "concurrency": 3}).get_json()
    firing = [alert(fingerprint=f"cap{i}", scenario="port_mismatch") for i in range(3)]
    out = client.post("/api/alerts", json=webhook(*firing)).get_json()
    assert out["started"] == 3
    wait_for(lambda: runner.now == 2, "two runs in flight")
    wait_for(lambda: sorted(i["state"] for i in incidents(client).values()).count("queued")
             == 4, "the four others to show as queued")
    time.sleep(0.3)  # a third run would have started by now if the cap leaked
    assert runner.now == 2 and len(runner.requests) == 2
    capacity = client.get("/api/state").get_json()["capacity"]
    assert capacity["in_flight"] == 2 and capacity["max_in_flight"] == 2
    assert capacity["waiting"] >= 2
    runner.release.set()
    for job_id in [job["id"]] + [d["job_id"] for d in out["decisions"]]:
        assert wait_job(client, job_id)["state"] == "finished"
    assert runner.peak == 2 and server.jobs.gate.counts()["peak_in_flight"] == 2
    assert len(trace_log.read_text().splitlines()) == 6
    assert {i["status"] for i in incidents(client).values()} == {"fixed"}


def test_an_incident_cancelled_while_queued_for_a_slot_never_runs(serve: Any,
                                                                   trace_log: Path) -> None:
    server = serve(CountingRunner(hold=True), max_in_flight=1)
    client, runner = server.client, server.runner
    first = client.post("/api/jobs", json={"simulate": True,
                                           "scenarios": ["port_mismatch"]}).get_json()
    wait_for(lambda: runner.now == 1, "the first run")
    second = client.post("/api/jobs", json={"simulate": True,
                                            "scenarios": ["port_mismatch"]}).get_json()
    wait_for(lambda: server.jobs.gate.counts()["waiting"] == 1, "the second run to wait")
    waiting = second["id"] + "-000"
    assert incidents(client)[waiting]["state"] == "queued"
    assert client.post(f"/api/incidents/{waiting}/cancel", json={}).get_json()["cancelled"]
    wait_job(client, second["id"])
    inc = incidents(client)[waiting]
    assert inc["status"] == "cancelled" and "never started" in inc["reason"]
    runner.release.set()
    wait_job(client, first["id"])
    assert len(runner.requests) == 1 and len(trace_log.read_text().splitlines()) == 1


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


def test_event_streams_are_capped() -> None:
    hub = EventHub(queue_size=4, max_subscribers=2)
    hub.subscribe()
    hub.subscribe()
    with pytest.raises(Busy):
        hub.subscribe()


def test_an_event_stream_past_the_cap_is_429(serve: Any) -> None:
    server = serve()
    subs = [server.jobs.subscribe() for _ in range(limits.MAX_SUBSCRIBERS)]
    assert server.client.get("/api/events").status_code == 429
    server.jobs.unsubscribe(subs[0])
    resp = server.client.get("/api/events", buffered=False)
    assert resp.status_code == 200
    resp.close()


def test_serve_caps_in_flight_at_the_library_default() -> None:
    from sre_agent.cli import serve as serve_cli

    option = inspect.signature(serve_cli.command).parameters["max_in_flight"].default
    assert option.default == limits.DEFAULT_MAX_IN_FLIGHT
    assert f"default {limits.DEFAULT_MAX_IN_FLIGHT}" in option.help
    assert JobManager(None).max_in_flight == limits.DEFAULT_MAX_IN_FLIGHT


# -- 4. Origin and Host -------------------------------------------------------------------------

@pytest.mark.parametrize("origin, status", [
    (None, 202), ("http://localhost", 202), ("HTTP://LOCALHOST:80", 202),
    ("http://evil.example", 403), ("null", 403), ("http://localhost:8009", 403),
    ("https://localhost", 403), ("http://localhost.evil.example", 403),
])
def test_state_changing_requests_must_come_from_our_origin(client: FlaskClient,
                                                           origin: str | None,
                                                           status: int) -> None:
    headers = {"Origin": origin} if origin else {}
    resp = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"]},
                       headers=headers)
    assert resp.status_code == status, resp.get_json()
    if status == 403:
        assert "Origin" in resp.get_json()["error"]


def test_every_state_changing_method_is_origin_checked(client: FlaskClient) -> None:
    evil = {"Origin": "http://evil.example"}
    for method in ("post", "put", "patch", "delete"):
        resp = getattr(client, method)("/api/alerts", json=webhook(), headers=evil)
        assert resp.status_code == 403, method
    assert client.get("/api/state", headers=evil).status_code == 200  # reads: no Origin rule
    ours = client.post("/api/alerts", json=webhook(), headers={"Origin": "http://localhost"})
    assert ours.status_code == 200


def test_host_must_be_loopback_when_bound_to_loopback_even_with_a_token(serve: Any) -> None:
    token = {"X-Api-Token": "s3cret-token-0123456789"}
    local = serve(state={"token": "s3cret-token-0123456789"}).client
    assert local.get("/api/state", headers={**token, "Host": "evil.example"}).status_code == 403
    assert local.get("/api/state", headers={**token, "Host": "127.0.0.1:8008"}).status_code \
        == 200
    remote = serve(state={"token": "s3cret-token-0123456789", "bind_host": "0.0.0.0"}).client
    assert remote.get("/api/state", headers={**token, "Host": "sre.example:8008"}).status_code \
        == 200
    assert remote.get("/api/state", headers={"Host": "sre.example:8008"}).status_code == 401
    cross = remote.post("/api/jobs", json={}, headers={
        **token, "Host": "sre.example:8008", "Origin": "http://evil.example"})
    assert cross.status_code == 403


def test_origin_is_checked_against_the_address_the_client_used(
        live: tuple[int, Server]) -> None:
    port, _ = live
    body = json.dumps(webhook()).encode()
    for origin, status in ((f"http://127.0.0.1:{port}", 200), ("http://127.0.0.1", 403),
                           (f"http://evil.example:{port}", 403)):
        head = (f"POST /api/alerts HTTP/1.1\nHost: 127.0.0.1:{port}\nOrigin: {origin}\n"
                f"Content-Type: application/json\nContent-Length: {len(body)}\n")
        assert raw_request(port, head, [body])[0] == status, origin


# -- 5. malformed JSON and unexpected errors ----------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    ("{", "not valid JSON"), ('{"a": }', "not valid JSON"), ("\xff", "not valid JSON"),
    (nested(100_000), "nests too deeply"), (nested(MAX_JSON_DEPTH + 1), "nests too deeply"),
    ('{"a": ' * 40 + "1" + "}" * 40, "nests too deeply"),
])
def test_malformed_or_absurdly_nested_json_is_400_without_a_traceback(
        client: FlaskClient, caplog: pytest.LogCaptureFixture, raw: str,
        message: str) -> None:
    caplog.set_level(logging.DEBUG)
    for path in ("/api/jobs", "/api/alerts", "/api/confirmations/x"):
        resp = client.post(path, data=raw.encode("latin-1"), headers=JSON)
        assert resp.status_code == 400, path
        assert message in resp.get_json()["error"]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_deep_json_through_the_real_server_logs_no_traceback(
        live: tuple[int, Server], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port, _ = live
    body = nested(100_000).encode()
    head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1:{port}\n"
            f"Content-Type: application/json\nContent-Length: {len(body)}\n")
    status, error, _ = raw_request(port, head, [body])
    assert status == 400 and "nests too deeply" in error["error"]
    assert "Traceback" not in caplog.text and "Error on request" not in caplog.text


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


# -- 6. redaction of everything served ----------------------------------------------------------

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


# -- 7. the schema states the limits ------------------------------------------------------------

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
