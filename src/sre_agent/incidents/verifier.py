"""The verifier gate: the only judge of whether an incident is fixed.

Independent of the agent: it probes the sandbox's service from outside, on the port the
clients use, and calls a probe healthy only when `/health` answers 200 with
`{"status": "ok"}` *from the instance the sandbox started* (not an impostor on the port) and
`/ready` answers 200. Success is N consecutive healthy probes within a bounded number of
attempts, plus the scenario's ground-truth check on the files the fault lived in. It returns a
verdict with every probe; it never raises for an unhealthy service.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, Field

from sre_agent.errors import UsageError
from sre_agent.incidents.model import GroundTruth
from sre_agent.traces import VerifierProbe as Probe  # one probe model: the trace's schema


class ProbeTarget(Protocol):
    """What the verifier needs from a sandbox."""

    instance_id: str

    def connect(self, port: int, timeout: float) -> socket.socket: ...

    def ground_truth(self) -> GroundTruth: ...


class VerifySettings(BaseModel):
    consecutive_successes: int = Field(2, ge=1)
    max_attempts: int = Field(6, ge=1)
    interval_s: float = Field(1.5, ge=0)
    probe_timeout_s: float = Field(2.0, gt=0)
    ground_truth_timeout_s: float = Field(10.0, gt=0)

    def budget_s(self) -> float:
        """The longest a verification can take: every probe (two requests) at its timeout,
        every interval, then the ground truth at its timeout."""
        per_attempt = 2 * self.probe_timeout_s + self.interval_s
        return self.max_attempts * per_attempt + self.ground_truth_timeout_s

    def model_post_init(self, _ctx: object) -> None:
        if self.consecutive_successes > self.max_attempts:
            raise UsageError(
                f"--verify-consecutive-successes ({self.consecutive_successes}) exceeds "
                f"--verify-max-attempts ({self.max_attempts})",
                "the gate could never pass; raise the attempts or lower the successes")


class Verdict(BaseModel):
    healthy: bool
    probes: list[Probe]
    ground_truth_ok: bool | None = None
    ground_truth_detail: str = ""
    reason: str = ""
    first_green_at: float | None = None
    duration_s: float = 0.0


MAX_RESPONSE_BYTES = 65536


def _get(target: ProbeTarget, port: int, path: str, timeout: float) -> tuple[int, dict]:
    """GET over a socket from the sandbox, the *whole* exchange within `timeout` seconds
    (a service that drips bytes cannot stretch it) and at most MAX_RESPONSE_BYTES read."""
    deadline = time.monotonic() + timeout
    sock = target.connect(port, timeout)
    raw = b""
    try:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        while len(raw) <= MAX_RESPONSE_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete answer within {timeout:g}s")
            sock.settimeout(left)
            chunk = sock.recv(16384)
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
    head, sep, payload = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[1].isdigit():
        raise http.client.BadStatusLine(repr(head[:80]))
    try:
        body = json.loads(payload)
    except ValueError:
        body = {}
    return int(status_line[1]), body if isinstance(body, dict) else {}


def probe_once(target: ProbeTarget, port: int, attempt: int, timeout: float) -> Probe:
    """One probe: /health then /ready, each within `timeout` seconds."""
    url = f"http://127.0.0.1:{port}/health"
    started = time.time()
    t0 = time.perf_counter()
    probe = Probe(attempt=attempt, at=started, url=url)
    try:
        status, body = _get(target, port, "/health", timeout)
        probe.status = status
        if status != 200 or body.get("status") != "ok":
            probe.error = f"/health answered {status}: {body.get('error') or body or 'non-JSON'}"
        elif body.get("instance") != target.instance_id:
            probe.error = "impostor: /health answered by a process the sandbox did not start"
        else:
            ready_status, ready_body = _get(target, port, "/ready", timeout)
            if ready_status != 200 or ready_body.get("ready") is not True:
                probe.status = ready_status
                probe.error = f"/ready answered {ready_status}: {ready_body.get('reason', '')}"
            else:
                probe.ok = True
    except (OSError, http.client.HTTPException) as exc:
        probe.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    probe.latency_ms = round((time.perf_counter() - t0) * 1000, 2)
    return probe


def bounded_ground_truth(target: ProbeTarget, timeout_s: float) -> GroundTruth:
    """The target's ground truth, red with the reason if it raises or takes too long.

    It reads files the agent could have shaped; those reads are already non-blocking and
    capped, and this bound is the last line: a check that cannot complete never holds up the
    run (its thread is left to finish on its own, as a daemon).
    """
    result: list[GroundTruth] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            result.append(target.ground_truth())
        except Exception as exc:  # delivered as a red verdict below
            errors.append(exc)

    worker = threading.Thread(target=check, name="ground-truth", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if result:
        return result[0]
    if errors:
        exc = errors[0]
        return GroundTruth(False, f"ground truth could not be checked: {type(exc).__name__}: "
                                  f"{' '.join(str(exc).split())[:200]}", {"checkable": False})
    return GroundTruth(False, f"ground truth did not complete within {timeout_s:g}s",
                       {"checkable": False})


def verify(target: ProbeTarget, port: int, policy: VerifySettings | None = None, *,
           sleep: Callable[[float], None] = time.sleep,
           on_probe: Callable[[Probe], None] | None = None) -> Verdict:
    """Probe until N consecutive successes, or until success is no longer reachable.

    The first probe goes out at once (no initial wait). The gate stops early when the
    remaining attempts cannot make up the required streak.
    """
    policy = policy or VerifySettings()
    t0 = time.perf_counter()
    probes: list[Probe] = []
    streak = 0
    first_green: float | None = None
    for attempt in range(1, policy.max_attempts + 1):
        probe = probe_once(target, port, attempt, policy.probe_timeout_s)
        probes.append(probe)
        if on_probe:
            on_probe(probe)
        streak = streak + 1 if probe.ok else 0
        if probe.ok and streak == 1:
            first_green = probe.at
        if streak >= policy.consecutive_successes:
            break
        remaining = policy.max_attempts - attempt
        if streak + remaining < policy.consecutive_successes:
            break
        sleep(policy.interval_s)
    probes_ok = streak >= policy.consecutive_successes
    truth = bounded_ground_truth(target, policy.ground_truth_timeout_s)
    healthy = probes_ok and truth.ok
    if healthy:
        reason = (f"{policy.consecutive_successes} consecutive healthy probes; "
                  f"ground truth: {truth.detail}")
    elif probes_ok:
        reason = f"probes green but the root cause is not gone: {truth.detail}"
    else:
        last_error = next((p.error for p in reversed(probes) if p.error), "unhealthy")
        reason = (f"no {policy.consecutive_successes} consecutive healthy probes in "
                  f"{len(probes)} attempts; last: {last_error}")
    return Verdict(healthy=healthy, probes=probes, ground_truth_ok=truth.ok,
                   ground_truth_detail=truth.detail, reason=reason,
                   first_green_at=first_green if healthy else None,
                   duration_s=round(time.perf_counter() - t0, 3))
