"""`QueueWorker`: pulls incidents from a durable queue and runs them here, in this process's
own sandboxes (`sre-agent worker --queue URL`), next to the agent-server workers.

`slots` threads each loop: claim an incident (any job's, or only `jobs`), run it with
`run_incident` under a renewed lease (`attempt.run_claim`), offer the result to the queue. The
job's orchestrator (a fan-out or the web server) records it in its trace log. The worker's
sandboxes are owned by this process (`owner.json`): if it is killed, they die with it and are
reaped by the next sandbox start or `sre-agent sandbox prune`, and its incidents go back to
the queue when their leases run out.

Stopping (`stop`, SIGTERM or Ctrl-C in the CLI): no new claims; runs in flight are cancelled,
torn down, and their incidents given back (`release`, not counted as an attempt) so another
worker starts them at once. An incident cancelled through the queue ends with its cancelled
row instead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sre_agent.agent import fixed_answer
from sre_agent.fleet.attempt import Outcome, result_of, run_claim
from sre_agent.fleet.executor import IncidentExecutor, LocalExecutor
from sre_agent.fleet.queue import Claim, DurableQueue, LeaseKeeper, worker_identity
from sre_agent.runs import RunHooks

logger = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    """What a queue worker did."""

    name: str
    claimed: int = 0
    completed: int = 0  # results the queue accepted
    released: int = 0  # given back at shutdown
    lost_leases: int = 0  # results refused: someone else held the incident by then
    errors: int = 0  # runs that raised (their error row was still offered)
    statuses: dict[str, int] = field(default_factory=dict)


class QueueWorker:
    """Runs incidents claimed from `queue`, `slots` at a time (see the module docstring)."""

    def __init__(self, queue: DurableQueue, *, slots: int = 2, name: str | None = None,
                 jobs: list[str] | None = None, executor: IncidentExecutor | None = None,
                 idle_exit_s: float | None = None, poll_s: float = 0.5,
                 stop: threading.Event | None = None,
                 on_result: Callable[[Claim, Outcome], None] | None = None,
                 parent_pid: int | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
        if slots < 1:
            raise ValueError("a queue worker needs at least one slot")
        self.queue = queue
        self.slots = slots
        self.name = name or socket.gethostname()
        self.jobs = jobs or None
        self.executor = executor or LocalExecutor(capacity=slots)
        self.idle_exit_s = idle_exit_s
        self.poll_s = poll_s
        self.stop = stop or threading.Event()
        self.on_result = on_result
        self.parent_pid = parent_pid  # stop (giving back what runs) when that process is gone
        self.on_ready = on_ready  # told once warmed up, before the first claim
        self.keeper = LeaseKeeper(queue)
        self.report = WorkerReport(self.name)
        self._lock = threading.Lock()
        self._busy = 0
        self._last_work = time.monotonic()
        self._cancels: set[threading.Event] = set()
        self._released: set[tuple[str, int]] = set()

    def run(self) -> WorkerReport:
        """Claim and run until `stop` (or idle for `idle_exit_s`); returns the report."""
        warm_up = getattr(self.executor, "warm_up", None)
        if callable(warm_up):  # the SDK import, before the first lease starts ticking
            warm_up()
        if self.on_ready is not None:
            self.on_ready()
        self._last_work = time.monotonic()
        threads = [threading.Thread(target=self._slot, args=(n,), name=f"qworker-{n}",
                                    daemon=True) for n in range(self.slots)]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                if self.parent_pid is not None and not _alive_parent(self.parent_pid):
                    logger.warning("parent process %s is gone: stopping", self.parent_pid)
                    self.stop.set()
                if self.stop.wait(0.2):
                    with self._lock:
                        for event in self._cancels:
                            event.set()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
            self.keeper.close()
        return self.report

    def _idle(self) -> bool:
        with self._lock:
            return (self.idle_exit_s is not None and self._busy == 0
                    and time.monotonic() - self._last_work >= self.idle_exit_s)

    def _slot(self, n: int) -> None:
        claimer = worker_identity(f"{self.name}#{n}")
        while not self.stop.is_set():
            try:
                claim = self.queue.claim(claimer, jobs=self.jobs)
            except Exception as exc:  # the queue is unreachable: retry, never crash the worker
                logger.warning("claim failed: %s", exc)
                claim = None
            if claim is None:
                if self._idle():
                    self.stop.set()
                    return
                self.stop.wait(self.poll_s)
                continue
            self._run(claim)

    def _run(self, claim: Claim) -> None:
        cancel = threading.Event()
        with self._lock:
            self._busy += 1
            self.report.claimed += 1
            self._cancels.add(cancel)
            if self.stop.is_set():
                cancel.set()
        answer = bool(claim.payload.get("auto_confirm"))
        hooks = RunHooks(cancel=cancel, confirmer=fixed_answer(
            answer, "queue worker: --auto-confirm of the fan-out" if answer
            else "unattended queue worker run without --auto-confirm"))
        try:
            outcome = run_claim(self.executor, claim, self.keeper, hooks, offer=self._offer)
        finally:
            with self._lock:
                self._busy -= 1
                self._cancels.discard(cancel)
                self._last_work = time.monotonic()
        with self._lock:
            if outcome.accepted:
                self.report.completed += 1
                status = outcome.row.status if outcome.row is not None else "error"
                self.report.statuses[status] = self.report.statuses.get(status, 0) + 1
            elif (claim.id, claim.token) in self._released:
                self.report.released += 1
            elif outcome.lease_lost:
                self.report.lost_leases += 1
            self.report.errors += 1 if outcome.error else 0
        if self.on_result is not None:
            try:
                self.on_result(claim, outcome)
            except Exception:
                logger.exception("queue worker: result callback failed")

    def _offer(self, claim: Claim, outcome: Outcome) -> bool:
        """Complete, unless this worker is shutting down: then give the incident back."""
        if self.stop.is_set() and not claim.cancel_requested:
            if self.queue.release(claim):
                with self._lock:
                    self._released.add((claim.id, claim.token))
            return False
        return self.queue.complete(claim, result_of(claim, outcome))


__all__ = ["QueueWorker", "WorkerReport"]


def _alive_parent(pid: int) -> bool:
    """Whether `pid` is still this process's parent (a dead parent's children are re-parented,
    so a recycled pid is never mistaken for it)."""
    return os.getppid() == pid
