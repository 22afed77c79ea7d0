"""A deterministic executor for fan-out tests (no sandbox, no SDK), and request helpers.

`FakeExecutor` returns the trace row each scenario should produce after a short sleep,
honours cancellation, and can raise `WorkerLost` on chosen incidents.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sre_agent.fleet import FanoutRequest, WorkerLost, pool
from sre_agent.incidents import get_scenario
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import TraceRow


def row_for(req: RunRequest, status: str | None = None, *, up: bool | None = None,
            mutating: int = 0) -> TraceRow:
    """The trace row a run of `req` ends with (by default: the scenario's expected outcome)."""
    expected = get_scenario(req.scenario).expected_outcome
    status = status or {"fixed": "fixed", "nothing_to_fix": "nothing_to_fix",
                        "escalate": "escalated"}[expected]
    up = status in ("fixed", "nothing_to_fix") if up is None else up
    return TraceRow(run_id=req.run_id or "x", started_at=time.time(), scenario=req.scenario,
                    seed=req.seed, status=status, service_up=up, steps=3, simulated=True,
                    ttm_s=float(req.seed) if status == "fixed" else None, duration_s=0.01,
                    highest_risk="LOW", extra={"expected_outcome": expected,
                                               "mutating_actions": mutating})


class FakeExecutor:
    """A deterministic executor: rows by expected outcome, WorkerLost on chosen seeds."""

    def __init__(self, name: str = "fake", capacity: int = 4, delay: float = 0.01,
                 lose_seeds: tuple[int, ...] = (), always_lose: bool = False,
                 status: dict[str, str] | None = None, block: threading.Event | None = None):
        self.name, self.capacity, self.delay = name, capacity, delay
        self.lose_seeds, self.always_lose = set(lose_seeds), always_lose
        self.status = status or {}
        self.block = block
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.calls: list[tuple[str, int]] = []

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.calls.append((req.scenario, req.seed))
        try:
            if hooks.on_progress:
                hooks.on_progress("planned", {"skill": get_scenario(req.scenario).skill_id})
                hooks.on_progress("sandbox_ready", {})
            if self.always_lose or req.seed in self.lose_seeds:
                raise WorkerLost(self.name, "connection refused")
            if self.block is not None:
                while not self.block.is_set() and not (hooks.cancel and hooks.cancel.is_set()):
                    time.sleep(0.005)
            elif hooks.cancel is not None:
                hooks.cancel.wait(self.delay)
            if hooks.cancel is not None and hooks.cancel.is_set():
                return row_for(req, "cancelled", up=False)
            if hooks.on_progress:
                hooks.on_progress("verifying", {})
            return row_for(req, self.status.get(req.scenario))
        finally:
            with self.lock:
                self.in_flight -= 1


def fanout_request(**kw: Any) -> FanoutRequest:
    """A fan-out request with no trace log and no rolling scorecard unless given."""
    kw.setdefault("scorecard_every_s", 0)
    return FanoutRequest(template=RunRequest(scenario="*", trace_log=None), **kw)


def fake_remote(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> None:
    """Make `make_executors` build `FakeExecutor`s (capacity 2) instead of remote ones."""

    class RemoteExecutor(FakeExecutor):
        def __init__(self, url: str, api_key: str | None = None) -> None:
            super().__init__(url, capacity=2, **kw)
            self.api_key = api_key

    monkeypatch.setattr(pool, "RemoteExecutor", RemoteExecutor)
