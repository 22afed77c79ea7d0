"""The verifier gate against real local HTTP servers standing in for a sandbox's service.

The target's incident is the built-in pack's `healthy_noop` (its steady-state hypothesis:
/health 200 with the sandbox's instance, /ready 200), with the service port pointed at the
test's server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sre_agent.errors import UsageError
from sre_agent.incidents import (
    GroundTruth,
    VerifySettings,
    pack_of,
    plan_incident,
    verifier,
    verify,
)
from sre_agent.incidents.spec import SteadyState
from sre_agent.incidents.templates import Values


class Target:
    """A fake sandbox: a loopback server whose answers the test controls."""

    def __init__(self, instance: str = "inst-1") -> None:
        self.instance_id = instance
        self.health_status = 200
        self.body_instance = instance
        self.ready = True
        self.truth = GroundTruth(True, "fine")
        self.answers: list[int] = []  # scripted /health statuses, consumed in order
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/health":
                    status = target.answers.pop(0) if target.answers else target.health_status
                    body = {"status": "ok" if status == 200 else "error",
                            "instance": target.body_instance}
                else:
                    status = 200 if target.ready else 503
                    body = {"ready": target.ready}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.incident = plan_incident("healthy_noop", 1)
        self.incident.ports["service"] = self.port
        self.supervised: bool | None = None  # what listener_supervised answers

    def connect(self, port: int, timeout: float) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def run_inside(self, command: str, timeout: float) -> tuple[int, str]:
        raise AssertionError("no process probe in this pack")

    def listener_supervised(self, port: int) -> bool | None:
        return self.supervised

    def ground_truth(self) -> GroundTruth:
        return self.truth

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.close()


def check(target: Target, settings: VerifySettings, **kw: object):  # noqa: ANN201
    values = Values(ports=target.incident.ports, instance=target.instance_id)
    return verify(target, settings, render=lambda obj: values.render_obj(obj), **kw)


def _no_sleep(sleeps: list[float]):  # records waits instead of sleeping
    return sleeps.append


def test_green_after_n_consecutive_without_initial_wait(target: Target) -> None:
    sleeps: list[float] = []
    verdict = check(target, VerifySettings(), sleep=_no_sleep(sleeps))
    assert verdict.healthy and len(verdict.probes) == 2
    assert sleeps == [1.5], "one wait between the two probes, none before the first"
    assert verdict.first_green_at == verdict.probes[0].at


def test_streak_must_be_consecutive(target: Target) -> None:
    target.answers = [200, 503, 200, 200]
    verdict = check(target, VerifySettings(), sleep=lambda s: None)
    assert verdict.healthy
    assert [p.ok for p in verdict.probes] == [True, False, True, True]
    assert verdict.first_green_at == verdict.probes[2].at, "TTM counts from the final streak"


def test_red_stops_once_success_is_unreachable(target: Target) -> None:
    target.health_status = 503
    verdict = check(target, VerifySettings(max_attempts=6), sleep=lambda s: None)
    assert not verdict.healthy
    assert len(verdict.probes) == 5, "after 5 failures one attempt cannot make a streak of 2"
    assert "503" in verdict.reason and verdict.first_green_at is None


def test_impostor_on_the_port_is_not_healthy(target: Target) -> None:
    target.body_instance = "someone-else"
    verdict = check(target, VerifySettings(max_attempts=2), sleep=lambda s: None)
    assert not verdict.healthy and "impostor" in verdict.reason


def test_a_listener_the_supervisor_did_not_start_is_an_impostor(target: Target) -> None:
    target.supervised = False  # even with a perfect copy of the healthy answers
    verdict = check(target, VerifySettings(max_attempts=2), sleep=lambda s: None)
    assert not verdict.healthy and "impostor" in verdict.reason and "supervisor" in verdict.reason


def test_settle_window_needs_the_streak_to_last(target: Target,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pack, _ = pack_of(target.incident)
    state = pack.spec.service.steady_state
    settled = SteadyState(title=state.title, probes=state.probes, settle_s=0.5)
    monkeypatch.setattr(verifier, "steady_state", lambda pack, spec: settled)
    verdict = check(target, VerifySettings(interval_s=0.2))
    assert verdict.healthy and len(verdict.probes) >= 4
    assert verdict.probes[-1].at - verdict.probes[0].at >= 0.5
    assert "sustained" in verdict.reason


def test_ready_must_pass_too(target: Target) -> None:
    target.ready = False
    verdict = check(target, VerifySettings(max_attempts=2), sleep=lambda s: None)
    assert not verdict.healthy and "/ready" in verdict.reason


def test_green_probes_with_root_cause_present_is_red(target: Target) -> None:
    target.truth = GroundTruth(False, "lock still there")
    verdict = check(target, VerifySettings(), sleep=lambda s: None)
    assert not verdict.healthy and verdict.ground_truth_ok is False
    assert "lock still there" in verdict.reason


def test_connection_refused_is_a_probe_error_not_an_exception(target: Target) -> None:
    target.close()
    verdict = check(target, VerifySettings(max_attempts=2), sleep=lambda s: None)
    assert not verdict.healthy
    assert all(p.error and "Connection" in p.error for p in verdict.probes)


def test_impossible_policy_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="exceeds"):
        VerifySettings(consecutive_successes=5, max_attempts=3)
