"""Fan-out: many incidents at once, each in its own sandbox, through a durable queue.

Every accepted incident is put in the queue (`sre_agent.fleet.queue`) before it counts as
accepted: a batch all at once (`accept()`, which the web server calls before it answers), a
continuous intake as each Poisson arrival comes (an arrival that finds `queue_size` incidents
waiting is shed: counted, never run). The dispatcher then claims the fan-out's incidents for
its executors (up to each one's `capacity`, never more than `concurrency` in all), highest
severity first, FIFO within a severity; each claim is leased and renewed while it runs
(`attempt.run_claim`). Queue workers on other machines (`sre-agent worker --queue URL`) may
claim them too; the dispatcher follows those through the queue.

Every result goes through the queue, which takes it only from the incident's current holder;
the dispatcher (the job's one recorder) appends it to the trace log (`ledger.Recorder`). So a
killed orchestrator loses nothing: `resume=True` (`sre-agent fanout --resume ID`) reloads the
job, records what finished meanwhile, takes back the incidents its dead predecessor held
(`expire`: no need to wait out their leases) and runs the rest, each ending exactly once.

An executor that raises `WorkerLost` is marked dead and gets no more work; its incident is
queued again for the others (or queue workers), or counted `lost` when nobody is left.
Stopping (`stop`, e.g. Ctrl-C) closes intake, cancels what is queued (`not_started`) and
every run in flight (each tears its sandbox down and writes its row), and waits for them at
most `stop_wait_s`. State changes are reported as `FanoutEvent`s to `on_event`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from sre_agent.agent import Confirmer
from sre_agent.errors import UsageError
from sre_agent.fleet.attempt import Outcome, result_of, run_claim
from sre_agent.fleet.executor import IncidentExecutor
from sre_agent.fleet.intake import PlannedIncident, draw_incidents, incident_stream
from sre_agent.fleet.intake import poisson_arrivals as arrivals_of
from sre_agent.fleet.ledger import Recorder, new_item, refresh, row_of, view_of
from sre_agent.fleet.queue import (
    FINAL,
    OPEN,
    Claim,
    DurableQueue,
    JobRecord,
    LeaseKeeper,
    SqliteQueue,
    holder_dead,
    worker_identity,
)
from sre_agent.fleet.request import FanoutRequest
from sre_agent.fleet.summary import (
    FINAL_STATES,
    FanoutEvent,
    FanoutSummary,
    IncidentView,
    compact_row,
)
from sre_agent.fleet.tracking import Tracker, make_slots

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often the queue is read for incidents run elsewhere


class Fanout(Tracker):
    """One fan-out; `run()` once. `cancel(index)` ends one incident's run early."""

    def __init__(self, request: FanoutRequest, executors: list[IncidentExecutor], *,
                 on_event: Callable[[FanoutEvent], None] | None = None,
                 stop: threading.Event | None = None, confirmer: Confirmer | None = None,
                 queue: DurableQueue | None = None, job_id: str | None = None,
                 resume: bool = False, kind: str = "fanout",
                 spec: dict[str, Any] | None = None, auto_confirm: bool = False,
                 warm_up: Callable[[], object] | None = None) -> None:
        request.check()
        if not executors and not request.queue_workers:
            raise UsageError("no executor to run incidents on",
                             "give workers, or let queue workers run them (--no-local)")
        names = [e.name for e in executors]
        if len(set(names)) != len(names):
            raise UsageError(f"executor names must be unique: {names}")
        fanout_id = job_id or f"fan-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        super().__init__(request, fanout_id, on_event)
        self.stop = stop or threading.Event()
        self.confirmer = confirmer
        self.queue = queue or SqliteQueue(":memory:", max_attempts=request.max_attempts)
        self.resume, self.kind, self.spec = resume, kind, spec or {}
        self.auto_confirm = auto_confirm
        self.also_warm_up = warm_up  # e.g. this fan-out's worker processes getting ready
        self.owner = worker_identity("orchestrator")
        self.keeper = LeaseKeeper(self.queue)
        self.recorder = Recorder(self.queue, request.template.trace_log)
        self._slots = make_slots(executors, request.concurrency)
        self._cancels: dict[str, threading.Event] = {}
        self._accepted = False
        self._intake_open = False
        self._next_poll = 0.0

    # -- public ---------------------------------------------------------------------------------

    def cancel(self, index: int) -> bool:
        """Cancel one incident (queued: it never starts; running: its run is cancelled)."""
        with self._cv:
            view = self._views.get(index)
            if view is None or view.state in FINAL_STATES:
                return False
            item = self.item(index)
            event = self._cancels.get(item)
        ok = self.queue.cancel(item)
        if event is not None:
            event.set()
        self.poke()
        return ok or event is not None

    def accept(self) -> None:
        """Store the job and (batch) its incidents, or load a stored job to resume; once."""
        with self._cv:
            if self._accepted:
                return
            self._accepted = True
            req = self.request
            if self.resume:
                self._load()
                self._emit("accepted", data=self._accepted_info())
                return
            job = JobRecord(self.fanout_id, self.kind, {**self.spec, "request":
                                                        req.model_dump(mode="json")},
                            owner=self.owner, info={"queue": self.queue.url})
            if not self.queue.put_job(job):
                raise UsageError(f"a job {self.fanout_id} exists already",
                                 f"resume it: sre-agent fanout --resume {self.fanout_id}")
            if not req.continuous:
                plans = draw_incidents(req.incidents or 0, req.scenarios, req.seed, req.draw)
                self.queue.put_many(new_item(self.fanout_id, p, req.template, self.auto_confirm)
                                    for p in plans)
                for plan in plans:
                    self._admit(plan)
            self._emit("accepted", data=self._accepted_info())

    def _accepted_info(self) -> dict[str, Any]:
        return {"fanout_id": self.fanout_id, "queue": self.queue.url, "resumed": self.resume,
                "incidents": len(self._views)}

    def run(self) -> FanoutSummary:
        """Run the fan-out to the end (or until `stop`); returns the summary."""
        self._warm_up()
        self.accept()
        req = self.request
        self._t0 = time.monotonic()
        arrivals: deque[float] = deque()
        stream = incident_stream(req.scenarios, req.seed, req.draw)
        if req.continuous and not self.resume:
            rng = random.Random(f"fanout-arrivals:{req.seed}")
            arrivals = deque(arrivals_of(req.arrival_rate or 0, req.duration_s or 0, rng))
            self._intake_open = True
        intake_end = (req.duration_s or 0.0) if self._intake_open else 0.0
        next_card = req.scorecard_every_s or None
        stop_deadline = 0.0
        try:
            while True:
                with self._cv:
                    now = self._now()
                    if self.stop.is_set() and not self._stopping:
                        stop_deadline = now + req.stop_wait_s
                        self._begin_stop()
                    while self._intake_open and arrivals and arrivals[0] <= now:
                        self._arrive(next(stream).model_copy(
                            update={"arrived_s": arrivals.popleft()}))
                    if self._intake_open and now >= intake_end:
                        self._intake_open = False
                        self._emit("intake_closed")
                if not self._stopping:
                    self._dispatch()
                self._sync(now)
                with self._cv:
                    if next_card is not None and now >= next_card:
                        self._emit_scorecard(now)
                        next_card = now + (req.scorecard_every_s or 0)
                    if self._done(now, stop_deadline):
                        break
                    waits = [POLL_S, self._next_poll - now]
                    if self._intake_open:
                        waits.append((arrivals[0] if arrivals else intake_end) - now)
                    if next_card is not None:
                        waits.append(next_card - now)
                    self._cv.wait(max(0.01, min(waits)))
            return self._close()
        finally:
            self.keeper.close()

    # -- intake and dispatch ------------------------------------------------------------------

    def _warm_up(self) -> None:
        t = time.monotonic()
        for slot in self._slots:  # optional hook: e.g. import the SDK before the clock starts
            warm_up = getattr(slot.executor, "warm_up", None)
            if callable(warm_up) and not self.stop.is_set():
                self._emit("warm_up", data={"executor": slot.name})
                warm_up()
        if self.also_warm_up is not None and not self.stop.is_set():
            self.also_warm_up()
        self._warm_up_s = time.monotonic() - t

    def _load(self) -> None:
        """Resume: take the job over, rebuild its views, take back what dead holders held."""
        job = self.queue.get_job(self.fanout_id)
        if job is None:
            raise UsageError(f"no fan-out {self.fanout_id} in the queue {self.queue.url}")
        self.queue.update_job(self.fanout_id, owner=self.owner, state="running")
        for item in self.recorder.reconcile(self.fanout_id):
            log.info("recorded %s, finished while nobody recorded it", item.id)
        for item in self.queue.items(self.fanout_id):
            if item.state == "running" and holder_dead(item.owner):
                self.queue.expire(item.id, item.token)  # its holder is gone: run it again
                self._reclaimed.add(item.id)
        for item in self.queue.items(self.fanout_id):
            view = view_of(item)
            self._views[view.index] = view
            row = row_of(item.result) if item.state == "done" else None
            if row is not None:
                self._rows.append(compact_row(row))
            self._emit(view.state, view, {"row": row} if row is not None else None)

    def _admit(self, plan: PlannedIncident) -> IncidentView:
        view = self.new_view(plan)
        self._emit("queued", view)
        return view

    def _arrive(self, plan: PlannedIncident) -> None:
        """A continuous-intake arrival: stored, or shed when too many are waiting."""
        waiting = sum(1 for v in self._views.values() if v.state == "queued")
        if waiting >= self.request.max_queued:
            self._shed += 1
            self._emit("shed", data={"index": plan.index, "scenario": plan.scenario})
            return
        self.queue.put_many([new_item(self.fanout_id, plan, self.request.template,
                                      self.auto_confirm)])
        self._admit(plan)

    def _dispatch(self) -> None:
        while True:
            with self._cv:
                if self._stopping or self._in_flight >= self.request.concurrency:
                    return
                free = [s for s in self._live() if s.in_flight < s.stats.capacity]
                if not free:
                    if not self._live() and not self.request.queue_workers:
                        self._nobody_left()
                    return
                slot = min(free, key=lambda s: s.in_flight / s.stats.capacity)
            claim = self.queue.claim(slot.claimer, jobs=[self.fanout_id])
            if claim is None:
                return
            with self._cv:
                self._launch(claim, slot)

    def _nobody_left(self) -> None:
        """Every executor is dead and no queue worker may help: nothing queued can run."""
        for view in list(self._views.values()):
            if view.state == "queued":
                claim = self.queue.claim(self.owner, jobs=[self.fanout_id])
                if claim is not None:
                    self.queue.fail(claim, "no live executor left", retry=False)

    def _launch(self, claim: Claim, slot: Any) -> None:
        view = self._views.get(int(claim.payload["index"])) or self._admit_claimed(claim)
        view.attempts = claim.attempt
        cancel = threading.Event()
        self._cancels[claim.id] = cancel
        self.started(view, slot, claim)
        thread = threading.Thread(target=self._attempt, args=(claim, slot, view.index, cancel),
                                  name=f"fanout-{view.index}", daemon=True)
        thread.start()

    def _admit_claimed(self, claim: Claim) -> IncidentView:
        """An incident of this job this process had not seen (put by a predecessor)."""
        item = self.queue.get(claim.id)
        view = view_of(item) if item is not None else self.new_view(PlannedIncident(
            **{k: claim.payload[k] for k in ("index", "scenario", "seed", "severity")}))
        self._views[view.index] = view
        return view

    # -- run threads ----------------------------------------------------------------------------

    def _attempt(self, claim: Claim, slot: Any, index: int, cancel: threading.Event) -> None:
        hooks = self.hooks_for(index, claim.attempt, cancel, self.confirmer)
        outcome = run_claim(slot.executor, claim, self.keeper, hooks,
                            offer=lambda c, o: self._offer(c, o))
        with self._cv:
            slot.in_flight -= 1
            self._in_flight -= 1
            self._cancels.pop(claim.id, None)
            view = self._views[index]
            if outcome.lost_worker is not None:
                self.worker_lost(slot, view, outcome.lost_worker)
                retry = not self._stopping and (bool(self._live())
                                                or self.request.queue_workers)
                self.queue.fail(claim, outcome.lost_worker.one_line(), retry=retry)
                item = self.queue.get(claim.id)
                if item is not None and item.state == "queued":
                    self.requeued(slot, view)
                else:
                    why = "stopped" if self._stopping else "no live executor left"
                    self._set(view, "lost", error=f"{outcome.lost_worker.one_line()}; {why}")
            elif outcome.accepted:
                slot.stats.completed += 1
                if outcome.row is not None:
                    status = outcome.row.status
                    slot.stats.statuses[status] = slot.stats.statuses.get(status, 0) + 1
            self._next_poll = 0.0  # record it now
            self._cv.notify_all()

    def _offer(self, claim: Claim, outcome: Outcome) -> bool:
        return self.queue.complete(claim, result_of(claim, outcome))

    # -- the queue: results, incidents run elsewhere ------------------------------------------

    def _sync(self, now: float) -> None:
        """Record finished incidents; follow the ones other processes run."""
        with self._cv:
            if now < self._next_poll:
                return
            self._next_poll = now + POLL_S
            local = set(self._cancels)
        finished = self.queue.unlogged(self.fanout_id)
        self.recorder.record(finished)
        open_items = {i.id: i for i in self.queue.items(self.fanout_id, OPEN)}
        with self._cv:
            for item in finished:
                self.finished(item)
            for index, view in list(self._views.items()):
                if view.state in FINAL_STATES or self.item(index) in local:
                    continue
                item = open_items.get(self.item(index))
                if item is None:  # ended elsewhere (failed, cancelled) since the last look
                    item = self.queue.get(self.item(index))
                    if item is None or (item.state not in FINAL or item.state == "done"):
                        continue
                if refresh(view, item):
                    self._emit(view.state, view)

    def _begin_stop(self) -> None:
        self._stopping = True
        self._intake_open = False
        self._emit("stopping", data={"in_flight": self._in_flight})
        for index, view in self._views.items():
            if view.state not in FINAL_STATES:
                self.queue.cancel(self.item(index))  # queued: never starts; running: cancel
        for event in self._cancels.values():
            event.set()
        self._next_poll = 0.0

    def _done(self, now: float, stop_deadline: float) -> bool:
        open_views = [v for v in self._views.values() if v.state not in FINAL_STATES]
        if self._stopping:
            return not open_views or now >= stop_deadline
        return not self._intake_open and not open_views and self._in_flight == 0

    def _close(self) -> FanoutSummary:
        with self._cv:
            for view in self._views.values():  # runs that did not end within the stop wait
                if view.state not in FINAL_STATES:
                    self._set(view, "lost", error="still running when the stop wait ran out")
            summary = self._summary()
        state = "stopped" if self._stopping else "finished"
        self.queue.update_job(self.fanout_id, state=state, summary=summary.model_dump(
            mode="json", exclude={"incidents"}))
        with self._cv:
            self._emit("finished", data={"summary": summary})
        return summary


def run_fanout(request: FanoutRequest, executors: list[IncidentExecutor], *,
               on_event: Callable[[FanoutEvent], None] | None = None,
               stop: threading.Event | None = None, confirmer: Confirmer | None = None,
               queue: DurableQueue | None = None, job_id: str | None = None,
               resume: bool = False, auto_confirm: bool = False) -> FanoutSummary:
    """Run many incidents on `executors` (and queue workers); see the module docstring.
    Never prints.

    `confirmer` answers risky actions of this process's runs (nobody watches one run of
    many: the CLI approves with --auto-confirm, else rejects); `auto_confirm` is what queue
    workers are told to answer.
    """
    return Fanout(request, executors, on_event=on_event, stop=stop, confirmer=confirmer,
                  queue=queue, job_id=job_id, resume=resume,
                  auto_confirm=auto_confirm).run()


__all__ = ["Fanout", "run_fanout"]
