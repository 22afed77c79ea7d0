"""The web UI's job manager: runs and fan-outs in background threads, their live state, the
event stream the pages subscribe to, and the risky actions waiting for an operator.

Every job (one run, a fan-out, or one alert's run) is a `sre_agent.fanout.Fanout` driven from
its own thread, so a single run and a thousand-incident fan-out share one path: the same
dispatcher, cancellation, stop and summary as `sre-agent fanout`. The incidents are executed
by `_WebExecutor`, which calls the manager's `run_fn` (`run_incident` in production; a test
double in the API tests) with a confirmer bound to that incident: a risky action is parked
here as a `Confirmation` and the run's thread blocks until the page (or the API) answers, the
run is cancelled, or `confirm_timeout_s` passes (then it is rejected; nobody said yes).

State changes are published as plain dicts (`{"seq", "type", "data"}`) to every subscriber's
bounded queue; a subscriber that falls behind is dropped (its stream ends, the browser
reconnects and re-reads the state). Nothing here prints or touches Flask.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sre_agent.agent import ConfirmAnswer, Confirmer, PendingAction
from sre_agent.errors import UsageError
from sre_agent.fanout import Fanout, FanoutEvent, FanoutRequest
from sre_agent.runner import RunHooks, RunRequest, run_incident
from sre_agent.trace import RISK_ORDER, TraceRow
from sre_agent.web.models import (
    Confirmation,
    IncidentRecord,
    JobStart,
    JobView,
    UnknownId,
)

log = logging.getLogger(__name__)

RunFn = Callable[[RunRequest, RunHooks], TraceRow]
# Incident states: the fan-out's, plus two for alerts that never got a sandbox.
FINAL_STATES = ("done", "lost", "not_started", "resolved")
OPEN_STATES = ("queued", "starting", "agent", "verifying", "needs_human")
JOB_FINAL = ("finished", "stopped", "error")


@dataclasses.dataclass
class _Incident:
    record: IncidentRecord
    actions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    row: dict[str, Any] | None = None


@dataclasses.dataclass
class _Job:
    view: JobView
    stop: threading.Event
    fanout: Fanout | None = None
    thread: threading.Thread | None = None
    by_index: dict[int, str] = dataclasses.field(default_factory=dict)


class Subscription:
    """One event-stream reader: a bounded queue; `dropped` when it fell too far behind."""

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize)
        self.dropped = False

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds (or when the manager closed)."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class _WebExecutor:
    """Runs one job's incidents with `run_fn`, each with a confirmer bound to its incident."""

    def __init__(self, manager: JobManager, job_id: str, run_fn: RunFn, capacity: int) -> None:
        self.manager = manager
        self.job_id = job_id
        self.run_fn = run_fn
        self.capacity = capacity
        self.name = "local"

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        incident_id = self.manager.incident_for_run(self.job_id, req.run_id or "")
        hooks = dataclasses.replace(
            hooks, confirmer=self.manager.confirmer(incident_id, req.run_id, hooks.cancel))
        row = self.run_fn(req, hooks)
        self.manager.row_done(incident_id, row)
        return row


