"""One web job: its record (`Job`: the view, the stop event, the fan-out and its thread) and
how its fan-out is built (`build_job`), from a start request or from a stored job to resume.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

from sre_agent.fleet import Fanout, FanoutRequest
from sre_agent.runs import RunRequest
from sre_agent.web.schemas import JobStart, JobView
from sre_agent.web.slots import WebExecutor

JOB_ACTIVE = ("running", "stopping")
JOB_FINAL = ("finished", "stopped", "error")


@dataclasses.dataclass
class Job:
    view: JobView
    stop: threading.Event
    planned: int = 0
    fanout: Fanout | None = None
    thread: threading.Thread | None = None
    by_index: dict[int, str] = dataclasses.field(default_factory=dict)


def build_job(manager: Any, spec: JobStart, kind: str, alert: dict[str, Any] | None, *,
              job_id: str | None = None, request: FanoutRequest | None = None) -> Job:
    """A job of `manager` (the `JobManager`) with its fan-out and thread, not started;
    `job_id` and `request`: resume that stored job."""
    if request is None:
        template = RunRequest(
            scenario="*", incident_text=spec.incident_text or None, model=spec.model or None,
            simulate=spec.simulate, mode=spec.mode, max_risk=spec.max_risk,
            confirm_risk=spec.confirm_risk, max_steps=spec.max_steps, timeout_s=spec.timeout_s,
            trace_log=manager.trace_log)
        request = FanoutRequest(  # a job never has more runs waiting for slots than slots
            incidents=spec.incidents,
            concurrency=min(spec.concurrency, spec.incidents, manager.max_in_flight),
            scenarios=list(spec.scenarios), seed=spec.seed, template=template,
            scorecard_every_s=0, stop_wait_s=manager.stop_wait_s,
            max_attempts=manager.max_attempts)
    else:  # results go to this server's trace log, wherever the job was started
        request.template.trace_log = manager.trace_log
    job = Job(view=JobView(id=job_id or f"job-{uuid.uuid4().hex[:8]}", kind=kind,  # type: ignore[arg-type]
                           request=spec.model_dump()), stop=threading.Event(),
              planned=spec.incidents)
    executor = WebExecutor(manager, job.view.id, manager.run_fn, request.concurrency)
    job.fanout = Fanout(request, [executor], stop=job.stop,  # raises UsageError
                        on_event=lambda event: manager.on_fanout_event(job, event, alert),
                        queue=manager.queue, job_id=job.view.id, resume=job_id is not None,
                        kind=kind, spec={"job_start": spec.model_dump(mode="json"),
                                         "alert": alert})
    job.fanout.owner = manager.owner
    job.thread = threading.Thread(target=manager.run_job, args=(job,), daemon=True,
                                  name=f"web-{job.view.id}")
    return job


__all__ = ["JOB_ACTIVE", "JOB_FINAL", "Job", "build_job"]
