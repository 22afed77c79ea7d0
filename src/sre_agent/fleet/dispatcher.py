"""Fan-out: many incidents at once, each in its own sandbox, on one or more executors.

The dispatcher gives each executor (`sre_agent.fleet.executor`) up to its `capacity` incidents
at a time and never more than `concurrency` in all, highest severity first (FIFO within a
severity). An executor that raises `WorkerLost` is marked dead and gets no more work; its
incident is re-queued on the others, or counted `lost` when none is left. Stopping (the `stop`
event, e.g. Ctrl-C) closes intake, cancels every run in flight (each tears its sandbox down
and writes its trace row) and waits for them at most `stop_wait_s`; a run still going then is
counted `lost`.

Batch mode queues `incidents` at once. Continuous intake (`continuous=True`) admits Poisson
arrivals (seeded) for `duration_s` into a queue bounded by `queue_size`; an arrival that finds
it full is shed (counted, never run: intake never blocks), then the queue drains.

The dispatcher is one loop in the calling thread; each run has its own thread (the work is
I/O bound: the model, the sandbox, the verifier's probes). State changes are reported as
`FanoutEvent`s to `on_event`, from the dispatcher thread and the run threads.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sre_agent.agent import Confirmer
from sre_agent.errors import SreAgentError, UsageError
from sre_agent.fleet.executor import IncidentExecutor, WorkerLost
from sre_agent.fleet.intake import (
    IncidentQueue,
    PlannedIncident,
    draw_incidents,
    incident_stream,
    poisson_arrivals,
)
from sre_agent.fleet.request import FanoutRequest
from sre_agent.fleet.summary import (
    FINAL_STATES,
    FanoutEvent,
    FanoutSummary,
    IncidentView,
    WorkerStats,
    compact_row,
    compact_scorecard,
    outcome_correct,
    rolling_scorecard,
    summarize,
)
from sre_agent.incidents import get_scenario
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.safety import rank
from sre_agent.traces import TraceRow

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    executor: IncidentExecutor
    stats: WorkerStats
    in_flight: int = 0

    @property
    def name(self) -> str:
        return self.executor.name


class Fanout:
    """One fan-out; `run()` once. `cancel(index)` ends one incident's run early."""

    def __init__(self, request: FanoutRequest, executors: list[IncidentExecutor], *,
                 on_event: Callable[[FanoutEvent], None] | None = None,
                 stop: threading.Event | None = None,
                 confirmer: Confirmer | None = None) -> None:
        request.check()
        if not executors:
            raise UsageError("no executor to run incidents on")
        names = [e.name for e in executors]
        if len(set(names)) != len(names):
            raise UsageError(f"executor names must be unique: {names}")
        self.request = request
        self.on_event = on_event
        self.stop = stop or threading.Event()
        self.confirmer = confirmer
        self.fanout_id = f"fan-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        self._slots = [_Slot(e, WorkerStats(capacity=max(1, int(getattr(e, "capacity", 0)
                                                                  or request.concurrency))))
                       for e in executors]
        self._cv = threading.Condition(threading.RLock())
        self._queue = IncidentQueue()
        self._views: dict[int, IncidentView] = {}
        self._cancels: dict[int, threading.Event] = {}
        self._rows: list[dict[str, Any]] = []
        self._in_flight = 0
        self._peak = 0
        self._shed = 0
        self._requeued: dict[str, int] = {}
        self._stopping = False
        self._warm_up_s = 0.0
        self._t0 = time.monotonic()

    # -- public -------------------------------------------------------------------------------

    def cancel(self, index: int) -> bool:
        """Cancel one incident's run (it ends `cancelled`); False if it is not running."""
        with self._cv:
            event = self._cancels.get(index)
            if event is None or self._views[index].state in FINAL_STATES:
                return False
            event.set()
            return True

    def run(self) -> FanoutSummary:
        """Run the fan-out to the end (or until `stop`); returns the summary."""
        req = self.request
        t = time.monotonic()
        for slot in self._slots:  # optional hook: e.g. import the SDK before the clock starts
            warm_up = getattr(slot.executor, "warm_up", None)
            if callable(warm_up) and not self.stop.is_set():
                self._emit("warm_up", data={"executor": slot.name})
                warm_up()
        self._warm_up_s = time.monotonic() - t
        self._t0 = time.monotonic()
        arrivals: deque[float] = deque()
        stream = incident_stream(req.scenarios, req.seed, req.draw)
        if req.continuous:
            self._queue = IncidentQueue(req.max_queued)
            rng = random.Random(f"fanout-arrivals:{req.seed}")
            arrivals = deque(poisson_arrivals(req.arrival_rate or 0, req.duration_s or 0, rng))
            intake_end = req.duration_s or 0.0
        else:
            for plan in draw_incidents(req.incidents or 0, req.scenarios, req.seed, req.draw):
                self._admit(plan)
            intake_end = 0.0
        intake_open = req.continuous
        next_card = req.scorecard_every_s or None
        stop_deadline = 0.0
        while True:
            with self._cv:
                now = self._now()
                if self.stop.is_set() and not self._stopping:
                    stop_deadline = now + req.stop_wait_s
                    intake_open = False
                    self._begin_stop()
                while intake_open and arrivals and arrivals[0] <= now:
                    plan = next(stream).model_copy(update={"arrived_s": arrivals.popleft()})
                    if not self._queue.offer(plan):
                        self._shed += 1
                        self._emit("shed", data={"index": plan.index,
                                                 "scenario": plan.scenario})
                    else:
                        self._admit(plan, queued=True)
                if intake_open and now >= intake_end:
                    intake_open = False
                    self._emit("intake_closed")
                if not self._stopping:
                    self._dispatch()
                if next_card is not None and now >= next_card:
                    self._emit_scorecard(now)
                    next_card = now + (req.scorecard_every_s or 0)
                if self._stopping:
                    if self._in_flight == 0 or now >= stop_deadline:
                        break
                elif not intake_open and self._in_flight == 0 and not len(self._queue):
                    break
                waits = [0.2]  # poll `stop` (set from a signal handler, it cannot notify)
                if intake_open:
                    waits.append((arrivals[0] if arrivals else intake_end) - now)
                if next_card is not None:
                    waits.append(next_card - now)
                if self._stopping:
                    waits.append(stop_deadline - now)
                self._cv.wait(max(0.0, min(waits)))
        with self._cv:
            for view in self._views.values():  # runs that did not end within the stop wait
                if view.state not in FINAL_STATES:
                    self._set(view, "lost", error="still running when the stop wait ran out")
            summary = self._summary()
            self._emit("finished", data={"summary": summary})
        return summary

    # -- dispatcher (called with the lock held) -------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _admit(self, plan: PlannedIncident, queued: bool = False) -> None:
        expected = get_scenario(plan.scenario).expected_outcome
        view = IncidentView(index=plan.index, scenario=plan.scenario, seed=plan.seed,
                            severity=plan.severity, expected=expected,
                            run_id=f"{self.fanout_id}-{plan.index:03d}", arrived_at=time.time())
        self._views[plan.index] = view
        if not queued:
            self._queue.push(plan)
        self._emit("queued", view)

    def _live(self) -> list[_Slot]:
        return [s for s in self._slots if not s.stats.dead]

    def _dispatch(self) -> None:
        while len(self._queue) and self._in_flight < self.request.concurrency:
            free = [s for s in self._live() if s.in_flight < s.stats.capacity]
            if not free:
                if not self._live():  # every executor is dead: nothing queued can run
                    for plan in self._queue.drain():
                        self._set(self._views[plan.index], "lost",
                                  error="no live executor left")
                return
            slot = min(free, key=lambda s: s.in_flight / s.stats.capacity)  # stable: list order
            self._launch(self._queue.pop(), slot)

    def _launch(self, plan: PlannedIncident, slot: _Slot) -> None:
        view = self._views[plan.index]
        view.attempts += 1
        attempt = view.attempts
        run_id = f"{self.fanout_id}-{plan.index:03d}" + (f"-a{attempt}" if attempt > 1 else "")
        view.run_id = run_id
        view.worker = slot.name
        view.started_at = time.time()
        req = self.request.template.model_copy(update={"scenario": plan.scenario,
                                                       "seed": plan.seed, "run_id": run_id})
        cancel = threading.Event()
        self._cancels[plan.index] = cancel
        hooks = RunHooks(cancel=cancel, confirmer=self.confirmer,
                         on_progress=lambda stage, info: self._progress(plan.index, attempt,
                                                                        stage, info))
        slot.in_flight += 1
        slot.stats.peak_in_flight = max(slot.stats.peak_in_flight, slot.in_flight)
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        self._set(view, "starting")
        thread = threading.Thread(target=self._attempt, args=(plan, slot, req, hooks, attempt),
                                  name=f"fanout-{plan.index}", daemon=True)
        thread.start()

    def _begin_stop(self) -> None:
        self._stopping = True
        self._emit("stopping", data={"in_flight": self._in_flight})
        for plan in self._queue.drain():
            self._set(self._views[plan.index], "not_started")
        for index, event in self._cancels.items():
            if self._views[index].state not in FINAL_STATES:
                event.set()

    # -- run threads ----------------------------------------------------------------------------

    def _attempt(self, plan: PlannedIncident, slot: _Slot, req: RunRequest, hooks: RunHooks,
                 attempt: int) -> None:
        row: TraceRow | None = None
        lost: WorkerLost | None = None
        error: BaseException | None = None
        try:
            row = slot.executor.run(req, hooks)
        except WorkerLost as exc:
            lost = exc
        except BaseException as exc:  # one incident's failure ends only that incident
            error = exc
            log.warning("incident %s failed on %s: %s", req.run_id, slot.name, exc,
                        exc_info=not isinstance(exc, SreAgentError))
        with self._cv:
            slot.in_flight -= 1
            self._in_flight -= 1
            view = self._views[plan.index]
            if lost is not None:
                self._worker_lost(slot, view, plan, lost)
            elif row is not None:
                self._finish(slot, view, row)
            else:
                slot.stats.completed += 1
                detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                view.status = "error"
                self._set(view, "done", error=detail)
            self._cv.notify_all()

    def _worker_lost(self, slot: _Slot, view: IncidentView, plan: PlannedIncident,
                     exc: WorkerLost) -> None:
        slot.stats.lost_runs += 1
        if not slot.stats.dead:
            slot.stats.dead = True
            self._emit("worker_lost", data={"worker": slot.name, "reason": exc.one_line()})
        view.requeued_from.append(slot.name)
        if self._stopping or not self._live():
            why = "stopped" if self._stopping else "no live executor left"
            self._set(view, "lost", error=f"{exc.one_line()}; {why}")
            return
        self._requeued[slot.name] = self._requeued.get(slot.name, 0) + 1
        view.worker = None
        self._queue.push(plan)
        self._set(view, "queued", kind="requeued")

    def _finish(self, slot: _Slot, view: IncidentView, row: TraceRow) -> None:
        slot.stats.completed += 1
        slot.stats.statuses[row.status] = slot.stats.statuses.get(row.status, 0) + 1
        view.run_id = row.run_id
        view.skill = row.skill_id
        view.steps = row.steps
        view.highest_risk = row.highest_risk
        view.status = row.status
        view.reason = " ".join(row.reason.split())[:200]
        view.service_up = row.service_up
        view.ttm_s = row.ttm_s
        view.duration_s = row.duration_s
        view.correct = outcome_correct(row, view.expected)
        self._rows.append(compact_row(row))
        self._set(view, "done")

    def _progress(self, index: int, attempt: int, stage: str, info: dict[str, Any]) -> None:
        with self._cv:
            view = self._views[index]
            if view.attempts != attempt or view.state in FINAL_STATES:
                return  # a late report from a run that was given up
            if stage == "planned":
                view.skill = info.get("skill")
                self._emit("planned", view)
            elif stage == "sandbox_ready":
                self._set(view, "agent")
            elif stage == "action":
                action = info["action"]
                view.steps = max(view.steps, int(getattr(action, "step", 0) or 0))
                risk = getattr(action, "risk", None)
                if rank(risk) > rank(view.highest_risk):
                    view.highest_risk = risk
                self._emit("action", view, data={"action": action})
            elif stage == "verifying":
                self._set(view, "verifying")

    # -- events and summary ---------------------------------------------------------------------

    def _set(self, view: IncidentView, state: str, *, kind: str | None = None,
             error: str | None = None) -> None:
        view.state = state  # type: ignore[assignment]
        if error is not None:
            view.error = error
        if state in FINAL_STATES:
            view.ended_at = time.time()
        self._emit(kind or state, view)

    def _emit(self, kind: str, view: IncidentView | None = None,
              data: dict[str, Any] | None = None) -> None:
        if self.on_event is None:
            return
        event = FanoutEvent(kind=kind, at_s=round(self._now(), 3),
                            incident=view.model_copy(deep=True) if view else None,
                            data=data or {})
        try:
            self.on_event(event)
        except Exception:  # a rendering bug must not end incidents
            log.exception("fan-out event handler failed on %s", kind)

    def _emit_scorecard(self, now: float) -> None:
        card = compact_scorecard(rolling_scorecard(self._rows)) if self._rows else []
        self._emit("scorecard", data={"at_s": round(now, 1), "scorecard": card})

    def _summary(self) -> FanoutSummary:
        trace_log = self.request.template.trace_log
        summary = FanoutSummary(
            fanout_id=self.fanout_id, mode="continuous" if self.request.continuous else "batch",
            concurrency=self.request.concurrency, executors=[s.name for s in self._slots],
            shed=self._shed, requeued=sum(self._requeued.values()),
            requeued_by_worker=dict(self._requeued), peak_in_flight=self._peak,
            interrupted=self._stopping, warm_up_s=round(self._warm_up_s, 3),
            by_worker={s.name: s.stats for s in self._slots},
            trace_log=str(trace_log) if trace_log else None)
        return summarize(summary, list(self._views.values()), self._rows, self._now())


def run_fanout(request: FanoutRequest, executors: list[IncidentExecutor], *,
               on_event: Callable[[FanoutEvent], None] | None = None,
               stop: threading.Event | None = None,
               confirmer: Confirmer | None = None) -> FanoutSummary:
    """Run many incidents on `executors`; see the module docstring. Never prints.

    `confirmer` answers risky actions of every run (nobody watches one run of many: the CLI
    approves with --auto-confirm, else rejects).
    """
    return Fanout(request, executors, on_event=on_event, stop=stop, confirmer=confirmer).run()


__all__ = ["Fanout", "run_fanout"]
