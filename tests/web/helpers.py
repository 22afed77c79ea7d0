"""Shared helpers of the web tests: a fake runner, a test app, polling, Alertmanager payloads,
and a raw HTTP client for the tests where the HTTP layer matters.

`FakeRunner` stands in for `run_incident` (no sandbox, no SDK): it reports progress like
`run_incident`, may ask its confirmer about a risky action, may wait to be released or
cancelled, then writes a trace row to the log. Everything else the tests drive is the real
code: the job manager, the fan-out dispatcher, the alert intake, the scorecard.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from sre_agent.agent import ConfirmAnswer, PendingAction
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    VerifierProbe,
    summarize_actions,
)
from sre_agent.web import JobManager, WebState, create_app

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


def make_client(trace_log: Path, runner: FakeRunner, **state: Any) -> tuple[FlaskClient,
                                                                              JobManager]:
    manager_kw = {k: state.pop(k) for k in ("confirm_timeout_s",) if k in state}
    jobs = JobManager(trace_log, runner, stop_wait_s=5, **manager_kw)
    app = create_app(WebState(jobs=jobs, trace_log=trace_log, keepalive_s=0.2, **state))
    return app.test_client(), jobs


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
