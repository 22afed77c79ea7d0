"""Finish a fan-out whose orchestrator died: `sre-agent fanout --resume FANOUT_ID`.

The job's request (every flag it was started with) is stored next to its incidents, so the
resumed fan-out runs them the same way. A job whose orchestrator still runs on this host is
refused (two recorders would each append the same results); one whose orchestrator ran on
another host is refused too unless `force` (this host cannot tell whether it is alive).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from sre_agent.agent import Confirmer
from sre_agent.errors import UsageError
from sre_agent.fleet.dispatcher import Fanout
from sre_agent.fleet.executor import IncidentExecutor
from sre_agent.fleet.ledger import job_request
from sre_agent.fleet.queue import DurableQueue, JobRecord, holder_dead
from sre_agent.fleet.request import FanoutRequest
from sre_agent.fleet.summary import FanoutEvent, FanoutSummary


def stored_request(queue: DurableQueue, fanout_id: str, *, force: bool = False
                   ) -> tuple[FanoutRequest, JobRecord]:
    """The stored request of a fan-out that may be resumed (UsageError otherwise)."""
    job = queue.get_job(fanout_id)
    if job is None or not job.spec.get("request"):
        raise UsageError(f"no fan-out {fanout_id!r} in the queue {queue.url}",
                         "the id is printed when a fan-out starts (and in its summary)")
    owner = job.owner or ""
    host = owner.split("/", 1)[0]
    if job.state == "running" and owner and not holder_dead(owner):
        if host == socket.gethostname():
            raise UsageError(f"fan-out {fanout_id} is still running here "
                             f"(pid {owner.split('/')[1]})", "stop it first, or wait")
        if not force:
            raise UsageError(f"fan-out {fanout_id} was started on {host}, which may still run "
                             "it", "resume it there, or pass --force-resume if it is dead")
    return FanoutRequest.model_validate(job_request(job)), job


def resume_fanout(queue: DurableQueue, fanout_id: str, executors: list[IncidentExecutor], *,
                  request: FanoutRequest | None = None,
                  on_event: Callable[[FanoutEvent], None] | None = None,
                  stop: threading.Event | None = None, confirmer: Confirmer | None = None,
                  force: bool = False) -> FanoutSummary:
    """Finish what the fan-out `fanout_id` had accepted; returns its summary."""
    stored, job = stored_request(queue, fanout_id, force=force)
    return Fanout(request or stored, executors, on_event=on_event, stop=stop,
                  confirmer=confirmer, queue=queue, job_id=fanout_id, resume=True,
                  kind=job.kind, spec={k: v for k, v in job.spec.items() if k != "request"}
                  ).run()


__all__ = ["resume_fanout", "stored_request"]