class JobManager:
    """Starts, tracks and stops jobs; owns the confirmations and the event stream.

    Args:
        trace_log: where every run's trace row goes (and what the scorecard reads); None: off.
        run_fn: runs one incident (`run_incident`; tests pass a double).
        confirm_timeout_s: a confirmation nobody answers is rejected after this long.
        stop_wait_s: after a stop, how long a fan-out waits for its cancelled runs.
        max_incidents: finished incidents kept in memory (the oldest are forgotten first;
            their trace rows stay in the log).
    """

    def __init__(self, trace_log: Path | None, run_fn: RunFn = run_incident, *,
                 confirm_timeout_s: float = 300.0, stop_wait_s: float = 60.0,
                 max_incidents: int = 1000, queue_size: int = 2000) -> None:
        self.trace_log = trace_log
        self.run_fn = run_fn
        self.confirm_timeout_s = confirm_timeout_s
        self.stop_wait_s = stop_wait_s
        self.max_incidents = max_incidents
        self.queue_size = queue_size
        self.alert_lock = threading.Lock()  # alert intake: check-then-start is one step
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._incidents: dict[str, _Incident] = {}
        self._by_run: dict[str, str] = {}
        self._confirmations: dict[str, Confirmation] = {}
        self._answered: dict[str, threading.Event] = {}
        self._subs: list[Subscription] = []
        self._seq = itertools.count(1)
        self._closed = False

    # -- jobs ---------------------------------------------------------------------------------

    def start(self, spec: JobStart, *, kind: str | None = None,
              alert: dict[str, Any] | None = None) -> JobView:
        """Start a job in the background; UsageError for an impossible request."""
        if self._closed:
            raise UsageError("the server is shutting down")
        if spec.simulate and spec.model:
            raise UsageError("simulate and model exclude each other",
                             "simulate uses the offline runbook policy")
        if spec.confirm_risk and RISK_ORDER[spec.confirm_risk] > RISK_ORDER[spec.max_risk]:
            raise UsageError(f"confirm_risk {spec.confirm_risk} is above max_risk "
                             f"{spec.max_risk}: those actions are blocked, never confirmed")
        template = RunRequest(
            scenario="*", incident_text=spec.incident_text or None, model=spec.model or None,
            simulate=spec.simulate, mode=spec.mode, max_risk=spec.max_risk,
            confirm_risk=spec.confirm_risk, max_steps=spec.max_steps, timeout_s=spec.timeout_s,
            trace_log=self.trace_log)
        request = FanoutRequest(
            incidents=spec.incidents, concurrency=min(spec.concurrency, spec.incidents),
            scenarios=list(spec.scenarios), seed=spec.seed, template=template,
            scorecard_every_s=0, stop_wait_s=self.stop_wait_s)
        job_kind = kind or ("run" if spec.incidents == 1 else "fanout")
        job = _Job(view=JobView(id=f"job-{uuid.uuid4().hex[:8]}", kind=job_kind,  # type: ignore[arg-type]
                                request=spec.model_dump()), stop=threading.Event())
        executor = _WebExecutor(self, job.view.id, self.run_fn, request.concurrency)
        job.fanout = Fanout(request, [executor], stop=job.stop,  # raises UsageError
                            on_event=lambda event: self._on_event(job, event, alert))
        job.thread = threading.Thread(target=self._run_job, args=(job,), daemon=True,
                                      name=f"web-{job.view.id}")
        with self._lock:
            self._jobs[job.view.id] = job
            if alert is not None:  # visible (and a duplicate's target) before its thread runs
                self._new_incident(job, 0, alert, scenario=spec.scenarios[0], seed=spec.seed)
            self._publish("job", job.view)
        job.thread.start()
        return job.view.model_copy(deep=True)

    def _run_job(self, job: _Job) -> None:
        assert job.fanout is not None
        try:
            summary = job.fanout.run()
        except Exception as exc:  # noqa: BLE001 - a job's failure is shown, not raised
            log.exception("job %s failed", job.view.id)
            with self._lock:
                job.view.state = "error"
                job.view.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
                job.view.ended_at = time.time()
                self._publish("job", job.view)
            return
        with self._lock:
            job.view.summary = summary.model_dump(mode="json", exclude={"incidents"})
            job.view.state = "stopped" if summary.interrupted else "finished"
            job.view.ended_at = time.time()
            self._publish("job", job.view)
            self._prune()

    def stop(self, job_id: str) -> JobView:
        """Stop a job: queued incidents never start, running ones are cancelled."""
        with self._lock:
            job = self._job(job_id)
            if job.view.state == "running":
                job.view.state = "stopping"
                job.stop.set()
                self._publish("job", job.view)
            return job.view.model_copy(deep=True)

    def cancel_incident(self, incident_id: str) -> bool:
        """Cancel one running incident (it ends `cancelled`); False if it is not running."""
        with self._lock:
            inc = self._incident(incident_id)
            job = self._jobs.get(inc.record.job_id or "")
            if job is None or job.fanout is None or inc.record.index is None:
                return False
        return job.fanout.cancel(inc.record.index)

    def job(self, job_id: str) -> JobView:
        with self._lock:
            return self._job(job_id).view.model_copy(deep=True)

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownId(f"no job {job_id!r}")
        return job

    # -- incidents ----------------------------------------------------------------------------

    def incident_for_run(self, job_id: str, run_id: str) -> str:
        with self._lock:
            return self._by_run.get(run_id) or run_id

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident: its record, live actions, trace row (once done) and confirmations."""
        with self._lock:
            inc = self._incident(incident_id)
            return {"incident": inc.record.model_dump(mode="json"),
                    "actions": list(inc.actions), "row": inc.row,
                    "confirmations": [c.model_dump(mode="json")
                                      for c in self._confirmations.values()
                                      if c.incident_id == incident_id]}

    def _incident(self, incident_id: str) -> _Incident:
        inc = self._incidents.get(incident_id)
        if inc is None:
            raise UnknownId(f"no incident {incident_id!r}")
        return inc

    def open_incident_with_fingerprint(self, fingerprint: str) -> IncidentRecord | None:
        """The open incident raised by the alert with this fingerprint, if any."""
        with self._lock:
            for inc in self._incidents.values():
                alert = inc.record.alert or {}
                if alert.get("fingerprint") == fingerprint and inc.record.state in OPEN_STATES:
                    return inc.record.model_copy(deep=True)
        return None

    def add_needs_human(self, text: str, reason: str, alert: dict[str, Any]) -> IncidentRecord:
        """Record an alert that no sandbox can reproduce: a person has to look at it."""
        record = IncidentRecord(id=f"alert-{uuid.uuid4().hex[:10]}", source="alert",
                                state="needs_human", reason=reason, incident_text=text,
                                skill=(alert.get("route") or {}).get("skill"), alert=alert)
        with self._lock:
            self._incidents[record.id] = _Incident(record)
            self._publish("incident", record)
        return record.model_copy(deep=True)

    def resolve_needs_human(self, incident_id: str, why: str) -> None:
        """Close a needs-human incident (its alert resolved)."""
        with self._lock:
            inc = self._incident(incident_id)
            if inc.record.state == "needs_human":
                inc.record.state = "resolved"
                inc.record.ended_at = time.time()
                inc.record.reason = f"{inc.record.reason}; {why}"
                self._publish("incident", inc.record)

    def row_done(self, incident_id: str, row: TraceRow) -> None:
        with self._lock:
            inc = self._incidents.get(incident_id)
            if inc is None:
                return
            inc.row = row.model_dump(mode="json")
            inc.record.model = row.model
            inc.record.reason = row.reason

    def snapshot(self) -> dict[str, Any]:
        """Everything the dashboard shows, newest first."""
        with self._lock:
            incidents = sorted(self._incidents.values(),
                               key=lambda i: (i.record.created_at, i.record.index or 0),
                               reverse=True)
            return {
                "server_time": time.time(),
                "jobs": [j.view.model_dump(mode="json") for j in
                         sorted(self._jobs.values(), key=lambda j: j.view.created_at,
                                reverse=True)],
                "incidents": [i.record.model_dump(mode="json") for i in incidents],
                "confirmations": [c.model_dump(mode="json") for c in self._confirmations.values()
                                  if c.state == "pending"],
            }

    # -- confirmations ------------------------------------------------------------------------

    def confirmer(self, incident_id: str, run_id: str | None,
                  cancel: threading.Event | None) -> Confirmer:
        """A confirmer for one incident's run: parks the action and waits for an answer."""

        def confirm(pending: PendingAction) -> ConfirmAnswer:
            now = time.time()
            item = Confirmation(id=f"cf-{uuid.uuid4().hex[:10]}", incident_id=incident_id,
                                run_id=run_id, tool=pending.tool, command=pending.command,
                                risk=pending.risk, reasons=list(pending.reasons),
                                created_at=now, expires_at=now + self.confirm_timeout_s)
            answered = threading.Event()
            with self._lock:
                self._confirmations[item.id] = item
                self._answered[item.id] = answered
                self._count_pending(incident_id)
                self._publish("confirmation", item)
            deadline = time.monotonic() + self.confirm_timeout_s
            while not answered.wait(0.2):
                if cancel is not None and cancel.is_set():
                    self._settle(item.id, "cancelled", "the run was cancelled")
                elif self._closed:
                    self._settle(item.id, "cancelled", "the server is shutting down")
                elif time.monotonic() >= deadline:
                    self._settle(item.id, "expired",
                                 f"nobody answered within {self.confirm_timeout_s:g}s")
            with self._lock:
                final = self._confirmations[item.id]
                return ConfirmAnswer(final.state == "approved", final.answer_reason)

        return confirm

    def answer(self, confirmation_id: str, approve: bool, reason: str = "") -> Confirmation:
        """Approve or reject a pending confirmation; UsageError if already settled."""
        with self._lock:
            item = self._confirmations.get(confirmation_id)
            if item is None:
                raise UnknownId(f"no confirmation {confirmation_id!r}")
            if item.state != "pending":
                raise UsageError(f"confirmation {confirmation_id} is already {item.state}")
            default = "approved from the web UI" if approve else "rejected from the web UI"
            self._settle(confirmation_id, "approved" if approve else "rejected",
                         reason.strip()[:500] or default)
            return self._confirmations[confirmation_id].model_copy()

    def confirmations(self, state: str | None = "pending") -> list[Confirmation]:
        with self._lock:
            return [c.model_copy() for c in self._confirmations.values()
                    if state is None or c.state == state]

    def _settle(self, confirmation_id: str, state: str, reason: str) -> None:
        with self._lock:
            item = self._confirmations[confirmation_id]
            if item.state != "pending":
                return
            item.state = state  # type: ignore[assignment]
            item.answer_reason = reason
            item.answered_at = time.time()
            self._answered[confirmation_id].set()
            self._count_pending(item.incident_id)
            self._publish("confirmation", item)

    def _count_pending(self, incident_id: str) -> None:
        inc = self._incidents.get(incident_id)
        if inc is not None:
            inc.record.pending = sum(1 for c in self._confirmations.values()
                                     if c.incident_id == incident_id and c.state == "pending")
            self._publish("incident", inc.record)

    # -- fan-out events -----------------------------------------------------------------------

    def _on_event(self, job: _Job, event: FanoutEvent, alert: dict[str, Any] | None) -> None:
        with self._lock:
            if event.kind == "finished" or event.incident is None:
                return
            view = event.incident
            incident_id = job.by_index.get(view.index) \
                or self._new_incident(job, view.index, alert)
            inc = self._incidents.get(incident_id)
            if inc is None:  # pruned
                return
            self._by_run[view.run_id] = incident_id
            rec = inc.record
            rec.scenario, rec.seed, rec.run_id, rec.state = (view.scenario, view.seed,
                                                             view.run_id, view.state)
            rec.skill = view.skill or rec.skill
            rec.steps, rec.highest_risk = view.steps, view.highest_risk
            rec.status, rec.service_up, rec.correct = view.status, view.service_up, view.correct
            rec.expected, rec.ttm_s, rec.error = view.expected, view.ttm_s, view.error
            rec.started_at, rec.ended_at = view.started_at, view.ended_at
            if event.kind == "action" and "action" in event.data:
                action = event.data["action"]
                data = action.model_dump(mode="json") if hasattr(action, "model_dump") \
                    else dict(action)
                inc.actions.append(data)
                self._publish("action", {"incident_id": incident_id, "action": data})
            self._publish("incident", rec)

    def _new_incident(self, job: _Job, index: int, alert: dict[str, Any] | None,
                      **fields: Any) -> str:
        incident_id = f"{job.view.id}-{index:03d}"
        job.by_index[index] = incident_id
        job.view.incident_ids.append(incident_id)
        self._incidents[incident_id] = _Incident(IncidentRecord(
            id=incident_id, job_id=job.view.id, index=index, source="alert" if alert else "api",
            alert=alert, incident_text=job.view.request.get("incident_text"), **fields))
        self._publish("incident", self._incidents[incident_id].record)
        self._publish("job", job.view)
        return incident_id

    def _prune(self) -> None:
        final = [i for i in self._incidents.values() if i.record.state in FINAL_STATES]
        excess = len(self._incidents) - self.max_incidents
        for inc in sorted(final, key=lambda i: i.record.created_at)[:max(0, excess)]:
            del self._incidents[inc.record.id]
            for cid in [c.id for c in self._confirmations.values()
                        if c.incident_id == inc.record.id]:
                del self._confirmations[cid]
                self._answered.pop(cid, None)

    # -- event stream -------------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        sub = Subscription(self.queue_size)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _publish(self, kind: str, data: Any) -> None:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        event = {"seq": next(self._seq), "type": kind, "data": payload}
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(event)
            except queue.Full:  # too slow: drop it; the browser reconnects and re-reads
                sub.dropped = True
                self._subs.remove(sub)

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self, wait_s: float = 30.0) -> list[str]:
        """Stop every job and wait (at most `wait_s`) for their runs to tear down.

        Returns the ids of jobs still running after the wait.
        """
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
            for job in jobs:
                job.stop.set()
            for sub in self._subs:
                try:
                    sub.queue.put_nowait(None)
                except queue.Full:
                    sub.dropped = True
            self._subs.clear()
        deadline = time.monotonic() + wait_s
        for job in jobs:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))
        return [j.view.id for j in jobs if j.thread is not None and j.thread.is_alive()]

    @property
    def closed(self) -> bool:
        return self._closed
