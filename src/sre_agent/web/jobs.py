"""The web UI's job manager: runs and fan-outs in background threads, their live state, and
the server-wide limits on what runs at once.

Every job (one run, a fan-out, or one alert's run) is a `sre_agent.fleet.Fanout` driven from
its own thread, so a single run and a thousand-incident fan-out share one path: the same
dispatcher, cancellation, stop and summary as `sre-agent fanout`. A job and its incidents are
stored in the durable queue (`queue`; `sre-agent serve --queue URL`, SQLite by default)
before `start` returns, so a restarted server shows every job and incident it had and
resumes the unfinished ones (`web.recovery`). The incidents are executed by
`slots.WebExecutor`, which first waits for one of the server's `max_in_flight` sandbox slots
(`slots.InFlightGate`, shared by every job and alert; the incident shows `queued` meanwhile),
then calls the manager's `run_fn` (`run_incident` in production; a test double in the API
tests) with a confirmer bound to that incident (`confirmations.ConfirmationBoard`).

Bounds (`sre_agent.web.limits`): at most `max_open` incidents queued, running or waiting for
a human and `max_active_jobs` unfinished jobs (past either: `Busy`); `max_incidents` finished
incidents and `max_jobs` finished jobs are kept, the oldest forgotten first. State changes go
to the event stream (`events.EventHub`). Nothing here touches Flask.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sre_agent.agent import Confirmer
from sre_agent.errors import UsageError
from sre_agent.fleet import DurableQueue, FanoutEvent, FanoutRequest
from sre_agent.fleet.queue import JobRecord, SqliteQueue, worker_identity
from sre_agent.runs import run_incident
from sre_agent.safety import rank
from sre_agent.traces import TraceRow
from sre_agent.web.confirmations import ConfirmationBoard
from sre_agent.web.events import EventHub, Subscription
from sre_agent.web.incidents import FINAL_STATES, IncidentStore
from sre_agent.web.job import JOB_ACTIVE, JOB_FINAL, Job, build_job
from sre_agent.web.limits import (
    DEFAULT_MAX_IN_FLIGHT,
    MAX_ACTIVE_JOBS,
    MAX_OPEN_INCIDENTS,
    MAX_RETAINED_INCIDENTS,
    MAX_RETAINED_JOBS,
    clip_strings,
)
from sre_agent.web.schemas import (
    Busy,
    Confirmation,
    IncidentRecord,
    JobStart,
    JobView,
    UnknownId,
)
from sre_agent.web.slots import InFlightGate, RunFn

log = logging.getLogger(__name__)



class JobManager:
    """Starts, tracks and stops jobs; owns the incidents, confirmations and event stream.

    Args:
        trace_log: where every run's trace row goes (and what the scorecard reads); None: off.
        run_fn: runs one incident (`run_incident`; tests pass a double).
        confirm_timeout_s: a confirmation nobody answers is rejected after this long.
        stop_wait_s: after a stop, how long a fan-out waits for its cancelled runs.
        max_in_flight: incidents holding a sandbox at once, over every job and alert.
        max_open: incidents queued, running or needing a human at once (more: `Busy`).
        max_active_jobs: unfinished jobs at once (more: `Busy`).
        max_incidents: finished incidents kept in memory (the oldest are forgotten first;
            their trace rows stay in the log).
        max_jobs: finished jobs kept in memory (the oldest are forgotten first).
        queue_size: events a subscriber may fall behind before it is dropped.
        queue: the durable queue jobs and incidents are stored in (default: a private
            in-memory one, gone with the process).
        max_attempts: runs of one incident at most (a lost lease counts).
    """

    def __init__(self, trace_log: Path | None, run_fn: RunFn = run_incident, *,
                 confirm_timeout_s: float = 300.0, stop_wait_s: float = 60.0,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
                 max_open: int = MAX_OPEN_INCIDENTS, max_active_jobs: int = MAX_ACTIVE_JOBS,
                 max_incidents: int = MAX_RETAINED_INCIDENTS,
                 max_jobs: int = MAX_RETAINED_JOBS, queue_size: int = 2000,
                 queue: DurableQueue | None = None, max_attempts: int = 3) -> None:
        self.trace_log = trace_log
        self.queue = queue or SqliteQueue(":memory:", max_attempts=max_attempts)
        self.max_attempts = max_attempts
        self.owner = worker_identity("serve")  # who drives this server's jobs
        self.run_fn = run_fn
        self.stop_wait_s = stop_wait_s
        self.max_open = max_open
        self.max_active_jobs = max_active_jobs
        self.max_incidents = max_incidents
        self.max_jobs = max_jobs
        self.gate = InFlightGate(max_in_flight)
        self.alert_lock = threading.Lock()  # alert intake: check-then-start is one step
        self._lock = threading.RLock()
        self._events = EventHub(queue_size)
        self._store = IncidentStore(self._events.publish)
        self._board = ConfirmationBoard(self._lock, confirm_timeout_s,
                                        publish=self._events.publish,
                                        on_pending=self._store.set_pending,
                                        closed=lambda: self._closed)
        self._jobs: dict[str, Job] = {}
        self._closed = False

    @property
    def max_in_flight(self) -> int:
        return self.gate.limit

    # -- jobs ---------------------------------------------------------------------------------

    def start(self, spec: JobStart, *, kind: str | None = None,
              alert: dict[str, Any] | None = None) -> JobView:
        """Start a job in the background once it is stored; UsageError for an impossible
        request, Busy when the server is at its limits."""
        if self._closed:
            raise UsageError("the server is shutting down")
        if spec.simulate and spec.model:
            raise UsageError("simulate and model exclude each other",
                             "simulate uses the offline runbook policy")
        if spec.confirm_risk and rank(spec.confirm_risk) > rank(spec.max_risk):
            raise UsageError(f"confirm_risk {spec.confirm_risk} is above max_risk "
                             f"{spec.max_risk}: those actions are blocked, never confirmed")
        job = build_job(self, spec, kind or ("run" if spec.incidents == 1 else "fanout"), alert)
        with self._lock:
            self._check_room(spec.incidents, new_job=True)
            job.fanout.accept()  # type: ignore[union-attr]  # stored before it is answered
            self._jobs[job.view.id] = job
            if alert is not None:  # visible (and a duplicate's target) before its thread runs
                self._new_incident(job, 0, alert, scenario=spec.scenarios[0], seed=spec.seed)
            self._events.publish("job", job.view)
        job.thread.start()  # type: ignore[union-attr]
        return job.view.model_copy(deep=True)

    def resume_job(self, record: JobRecord) -> JobView:
        """Take over a stored job whose server died: its incidents show again, the
        unfinished ones run (`web.recovery`)."""
        spec = JobStart.model_validate(record.spec.get("job_start") or {})
        alert = record.spec.get("alert")
        request = FanoutRequest.model_validate(record.spec["request"])
        job = build_job(self, spec, record.kind, alert, job_id=record.id, request=request)
        job.view.created_at = record.created_at or job.view.created_at
        with self._lock:
            self._jobs[job.view.id] = job
            job.fanout.accept()  # type: ignore[union-attr]  # loads and shows its incidents
            self._events.publish("job", job.view)
        job.thread.start()  # type: ignore[union-attr]
        return job.view.model_copy(deep=True)

    def restore_job(self, view: JobView, alert: dict[str, Any] | None,
                    incidents: list[tuple[Any, dict[str, Any] | None]]) -> None:
        """Show a stored job that is not resumed (it ended, or another server drives it):
        `incidents` are (IncidentView, trace row) pairs."""
        job = Job(view=view, stop=threading.Event(), planned=len(incidents))
        with self._lock:
            self._jobs[view.id] = job
            for incident, row in incidents:
                incident_id = self._new_incident(job, incident.index, alert)
                self._store.update(incident_id, incident)
                if row is not None:
                    self._store.row_done(incident_id, row)

    def restore_needs_human(self, record: IncidentRecord) -> None:
        with self._lock:
            self._store.add(record)

    def _check_room(self, incidents: int, new_job: bool) -> None:
        """Busy unless `incidents` more open incidents (and a job) fit the server's limits."""
        active = {j.view.id: j for j in self._jobs.values() if j.view.state in JOB_ACTIVE}
        if new_job and len(active) >= self.max_active_jobs:
            raise Busy(f"server busy: {len(active)} jobs are running (at most "
                       f"{self.max_active_jobs})", "retry when some have finished")
        open_now = (sum(j.planned for j in active.values())
                    - self._store.count(states=FINAL_STATES, job_ids=set(active))
                    + self._store.count(states=("needs_human",)))
        if open_now + incidents > self.max_open:
            raise Busy(f"server busy: {open_now} incidents are open, {incidents} more would "
                       f"pass the limit of {self.max_open}", "retry when some have finished")

    def run_job(self, job: Job) -> None:
        assert job.fanout is not None
        try:
            summary = job.fanout.run()
        except Exception as exc:  # a job's failure is shown, not raised
            log.exception("job %s failed", job.view.id)
            with self._lock:
                job.view.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
                self._end_job(job, "error")
            try:
                self.queue.update_job(job.view.id, state="error", info={"error": job.view.error})
            except Exception:  # the queue is gone too: the job shows as it was stored
                log.exception("could not store the end of job %s", job.view.id)
            return
        with self._lock:
            job.view.summary = summary.model_dump(mode="json", exclude={"incidents"})
            self._end_job(job, "stopped" if summary.interrupted else "finished")

    def _end_job(self, job: Job, state: str) -> None:
        job.view.state = state  # type: ignore[assignment]
        job.view.ended_at = time.time()
        self._events.publish("job", job.view)
        self._prune()

    def stop(self, job_id: str) -> JobView:
        """Stop a job: queued incidents never start, running ones are cancelled."""
        with self._lock:
            job = self._job(job_id)
            if job.view.state == "running":
                job.view.state = "stopping"
                job.stop.set()
                self._events.publish("job", job.view)
            return job.view.model_copy(deep=True)

    def cancel_incident(self, incident_id: str) -> bool:
        """Cancel one running (or slot-waiting) incident; False if it is not running."""
        with self._lock:
            inc = self._store.get(incident_id)
            job = self._jobs.get(inc.record.job_id or "")
            if job is None or job.fanout is None or inc.record.index is None:
                return False
        return job.fanout.cancel(inc.record.index)

    def job(self, job_id: str) -> JobView:
        with self._lock:
            return self._job(job_id).view.model_copy(deep=True)

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownId(f"no job {job_id!r}")
        return job

    def wait_for_slot(self, incident_id: str, cancel: threading.Event | None) -> bool:
        """Block until the incident may take a sandbox (True) or is cancelled first."""
        with self._lock:
            self._store.set_waiting(incident_id, True)
        acquired = False
        try:
            acquired = self.gate.acquire(
                lambda: self._closed or (cancel is not None and cancel.is_set()))
        finally:
            with self._lock:
                self._store.set_waiting(incident_id, False, started=acquired)
        return acquired

    # -- incidents ----------------------------------------------------------------------------

    def incident_for_run(self, job_id: str, run_id: str) -> str:
        with self._lock:
            return self._store.for_run(run_id)

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident: its record, live actions, trace row (once done) and confirmations."""
        with self._lock:
            inc = self._store.get(incident_id)
            return {"incident": inc.record.model_dump(mode="json"),
                    "actions": list(inc.actions), "row": inc.row,
                    "confirmations": [c.model_dump(mode="json") for c in
                                      self._board.listed(None, incident_id)]}

    def open_incident_with_fingerprint(self, fingerprint: str) -> IncidentRecord | None:
        """The open incident raised by the alert with this fingerprint, if any."""
        with self._lock:
            return self._store.with_fingerprint(fingerprint)

    def add_needs_human(self, text: str, reason: str, alert: dict[str, Any]) -> IncidentRecord:
        """Record an alert that no sandbox can reproduce (Busy past `max_open`)."""
        record = IncidentRecord(id=f"alert-{uuid.uuid4().hex[:10]}", source="alert",
                                state="needs_human", reason=reason, incident_text=text,
                                skill=(alert.get("route") or {}).get("skill"), alert=alert)
        with self._lock:
            self._check_room(1, new_job=False)
            self.queue.put_job(JobRecord(record.id, "needs_human",
                                         {"record": record.model_dump(mode="json")},
                                         state="needs_human", owner=self.owner))
            self._store.add(record)
            self._prune()
        return record.model_copy(deep=True)

    def resolve_needs_human(self, incident_id: str, why: str) -> None:
        """Close a needs-human incident (its alert resolved)."""
        with self._lock:
            self._store.resolve(incident_id, why)
            record = self._store.get(incident_id).record
            self.queue.update_job(incident_id, state="resolved",
                                  info={"reason": record.reason, "ended_at": record.ended_at})
            self._prune()

    def row_done(self, incident_id: str, row: TraceRow) -> None:
        with self._lock:
            self._store.row_done(incident_id, row)

    def snapshot(self) -> dict[str, Any]:
        """Everything the dashboard shows, newest first (compact and bounded)."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.view.created_at, reverse=True)
            return {
                "server_time": time.time(),
                "capacity": {**self.gate.counts(), "max_open": self.max_open,
                             "max_active_jobs": self.max_active_jobs},
                "jobs": [clip_strings(j.view.model_dump(mode="json")) for j in jobs],
                "incidents": self._store.live(),
                "confirmations": [clip_strings(c.model_dump(mode="json"))
                                  for c in self._board.listed("pending")],
            }

    # -- confirmations ------------------------------------------------------------------------

    def confirmer(self, incident_id: str, run_id: str | None,
                  cancel: threading.Event | None) -> Confirmer:
        """A confirmer for one incident's run: parks the action and waits for an answer."""
        return self._board.confirmer(incident_id, run_id, cancel)

    def answer(self, confirmation_id: str, approve: bool, reason: str = "") -> Confirmation:
        """Approve or reject a pending confirmation; UsageError if already settled."""
        return self._board.answer(confirmation_id, approve, reason)

    def confirmations(self, state: str | None = "pending") -> list[Confirmation]:
        return self._board.listed(state)

    # -- fan-out events -----------------------------------------------------------------------

    def on_fanout_event(self, job: Job, event: FanoutEvent, alert: dict[str, Any] | None) -> None:
        with self._lock:
            if event.kind == "finished" or event.incident is None:
                return
            view = event.incident
            incident_id = job.by_index.get(view.index) \
                or self._new_incident(job, view.index, alert)
            action = event.data.get("action") if event.kind == "action" else None
            self._store.update(incident_id, view, action)
            if event.kind == "done" and event.data.get("row") is not None:
                self._store.row_done(incident_id, event.data["row"])

    def _new_incident(self, job: Job, index: int, alert: dict[str, Any] | None,
                      **fields: Any) -> str:
        incident_id = f"{job.view.id}-{index:03d}"
        job.by_index[index] = incident_id
        job.view.incident_ids.append(incident_id)
        self._store.add(IncidentRecord(
            id=incident_id, job_id=job.view.id, index=index, source="alert" if alert else "api",
            alert=alert, incident_text=job.view.request.get("incident_text"), **fields))
        self._events.publish("job", job.view)
        return incident_id

    def _prune(self) -> None:
        """Forget the oldest finished incidents and jobs past `max_incidents`/`max_jobs`."""
        active = {j.view.id for j in self._jobs.values() if j.view.state in JOB_ACTIVE}
        gone = self._store.prune(self.max_incidents, active)
        if gone:
            self._board.forget(gone)
        done = sorted((j for j in self._jobs.values() if j.view.state in JOB_FINAL),
                      key=lambda j: j.view.created_at)
        for job in done[:max(0, len(done) - self.max_jobs)]:
            del self._jobs[job.view.id]

    # -- event stream and shutdown ------------------------------------------------------------

    def subscribe(self) -> Subscription:
        """A new event-stream subscription; Busy when too many streams are open."""
        return self._events.subscribe()

    def unsubscribe(self, sub: Subscription) -> None:
        self._events.unsubscribe(sub)

    def shutdown(self, wait_s: float = 30.0) -> list[str]:
        """Stop every job and wait (at most `wait_s`) for their runs to tear down.

        Returns the ids of jobs still running after the wait.
        """
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
            for job in jobs:
                job.stop.set()
            self._events.close()
        deadline = time.monotonic() + wait_s
        for job in jobs:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))
        return [j.view.id for j in jobs if j.thread is not None and j.thread.is_alive()]

    @property
    def closed(self) -> bool:
        return self._closed
