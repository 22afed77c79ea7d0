"""The verifier gate: the only judge of whether an incident is fixed.

Independent of the agent: it probes the sandbox's service from outside with the pack's
steady-state hypothesis (HTTP probes on the sandbox's own loopback; process probes inside the
sandbox with a clean environment) and calls an attempt healthy only when every probe is within
its tolerance *and* every probed port is served by a process the sandbox's supervisor started
(an impostor on the port is red). Success is N consecutive healthy attempts, sustained over the
hypothesis's settle window, within a bounded number of attempts, plus the scenario's ground
truth. It returns a verdict with every attempt; it never raises for an unhealthy service.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field

from sre_agent.errors import UsageError
from sre_agent.incidents.catalogue import pack_of, steady_state
from sre_agent.incidents.model import GroundTruth, Incident
from sre_agent.incidents.spec import HttpProvider, JsonPathTolerance, ProbeSpec, SteadyState
from sre_agent.incidents.tolerance import as_data, describe, fits, from_data
from sre_agent.traces import VerifierProbe as Probe  # one probe model: the trace's schema

MAX_RESPONSE_BYTES = 65536


class ProbeTarget(Protocol):
    """What the verifier needs from a sandbox."""

    instance_id: str
    incident: Incident

    def connect(self, port: int, timeout: float) -> socket.socket: ...

    def run_inside(self, command: str, timeout: float) -> tuple[int, str]: ...

    def listener_supervised(self, port: int) -> bool | None: ...

    def ground_truth(self) -> GroundTruth: ...


class VerifySettings(BaseModel):
    consecutive_successes: int = Field(2, ge=1)
    max_attempts: int = Field(6, ge=1)
    interval_s: float = Field(1.5, ge=0)
    probe_timeout_s: float = Field(2.0, gt=0)
    ground_truth_timeout_s: float = Field(10.0, gt=0)

    def attempts(self, settle_s: float) -> int:
        """Attempts allowed: enough to see a streak that lasts the settle window."""
        needed = self.consecutive_successes + math.ceil(settle_s / max(self.interval_s, 0.1))
        return max(self.max_attempts, needed)

    def budget_s(self, probes: int = 2, settle_s: float = 0.0) -> float:
        """The longest a verification can take: every probe of every attempt at its timeout,
        every interval, then the ground truth at its timeout."""
        per_attempt = probes * self.probe_timeout_s + self.interval_s
        return self.attempts(settle_s) * per_attempt + self.ground_truth_timeout_s

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


def http_exchange(target: ProbeTarget, port: int, provider: HttpProvider,
             timeout: float) -> tuple[int, bytes]:
    """One HTTP exchange over a socket from the sandbox, the *whole* of it within `timeout`
    seconds (a service that drips bytes cannot stretch it), at most MAX_RESPONSE_BYTES read."""
    deadline = time.monotonic() + timeout
    sock = target.connect(port, timeout)
    raw = b""
    try:
        if provider.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the listener's identity is checked apart
            sock = context.wrap_socket(sock)
        body = (provider.body or "").encode()
        head = [f"{provider.method} {provider.path} HTTP/1.0", f"Host: 127.0.0.1:{port}",
                "Connection: close", *(f"{k}: {v}" for k, v in provider.headers.items())]
        if body:
            head.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
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
    head_bytes, sep, payload = raw.partition(b"\r\n\r\n")
    status_line = head_bytes.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[1].isdigit():
        raise http.client.BadStatusLine(repr(head_bytes[:80]))
    return int(status_line[1]), payload


def _check_http(target: ProbeTarget, spec: ProbeSpec, render: Callable[[Any], Any],
                timeout: float) -> tuple[int | None, str | None]:
    provider = spec.provider
    assert isinstance(provider, HttpProvider)
    provider = provider.model_copy(update={  # the request's own templates, like the checks'
        "path": render(provider.path), "headers": render(dict(provider.headers)),
        "body": None if provider.body is None else render(provider.body)})
    port = target.incident.ports[provider.port]
    t0 = time.perf_counter()
    status, body = http_exchange(target, port, provider, timeout)
    latency = (time.perf_counter() - t0) * 1000
    where = f"{provider.path} on {provider.port} ({port})"
    expected_status = spec.status if spec.status is not None else 200
    if not fits(status, from_data(render(as_data(expected_status)))):
        try:
            detail = json.loads(body).get("error") or body[:160].decode(errors="replace")
        except (ValueError, AttributeError):
            detail = body[:160].decode(errors="replace")
        return status, f"{where} answered {status}: {detail or 'no body'}"
    for path, tolerance in spec.json_paths.items():
        wanted = from_data(render(as_data(tolerance)))
        if not fits(body, _wrap(path, wanted)):
            if "{instance}" in json.dumps(as_data(tolerance)):
                return status, f"impostor: {where} answered by a process the sandbox did " \
                               "not start"
            return status, f"{where}: {path} not {describe(wanted)}"
    if spec.body is not None and not fits(body.decode(errors="replace"),
                                          from_data(render(as_data(spec.body)))):
        return status, f"{where}: body not {describe(from_data(render(as_data(spec.body))))}"
    if spec.latency_ms is not None and latency > spec.latency_ms:
        return status, f"{where} took {latency:.0f} ms (at most {spec.latency_ms:g})"
    return status, None


def _wrap(path: str, wanted: Any) -> Any:
    if isinstance(wanted, JsonPathTolerance):
        return wanted
    return JsonPathTolerance(type="jsonpath", path=path, expect=wanted)


def _check_process(target: ProbeTarget, spec: ProbeSpec,
                   render: Callable[[Any], Any]) -> tuple[int | None, str | None]:
    command = render(spec.provider.command)  # type: ignore[union-attr]
    code, output = target.run_inside(command, spec.provider.timeout)  # type: ignore[union-attr]
    expected = spec.exit_code if spec.exit_code is not None else 0
    if not fits(code, from_data(render(as_data(expected)))):
        return None, f"`{command}` exited {code}: {' '.join(output.split())[:160]}"
    if spec.body is not None and not fits(output, from_data(render(as_data(spec.body)))):
        return None, f"`{command}` printed {' '.join(output.split())[:160]!r}"
    return None, None


def _owned_ports(state: SteadyState) -> list[str]:
    """Ports that must be served by the sandbox's own supervisor: every HTTP-probed port and
    every `own_listener` port."""
    return list(dict.fromkeys([*(p.provider.port for p in state.probes
                                 if isinstance(p.provider, HttpProvider)),
                               *state.own_listener]))


def _listening(target: ProbeTarget, port: int) -> bool:
    try:
        target.connect(port, 1.0).close()
    except OSError:
        return False
    return True


def probe_once(target: ProbeTarget, state: SteadyState, attempt: int,
               settings: VerifySettings, render: Callable[[Any], Any]) -> Probe:
    """One attempt: every probe of the hypothesis, then who listens on the probed ports."""
    started = time.time()
    t0 = time.perf_counter()
    first = next((p.provider for p in state.probes if isinstance(p.provider, HttpProvider)),
                 None)
    url = (f"http://127.0.0.1:{target.incident.ports[first.port]}{first.path}" if first
           else f"process: {state.probes[0].provider.command}")  # type: ignore[union-attr]
    probe = Probe(attempt=attempt, at=started, url=url)
    try:
        for spec in state.probes:
            if isinstance(spec.provider, HttpProvider):
                timeout = spec.provider.timeout if "timeout" in spec.provider.model_fields_set \
                    else settings.probe_timeout_s
                status, error = _check_http(target, spec, render, timeout)
                if probe.status is None or error:
                    probe.status = status
            else:
                _status, error = _check_process(target, spec, render)
            if error:
                probe.error = error
                break
        else:
            for name in _owned_ports(state):
                port = target.incident.ports[name]
                supervised = target.listener_supervised(port)
                if supervised is False:
                    probe.error = (f"impostor: port {port} ({name}) is served by a process "
                                   "the sandbox's supervisor did not start")
                    break
                if supervised is None and name in state.own_listener and \
                        not _listening(target, port):
                    probe.error = f"nothing listens on port {port} ({name})"
                    break
            else:
                probe.ok = True
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
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


def verify(target: ProbeTarget, settings: VerifySettings | None = None, *,
           render: Callable[[Any], Any] | None = None,
           sleep: Callable[[float], None] = time.sleep,
           on_probe: Callable[[Probe], None] | None = None) -> Verdict:
    """Probe until N consecutive healthy attempts lasting the settle window, or until that is
    no longer reachable; then the ground truth.

    The first attempt goes out at once. `render` resolves templates in tolerances (the
    sandbox's instance id, its ports); the sandbox passes its own.
    """
    settings = settings or VerifySettings()
    pack, spec = pack_of(target.incident)
    state = steady_state(pack, spec)
    render = render or (lambda value: value)
    attempts = settings.attempts(state.settle_s)
    t0 = time.perf_counter()
    probes: list[Probe] = []
    streak: list[Probe] = []
    for attempt in range(1, attempts + 1):
        probe = probe_once(target, state, attempt, settings, render)
        probes.append(probe)
        if on_probe:
            on_probe(probe)
        streak = [*streak, probe] if probe.ok else []
        lasted = streak[-1].at - streak[0].at if streak else 0.0
        if len(streak) >= settings.consecutive_successes and lasted >= state.settle_s:
            break
        remaining = attempts - attempt
        if len(streak) + remaining < settings.consecutive_successes:
            break
        sleep(settings.interval_s)
    lasted = streak[-1].at - streak[0].at if streak else 0.0
    probes_ok = len(streak) >= settings.consecutive_successes and lasted >= state.settle_s
    truth = bounded_ground_truth(target, settings.ground_truth_timeout_s)
    healthy = probes_ok and truth.ok
    settle = f" sustained {lasted:.1f}s" if state.settle_s else ""
    if healthy:
        reason = (f"{settings.consecutive_successes} consecutive healthy probes{settle}; "
                  f"ground truth: {truth.detail}")
    elif probes_ok:
        reason = f"probes green but the root cause is not gone: {truth.detail}"
    elif streak and len(streak) >= settings.consecutive_successes:
        reason = (f"healthy for {lasted:.1f}s only, not the {state.settle_s:g}s settle window "
                  f"({len(probes)} attempts)")
    else:
        last_error = next((p.error for p in reversed(probes) if p.error), "unhealthy")
        reason = (f"no {settings.consecutive_successes} consecutive healthy probes in "
                  f"{len(probes)} attempts; last: {last_error}")
    return Verdict(healthy=healthy, probes=probes, ground_truth_ok=truth.ok,
                   ground_truth_detail=truth.detail, reason=reason,
                   first_green_at=streak[0].at if healthy and streak else None,
                   duration_s=round(time.perf_counter() - t0, 3))
