"""What runs one incident of a fan-out: the executor protocol, `WorkerLost`, `LocalExecutor`.

An executor runs one incident end to end and returns its trace row: `LocalExecutor` calls
`run_incident` in this process; `sre_agent.fleet.remote.RemoteExecutor` runs it on an
agent-server worker. An executor that died raises `WorkerLost`, and the dispatcher re-queues
the incident on the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sre_agent.errors import SreAgentError
from sre_agent.runs import RunHooks, RunRequest, run_incident
from sre_agent.sdk import import_sdk
from sre_agent.traces import TraceRow


class WorkerLost(SreAgentError):
    """An executor died or stopped answering; the incident it was running has no result."""

    def __init__(self, worker: str, message: str | None = None, hint: str | None = None):
        super().__init__(message or f"worker {worker} stopped answering", hint)
        self.worker = worker


@runtime_checkable
class IncidentExecutor(Protocol):
    """Runs one incident end to end.

    `run` returns the incident's trace row, already appended to `req.trace_log` when that is
    set (`run_incident` does it; a remote executor appends the row it gets back), and raises
    `WorkerLost` when the executor died or stopped answering. It must honour `hooks.cancel`
    and may report `hooks.on_progress` stages like `run_incident`. Optional attributes:
    `capacity`, how many incidents it takes at once (the fan-out's `concurrency` when absent),
    and `warm_up()`, called once before the first dispatch (outside `wall_s`).
    """

    name: str

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow: ...


@dataclass
class LocalExecutor:
    """Runs incidents in this process (`run_incident`), `capacity` at a time."""

    capacity: int = 1
    name: str = "local"

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        return run_incident(req, hooks)

    def warm_up(self) -> None:
        """Import the SDK once before the first incident: otherwise every run of the first
        wave waits ~7-10 s for the import with its fault already live (inflating TTM)."""
        import_sdk()


__all__ = ["IncidentExecutor", "LocalExecutor", "WorkerLost"]
