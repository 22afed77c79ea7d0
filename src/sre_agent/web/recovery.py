"""A restarted server shows every job and incident it had, and finishes the unfinished ones.

Everything a server accepts is stored in its durable queue first (jobs, their incidents, the
alerts that need a human). At start-up `recover` reads it back: a job that was still running
when its server died is resumed (its incidents are shown again; what finished meanwhile is
recorded, what its dead server held is taken back, the rest runs); an ended job, or one another
live server drives, is only shown. So is a `sre-agent fanout` job found in the same queue
(no `job_start`): it is finished by `fanout --resume`, never silently by a server's start.
Needs-human alerts come back open (or resolved).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sre_agent.fleet.ledger import row_of, view_of
from sre_agent.fleet.queue import JobRecord, holder_dead
from sre_agent.web.jobs import JobManager
from sre_agent.web.schemas import IncidentRecord, JobStart, JobView

log = logging.getLogger(__name__)
ACTIVE = ("running", "stopping")


@dataclass
class Recovered:
    """What `recover` found in the queue."""

    resumed: list[str] = field(default_factory=list)  # jobs this server now drives
    shown: list[str] = field(default_factory=list)  # jobs shown as they are
    needs_human: int = 0
    errors: list[str] = field(default_factory=list)


def recover(jobs: JobManager) -> Recovered:
    """Load the stored jobs into `jobs` (oldest first); resume those whose server died."""
    queue = jobs.queue
    found = Recovered()
    records = {j.id: j for j in queue.jobs(states=ACTIVE)}
    records |= {j.id: j for j in queue.jobs(states=["needs_human"])}
    records |= {j.id: j for j in queue.jobs(
        limit=jobs.max_jobs, states=["finished", "stopped", "error", "resolved"])}
    for record in sorted(records.values(), key=lambda j: j.created_at):
        try:
            if record.kind == "needs_human":
                jobs.restore_needs_human(_needs_human(record))
                found.needs_human += 1
            elif record.state in ACTIVE and "job_start" in record.spec \
                    and (not record.owner or holder_dead(record.owner)):
                jobs.resume_job(record)
                found.resumed.append(record.id)
            else:
                _show(jobs, record)
                found.shown.append(record.id)
        except Exception as exc:  # one broken record must not keep the server down
            log.exception("could not recover job %s", record.id)
            found.errors.append(f"{record.id}: {type(exc).__name__}: {exc}")
    return found


def _needs_human(record: JobRecord) -> IncidentRecord:
    incident = IncidentRecord.model_validate(record.spec["record"])
    if record.state == "resolved":
        incident.state = "resolved"
        incident.reason = record.info.get("reason") or incident.reason
        incident.ended_at = record.info.get("ended_at") or record.updated_at
    return incident


def _show(jobs: JobManager, record: JobRecord) -> None:
    state = record.state if record.state in ("running", "stopping", "finished", "stopped",
                                             "error") else "finished"
    spec = JobStart.model_validate(record.spec.get("job_start") or {})
    view = JobView(id=record.id, kind=record.kind if record.kind in ("run", "fanout", "alert")
                   else "fanout", state=state,  # type: ignore[arg-type]
                   created_at=record.created_at, request=spec.model_dump(),
                   summary=record.summary, error=record.info.get("error"),
                   ended_at=None if state in ACTIVE else record.updated_at)
    items = jobs.queue.items(record.id)
    row_views = []
    for item in items:
        row = row_of(item.result)
        row_views.append((view_of(item), row))
    jobs.restore_job(view, record.spec.get("alert"), row_views)


__all__ = ["Recovered", "recover"]
