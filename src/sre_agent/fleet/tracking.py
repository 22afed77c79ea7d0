"""What a fan-out knows while it runs: its executors' slots, one view per incident, the
events it reports and the summary it ends with (`Tracker`, the dispatcher's base).

Everything here is called with the tracker's lock (`_cv`) held, from the dispatcher thread
and the run threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sre_agent.agent import Confirmer
from sre_agent.fleet.executor import IncidentExecutor, WorkerLost
from sre_agent.fleet.intake import PlannedIncident
from sre_agent.fleet.ledger import item_id, row_of, run_id_for, view_of
from sre_agent.fleet.queue import Claim, ItemView, worker_identity
from sre_agent.fleet.request import FanoutRequest
from sre_agent.fleet.summary import (
    FINAL_STATES,
    FanoutEvent,
    FanoutSummary,
    IncidentView,
    WorkerStats,
    compact_row,
    compact_scorecard,
    rolling_scorecard,
    summarize,
)
from sre_agent.incidents import get_scenario
from sre_agent.runs import RunHooks
from sre_agent.safety import rank

log = logging.getLogger(__name__)


@dataclass
class Slot:
    """One executor of the fan-out, with its share of the work."""

    executor: IncidentExecutor
    stats: WorkerStats
    claimer: str  # the worker id its claims carry (`worker_identity`)
    in_flight: int = 0

    @property
    def name(self) -> str:
        return self.executor.name


def make_slots(executors: list[IncidentExecutor], concurrency: int) -> list[Slot]:
    return [Slot(e, WorkerStats(capacity=max(1, int(getattr(e, "capacity", 0) or concurrency))),
                 worker_identity(e.name)) for e in executors]


class Tracker:
    """Views, events and summary of one fan-out (see the module docstring)."""

    _slots: list[Slot]
    _stopping: bool

    def __init__(self, request: FanoutRequest, fanout_id: str,
                 on_event: Callable[[FanoutEvent], None] | None) -> None:
        self.request = request
        self.fanout_id = fanout_id
        self.on_event = on_event
        self._cv = threading.Condition(threading.RLock())
        self._views: dict[int, IncidentView] = {}
        self._rows: list[dict[str, Any]] = []
        self._others: dict[str, WorkerStats] = {}  # queue workers seen in results
        self._in_flight = 0
        self._peak = 0
        self._shed = 0
        self._reclaimed: set[str] = set()  # incidents taken back from dead holders
        self._requeued: dict[str, int] = {}
        self._stopping = False
        self._warm_up_s = 0.0
        self._t0 = time.monotonic()

    def item(self, index: int) -> str:
        return item_id(self.fanout_id, index)

    def poke(self) -> None:
        """Wake the dispatcher and have it read the queue now."""
        with self._cv:
            self._next_poll = 0.0
            self._cv.notify_all()

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _live(self) -> list[Slot]:
        return [s for s in self._slots if not s.stats.dead]

    # -- views ----------------------------------------------------------------------------------

    def new_view(self, plan: PlannedIncident) -> IncidentView:
        expected = get_scenario(plan.scenario).expected_outcome
        view = IncidentView(index=plan.index, scenario=plan.scenario, seed=plan.seed,
                            severity=plan.severity, expected=expected,
                            run_id=self.item(plan.index), arrived_at=time.time())
        self._views[plan.index] = view
        return view

    def started(self, view: IncidentView, slot: Slot, claim: Claim) -> None:
        if claim.attempt > 1 and view.state == "queued" and not view.requeued_from:
            self._reclaimed.add(claim.id)  # taken back from a holder that died or went silent
        view.run_id = run_id_for(claim.id, claim.attempt)
        view.worker = slot.name
        view.started_at = time.time()
        slot.in_flight += 1
        slot.stats.peak_in_flight = max(slot.stats.peak_in_flight, slot.in_flight)
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        self._set(view, "starting")

    def finished(self, item: ItemView) -> None:
        """A result the queue holds (this process's or a queue worker's): the view is done."""
        view = self._views.get(int(item.payload["index"]))
        if view is None:
            view = self._views[int(item.payload["index"])] = view_of(item)
        if view.state in FINAL_STATES:
            return
        if item.attempts > 1 and not view.requeued_from:
            self._reclaimed.add(item.id)  # a holder (here or a queue worker) died or went silent
        from_item = view_of(item)
        for name in ("run_id", "skill", "steps", "highest_risk", "status", "reason",
                     "service_up", "ttm_s", "duration_s", "correct", "error", "attempts"):
            setattr(view, name, getattr(from_item, name))
        row = row_of(item.result)
        if row is not None:
            self._rows.append(compact_row(row))
        holder = (item.result or {}).get("worker") or ""
        mine = next((s for s in self._slots if s.claimer == holder), None)
        view.worker = mine.name if mine else from_item.worker
        if view.worker and mine is None:  # a queue worker's result
            stats = self._others.setdefault(view.worker, WorkerStats(capacity=0))
            stats.completed += 1
            if view.status:
                stats.statuses[view.status] = stats.statuses.get(view.status, 0) + 1
        self._set(view, "done", data={"row": row})

    def worker_lost(self, slot: Slot, view: IncidentView, exc: WorkerLost) -> None:
        slot.stats.lost_runs += 1
        if not slot.stats.dead:
            slot.stats.dead = True
            self._emit("worker_lost", data={"worker": slot.name, "reason": exc.one_line()})
        view.requeued_from.append(slot.name)

    def requeued(self, slot: Slot, view: IncidentView) -> None:
        self._requeued[slot.name] = self._requeued.get(slot.name, 0) + 1
        view.worker = None
        self._set(view, "queued", kind="requeued")

    # -- a local run's progress -----------------------------------------------------------------

    def hooks_for(self, index: int, attempt: int, cancel: threading.Event,
                  confirmer: Confirmer | None) -> RunHooks:
        return RunHooks(cancel=cancel, confirmer=confirmer,
                        on_progress=lambda stage, info: self._progress(index, attempt, stage,
                                                                       info))

    def _progress(self, index: int, attempt: int, stage: str, info: dict[str, Any]) -> None:
        with self._cv:
            view = self._views[index]
            if view.attempts != attempt or view.state in FINAL_STATES:
                return  # a late report from a run that was given up
            if stage == "planned":
                view.skill = info.get("skill")
                self._emit("planned", view)
            elif stage == "triaged":
                view.skill = info.get("skill") or view.skill
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
             error: str | None = None, data: dict[str, Any] | None = None) -> None:
        view.state = state  # type: ignore[assignment]
        if error is not None:
            view.error = error
        if state in FINAL_STATES:
            view.ended_at = view.ended_at or time.time()
        self._emit(kind or state, view, data)

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
        queue = getattr(self, "queue", None)
        by_worker = {s.name: s.stats for s in self._slots} | self._others
        summary = FanoutSummary(
            fanout_id=self.fanout_id, mode="continuous" if self.request.continuous else "batch",
            concurrency=self.request.concurrency, executors=list(by_worker),
            shed=self._shed, requeued=sum(self._requeued.values()),
            requeued_by_worker=dict(self._requeued), peak_in_flight=self._peak,
            interrupted=self._stopping, warm_up_s=round(self._warm_up_s, 3),
            by_worker=by_worker, trace_log=str(trace_log) if trace_log else None,
            queue=getattr(queue, "url", None), resumed=bool(getattr(self, "resume", False)),
            reclaimed=len(self._reclaimed))
        return summarize(summary, list(self._views.values()), self._rows, self._now())


__all__ = ["Slot", "Tracker", "make_slots"]
