"""The fleet: many incidents at once (dispatcher, intake, summary) through a durable queue,
locally, on agent-server workers, or on queue workers.

`run_fanout(FanoutRequest(...), executors, queue=open_queue(url))` runs a fan-out;
`choose_executors` picks the executors (remote workers by URL, else this host); `Worker` runs
the agent-server a remote executor talks to; `QueueWorker` pulls incidents from a queue and
runs them here (`sre-agent worker --queue URL`); `resume_fanout` finishes a fan-out whose
orchestrator died.
"""

from sre_agent.fleet.dispatcher import Fanout, run_fanout
from sre_agent.fleet.executor import IncidentExecutor, LocalExecutor, WorkerLost
from sre_agent.fleet.intake import IncidentQueue, PlannedIncident, draw_incidents, poisson_arrivals
from sre_agent.fleet.pool import choose_executors, make_executors
from sre_agent.fleet.queue import (
    DurableQueue,
    QueueError,
    default_queue_url,
    open_queue,
    shown_url,
)
from sre_agent.fleet.queue_worker import QueueWorker, WorkerReport
from sre_agent.fleet.remote import RemoteExecutor
from sre_agent.fleet.request import FanoutRequest
from sre_agent.fleet.resume import resume_fanout, stored_request
from sre_agent.fleet.summary import FanoutEvent, FanoutSummary, IncidentView
from sre_agent.fleet.worker import (
    Worker,
    destroy_sandbox,
    forget_sandbox,
    reap_sandboxes,
    record_sandbox,
    wait_alive,
    worker_config,
)

__all__ = [
    "DurableQueue", "Fanout", "FanoutEvent", "FanoutRequest", "FanoutSummary",
    "IncidentExecutor", "IncidentQueue", "IncidentView", "LocalExecutor", "PlannedIncident",
    "QueueError", "QueueWorker", "RemoteExecutor", "Worker", "WorkerLost", "WorkerReport",
    "choose_executors", "default_queue_url", "destroy_sandbox", "draw_incidents",
    "forget_sandbox", "make_executors", "open_queue", "poisson_arrivals", "reap_sandboxes",
    "record_sandbox", "resume_fanout", "run_fanout", "shown_url", "stored_request",
    "wait_alive", "worker_config",
]
