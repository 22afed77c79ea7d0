"""The fleet: many incidents at once (dispatcher, intake, summary), locally or on workers."""

from sre_agent.fleet.dispatcher import (
    Fanout,
    FanoutEvent,
    FanoutRequest,
    LocalExecutor,
    WorkerLost,
    make_executors,
    run_fanout,
)
from sre_agent.fleet.intake import IncidentQueue, PlannedIncident, draw_incidents, poisson_arrivals
from sre_agent.fleet.remote import RemoteExecutor
from sre_agent.fleet.summary import FanoutSummary, IncidentView
from sre_agent.fleet.worker import (
    Worker,
    destroy_sandbox,
    forget_sandbox,
    free_port,
    is_loopback,
    reap_sandboxes,
    record_sandbox,
    wait_alive,
    worker_config,
)

__all__ = [
    "Fanout", "FanoutEvent", "FanoutRequest", "FanoutSummary", "IncidentQueue", "IncidentView",
    "LocalExecutor", "PlannedIncident", "WorkerLost", "draw_incidents", "make_executors",
    "poisson_arrivals", "run_fanout", "RemoteExecutor", "Worker", "destroy_sandbox",
    "forget_sandbox", "free_port", "is_loopback", "reap_sandboxes", "record_sandbox",
    "wait_alive", "worker_config",
]
