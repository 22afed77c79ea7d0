"""The server-wide cap on incidents in flight: at most `limit` runs hold a sandbox at once,
over every job and alert of the server; the others wait here, first come first served.

A job's fan-out hands an incident to its executor as usual; the executor then waits for a
slot (the incident shows `queued` meanwhile) and gives it back when the run returns. A wait
ends early, without a run, when its incident is cancelled or the server shuts down; the
incident then ends `cancelled` (`never_started`), with no trace row (nothing ran).

`WebExecutor` is the executor of a web job's fan-out: it waits for a slot, then calls the
manager's `run_fn` with a confirmer bound to the incident (the board in `confirmations`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import TraceRow

RunFn = Callable[[RunRequest, RunHooks], TraceRow]

POLL_S = 0.1  # how often a waiter looks at its abort condition (cancel events cannot notify)


class InFlightGate:
    """A fair (FIFO) counting gate with abortable waits."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self._cv = threading.Condition()
        self._running = 0
        self._peak = 0
        self._waiting: deque[object] = deque()

    def acquire(self, abort: Callable[[], bool]) -> bool:
        """Wait for a slot; False (and no slot held) once `abort()` is true first."""
        ticket = object()
        with self._cv:
            self._waiting.append(ticket)
            while not (self._waiting[0] is ticket and self._running < self.limit):
                if abort():
                    self._waiting.remove(ticket)
                    self._cv.notify_all()  # the next in line may be able to go now
                    return False
                self._cv.wait(POLL_S)
            self._waiting.popleft()
            self._running += 1
            self._peak = max(self._peak, self._running)
            self._cv.notify_all()
            return True

    def release(self) -> None:
        with self._cv:
            self._running -= 1
            self._cv.notify_all()

    def counts(self) -> dict[str, int]:
        """Slots in use, waiters, the limit, and the most ever in use at once."""
        with self._cv:
            return {"in_flight": self._running, "waiting": len(self._waiting),
                    "max_in_flight": self.limit, "peak_in_flight": self._peak}


def never_started(req: RunRequest) -> TraceRow:
    """The result of an incident cancelled while it waited for a slot (not traced: no run)."""
    now = time.time()
    return TraceRow(run_id=req.run_id or "run-x", started_at=now, ended_at=now,
                    scenario=req.scenario, seed=req.seed, simulated=req.simulate,
                    incident_text=req.incident_text or "", status="cancelled",
                    reason="cancelled while queued for a sandbox slot: never started",
                    extra={"not_run": True})


class WebExecutor:
    """Runs one job's incidents: waits for a server-wide slot, then calls `run_fn` with a
    confirmer bound to the incident (`manager` is the `JobManager`)."""

    def __init__(self, manager: Any, job_id: str, run_fn: RunFn, capacity: int) -> None:
        self.manager = manager
        self.job_id = job_id
        self.run_fn = run_fn
        self.capacity = capacity
        self.name = "local"

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        incident_id = self.manager.incident_for_run(self.job_id, req.run_id or "")
        if not self.manager.wait_for_slot(incident_id, hooks.cancel):
            return never_started(req)
        try:
            hooks = dataclasses.replace(
                hooks, confirmer=self.manager.confirmer(incident_id, req.run_id, hooks.cancel))
            return self.run_fn(req, hooks)
        finally:
            self.manager.gate.release()
