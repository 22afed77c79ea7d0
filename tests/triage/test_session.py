"""A fresh sandbox triaged as soon as its fault is live (the triage command), against a run's
sandbox, which waits until every program is settled. Real `ns` sandboxes.

That the bounded settle never changes a decision is shown on the whole catalogue by
`uv run python -m bench.triage_cli compare` (61 scenarios x 2 starts: minutes, not a test)."""

from __future__ import annotations

from typing import Any

from sre_agent.sandbox import create_sandbox
from sre_agent.skills.catalogue import load_catalog
from sre_agent.triage import SETTLE_WAIT_S, triage_fresh
from sre_agent.triage.session import route_text
from tests.support import needs_ns


def _spy_start_all(sandbox: Any) -> list[tuple[str, str]]:
    """Record every `start all` line the sandbox sends its supervisor, with the reply."""
    seen: list[tuple[str, str]] = []
    real = sandbox.supervisor_request

    def request(line: str, timeout: float = 20.0) -> str:
        reply = real(line, timeout)
        if line.startswith("start all"):
            seen.append((line, reply))
        return reply

    sandbox.supervisor_request = request
    return seen


@needs_ns
def test_the_triage_command_looks_while_a_program_is_still_in_its_start_up_wait() -> None:
    sandbox = create_sandbox("ws_startup_hang_cache_down", 2, "ns")
    seen = _spy_start_all(sandbox)
    try:
        found = triage_fresh(sandbox, "service unhealthy")
    finally:
        sandbox.teardown()
    [(line, reply)] = seen
    assert line == f"start all {SETTLE_WAIT_S:g}"
    # The app waits for a cache that never answers: its ready time-out (10 s) is far off
    # when the bounded start replies, so it is still STARTING, not RUNNING.
    states = {ln.split()[0]: ln.split()[1] for ln in reply.splitlines()}
    assert states["app"] == "STARTING" and states["redis"] == "STOPPED"
    assert found.decision.outcome == "play"
    assert found.decision.skill == "cache-down-startup-hang"
    assert found.report.healthy is False
    # the text was routed while the sandbox started, as it would have been after
    assert found.routed == route_text("service unhealthy", load_catalog(), sandbox.incident)


@needs_ns
def test_a_runs_sandbox_still_waits_until_every_program_is_settled() -> None:
    sandbox = create_sandbox("healthy_noop", 1, "ns")
    assert sandbox.settle_wait_s is None
    seen = _spy_start_all(sandbox)
    with sandbox:
        pass
    assert [line for line, _reply in seen] == ["start all"]


@needs_ns
def test_no_text_means_no_route_and_the_evidence_decides() -> None:
    sandbox = create_sandbox("kv_down_behind_latency_alert", 1, "ns")
    try:
        found = triage_fresh(sandbox, "")
    finally:
        sandbox.teardown()
    assert found.routed is None
    assert found.decision.skill == "dependency-down" and found.decision.source == "evidence"
