"""The fleet: many incidents at once (dispatcher, intake, summary), locally or on workers.

`run_fanout(FanoutRequest(...), executors)` runs a fan-out; `choose_executors` picks the
executors (remote workers by URL, else this host); `Worker` runs the agent-server a remote
executor talks to.
"""

from sre_agent.fleet.dispatcher import Fanout, run_fanout
from sre_agent.fleet.executor import IncidentExecutor, LocalExecutor, WorkerLost
from sre_agent.fleet.intake import IncidentQueue, PlannedIncident, draw_incidents, poisson_arrivals
from sre_agent.fleet.pool import choose_executors, make_executors
from sre_agent.fleet.remote import RemoteExecutor
from sre_agent.fleet.request import FanoutRequest
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
    "Fanout", "FanoutEvent", "FanoutRequest", "FanoutSummary", "IncidentExecutor",
    "IncidentQueue", "IncidentView", "LocalExecutor", "PlannedIncident", "RemoteExecutor",
    "Worker", "WorkerLost", "choose_executors", "destroy_sandbox", "draw_incidents",
    "forget_sandbox", "make_executors", "poisson_arrivals", "reap_sandboxes", "record_sandbox",
    "run_fanout", "wait_alive", "worker_config",
]
