"""A fan-out's incidents as queue items, and the one place their trace rows are recorded.

- Item ids are `<fanout id>-<index:03d>`, the run id of an incident's first attempt; a later
  attempt runs as `<item id>-a<n>`. The payload carries the incident (index, scenario, seed,
  severity) and its whole run request, so any worker on any machine can run it.
- `view_of` turns a stored item into the `IncidentView` the dashboard and summary show:
  queued -> queued, running -> its stage, done -> done (from the stored row), failed -> lost,
  cancelled before it started -> not_started.
- `Recorder`: the job's owner appends each finished incident's row to the trace log, then
  marks it logged in the queue. A crash between the two is repaired by `reconcile`, which
  skips rows already in the log: exactly one row per incident id, whoever ran it (none for
  an incident that never ran: its result row says `extra.not_run`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sre_agent.fleet.intake import PlannedIncident
from sre_agent.fleet.queue import ItemView, JobRecord, NewItem
from sre_agent.fleet.queue.base import DurableQueue
from sre_agent.fleet.summary import IncidentView, outcome_correct
from sre_agent.incidents import get_scenario
from sre_agent.runs import RunRequest
from sre_agent.traces import TraceRow, TraceWriter, iter_trace_dicts

logger = logging.getLogger(__name__)

STAGE_STATE = {"starting": "starting", "agent": "agent", "verifying": "verifying"}


def worker_label(worker_id: str | None) -> str | None:
    """A claim holder as people read it: `name@host` (`host/pid/start/name#slot`)."""
    if not worker_id or worker_id.count("/") < 3:
        return worker_id
    host, _pid, _start, name = worker_id.split("/", 3)
    return f"{name.rsplit('#', 1)[0]}@{host}"


def item_id(fanout_id: str, index: int) -> str:
    return f"{fanout_id}-{index:03d}"


def run_id_for(item: str, attempt: int) -> str:
    """The run id of one attempt: the item id, then `-a2`, `-a3`, ... for re-runs."""
    return item if attempt <= 1 else f"{item}-a{attempt}"


def new_item(fanout_id: str, plan: PlannedIncident, template: RunRequest,
             auto_confirm: bool = False) -> NewItem:
    """The queue item of one planned incident (its run request inside, minus the log)."""
    request = template.model_dump(mode="json", exclude={"trace_log", "run_id"})
    request.update(scenario=plan.scenario, seed=plan.seed)
    payload = {"index": plan.index, "scenario": plan.scenario, "seed": plan.seed,
               "severity": plan.severity, "arrived_s": plan.arrived_s, "request": request,
               "auto_confirm": auto_confirm}
    return NewItem(item_id(fanout_id, plan.index), fanout_id, payload, plan.severity)


def request_of(payload: dict[str, Any], run_id: str, trace_log: Path | None) -> RunRequest:
    """The run request an item carries, for one attempt (`run_id`, `trace_log`)."""
    return RunRequest.model_validate({**payload["request"], "run_id": run_id,
                                      "trace_log": trace_log})


def row_of(result: dict[str, Any] | None) -> TraceRow | None:
    data = (result or {}).get("row")
    return TraceRow.model_validate(data) if data else None


def fill_view(view: IncidentView, row: TraceRow) -> None:
    """An incident view from its final trace row."""
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


def view_of(item: ItemView) -> IncidentView:
    """What a stored item shows (a restarted orchestrator's or another worker's incident)."""
    p = item.payload
    try:
        expected = get_scenario(p["scenario"]).expected_outcome
    except Exception:  # a scenario of a pack not installed here: still shown
        expected = "fixed"
    view = IncidentView(index=int(p["index"]), scenario=p["scenario"], seed=int(p["seed"]),
                        severity=p.get("severity", "medium"), expected=expected,
                        run_id=run_id_for(item.id, item.attempts), arrived_at=item.created_at,
                        attempts=item.attempts, started_at=item.claimed_at)
    refresh(view, item)
    return view


def refresh(view: IncidentView, item: ItemView) -> bool:
    """Apply a stored item's state to its view; True if the view changed state."""
    before = (view.state, view.worker, view.attempts)
    view.attempts = max(view.attempts, item.attempts)
    if item.state == "queued":
        view.state, view.worker = "queued", None
    elif item.state == "running":
        view.state = STAGE_STATE.get(item.stage or "", "starting")  # type: ignore[assignment]
        view.worker = worker_label(item.owner)
        view.run_id = run_id_for(item.id, item.attempts)
        view.started_at = item.claimed_at
    elif item.state == "done":
        view.state, view.ended_at = "done", item.finished_at
        row = row_of(item.result)
        if row is not None:
            fill_view(view, row)
        error = (item.result or {}).get("error")
        if error:
            view.error = error
            view.status = view.status or "error"
        view.worker = worker_label((item.result or {}).get("worker")) or view.worker
    elif item.state == "failed":
        view.state, view.ended_at = "lost", item.finished_at
        view.error = item.error or "gave up"
    else:  # cancelled while queued: it never ran
        view.state, view.ended_at = "not_started", item.finished_at
    return before != (view.state, view.worker, view.attempts)


class Recorder:
    """Appends a job's finished incidents to its trace log, exactly once each."""

    def __init__(self, queue: DurableQueue, trace_log: Path | None) -> None:
        self.queue = queue
        self.trace_log = Path(trace_log) if trace_log else None
        self.recorded = 0

    def record(self, items: list[ItemView], already: set[str] | None = None) -> None:
        """Append the rows of these done items (except the ids in `already`), then mark all
        of them logged."""
        writer = TraceWriter(self.trace_log) if self.trace_log else None
        for item in items:
            row = row_of(item.result)
            if writer is not None and row is not None and item.id not in (already or set()) \
                    and not row.extra.get("not_run"):
                writer.append(row)
                self.recorded += 1
        if items:
            self.queue.mark_logged([i.id for i in items])

    def reconcile(self, job_id: str) -> list[ItemView]:
        """Record the job's done items nobody recorded yet (after a crash between a result and
        its log line, a row already in the log is not appended again); returns them."""
        pending = self.queue.unlogged(job_id)
        if not pending:
            return []
        wanted = {i.id for i in pending}
        seen: set[str] = set()
        if self.trace_log is not None and self.trace_log.is_file():
            t = time.perf_counter()
            for data in iter_trace_dicts(self.trace_log):
                queue_id = ((data.get("extra") or {}).get("queue") or {}).get("id")
                if queue_id in wanted:
                    seen.add(queue_id)
            logger.info("reconciled %d results against %s in %.1fs", len(pending),
                        self.trace_log, time.perf_counter() - t)
        self.record(pending, already=seen)
        return pending


def job_request(job: JobRecord) -> dict[str, Any]:
    """The fan-out request a stored job was started with."""
    return dict(job.spec.get("request") or {})


__all__ = ["Recorder", "fill_view", "item_id", "job_request", "new_item", "refresh",
           "request_of", "row_of", "run_id_for", "view_of", "worker_label"]
