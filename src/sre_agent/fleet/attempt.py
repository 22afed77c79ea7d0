"""One attempt at a claimed incident: run it on an executor under a renewed lease, then
offer the result to the queue (`complete`), which accepts it only from the current holder.

The run's trace row is written to a scratch file of this process (`scratch_dir`), not to the
job's trace log: `run_incident` writes its row even when the run then fails, so the scratch
file keeps the row of a run that raised too. The job's recorder appends the row to the trace
log once the queue has it (`ledger.Recorder`), so a stale holder (lease lost) never writes a
row, and a row is never written twice. A run that produced no row at all (it failed before
its sandbox existed) gets a short error row.

The lease is renewed by the process's `LeaseKeeper`; the run's cancel event is set when the
lease is lost or the incident is cancelled through the queue (`cancel_requested`). With
`llm_latency` in the request, the run's offline model is served by the process's model server
with that simulated latency.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sre_agent import paths
from sre_agent.agent.model_server import latency_server
from sre_agent.errors import SreAgentError
from sre_agent.fleet.executor import IncidentExecutor, WorkerLost
from sre_agent.fleet.ledger import request_of, run_id_for
from sre_agent.fleet.queue import Claim, Lease, LeaseKeeper, holder_dead
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.sandbox.reaper import start_time
from sre_agent.traces import TraceRow, iter_trace_dicts

logger = logging.getLogger(__name__)

# progress stage -> what the queue shows other processes (`ItemView.stage`)
STAGES = {"planned": "starting", "sandbox_ready": "agent", "verifying": "verifying"}
_scratch_lock = threading.Lock()
_scratch: Path | None = None


@dataclasses.dataclass
class Outcome:
    """How an attempt ended."""

    row: TraceRow | None = None  # the run's row (or an error row): offered to the queue
    error: str | None = None  # the executor raised (the row says so too)
    lost_worker: WorkerLost | None = None  # the executor died: no result, run it again
    lease_lost: bool = False  # someone else holds the incident now: record nothing
    accepted: bool = False  # the queue took this result (`complete` returned True)


def scratch_dir() -> Path:
    """This process's directory for rows in flight; those of dead processes are removed."""
    global _scratch
    with _scratch_lock:
        if _scratch is None:
            base = paths.artifacts_dir() / "queue" / "rows"
            base.mkdir(parents=True, exist_ok=True)
            for old in base.iterdir():
                host, _, rest = old.name.rpartition("-p")
                holder = f"{host}/{rest.replace('-', '/')}/0"
                if host == socket.gethostname() and holder_dead(holder):
                    shutil.rmtree(old, ignore_errors=True)
            pid = os.getpid()
            _scratch = base / f"{socket.gethostname()}-p{pid}-{start_time(pid) or 0}"
            _scratch.mkdir(exist_ok=True)
        return _scratch


def error_row(req: RunRequest, error: str) -> TraceRow:
    """The row of a run that failed before it produced one."""
    now = time.time()
    return TraceRow(run_id=req.run_id or "run-x", started_at=now, ended_at=now,
                    scenario=req.scenario, seed=req.seed, simulated=req.simulate,
                    incident_text=req.incident_text or "", status="error", reason=error,
                    duration_s=0.0)


def unrunnable_row(run_id: str, payload: dict[str, Any], error: str) -> TraceRow:
    """The row of an incident this process cannot even start (e.g. a scenario of a pack
    not installed here): still one row for its id."""
    now = time.time()
    seed = payload.get("seed")
    return TraceRow(run_id=run_id, started_at=now, ended_at=now,
                    scenario=str(payload.get("scenario") or ""),
                    seed=seed if isinstance(seed, int) else None, status="error",
                    reason=error, duration_s=0.0)


def _read_row(path: Path) -> TraceRow | None:
    if not path.is_file():
        return None
    rows = list(iter_trace_dicts(path))
    return TraceRow.model_validate(rows[-1]) if rows else None


def staged(hooks: RunHooks, lease: Lease) -> RunHooks:
    """Hooks whose progress also sets the lease's stage (what other processes see)."""
    inner = hooks.on_progress

    def on_progress(stage: str, info: dict[str, Any]) -> None:
        if stage in STAGES:
            lease.stage = STAGES[stage]
        if inner is not None:
            inner(stage, info)

    return dataclasses.replace(hooks, on_progress=on_progress)


def run_claim(executor: IncidentExecutor, claim: Claim, keeper: LeaseKeeper,
              hooks: RunHooks, *, offer: Callable[[Claim, Outcome], bool] | None = None
              ) -> Outcome:
    """Run a claimed incident on `executor` and offer its result to the queue.

    `hooks.cancel` (created when absent) is set by the lease (lost or cancelled). `offer`
    replaces the default `keeper.queue.complete` (the dispatcher uses it to add its view).
    """
    cancel = hooks.cancel or threading.Event()
    lease = keeper.hold(claim, on_stop=cancel.set)
    run_id = run_id_for(claim.id, claim.attempt)
    scratch = scratch_dir() / f"{run_id}.jsonl"
    outcome = Outcome()
    try:
        req = request_of(claim.payload, run_id, scratch)
        hooks = dataclasses.replace(staged(hooks, lease), cancel=cancel)
        if req.llm_latency is not None and hooks.model_server is None:
            hooks.model_server = latency_server(req.llm_latency)
        try:
            outcome.row = executor.run(req, hooks)
        except WorkerLost as exc:
            outcome.lost_worker = exc
        except BaseException as exc:  # one incident's failure ends only that incident
            outcome.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            logger.warning("incident %s failed on %s: %s", run_id, executor.name, exc,
                           exc_info=not isinstance(exc, SreAgentError))
            outcome.row = _read_row(scratch) or error_row(req, outcome.error)
    except Exception as exc:  # a payload this version cannot run: an error result (and row)
        outcome.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        logger.warning("incident %s cannot run here: %s", run_id, outcome.error)
        outcome.row = unrunnable_row(run_id, claim.payload, outcome.error)
    finally:
        keeper.drop(lease)
        with contextlib.suppress(OSError):
            scratch.unlink()
    outcome.lease_lost = lease.lost.is_set()
    if outcome.lost_worker is None and not outcome.lease_lost:
        if outcome.row is not None:
            outcome.row.extra["queue"] = {"id": claim.id, "job": claim.job_id,
                                          "attempt": claim.attempt, "worker": claim.worker_id}
        outcome.accepted = (offer or _complete(keeper))(claim, outcome)
        outcome.lease_lost = not outcome.accepted
    return outcome


def _complete(keeper: LeaseKeeper) -> Callable[[Claim, Outcome], bool]:
    def offer(claim: Claim, outcome: Outcome) -> bool:
        return keeper.queue.complete(claim, result_of(claim, outcome))

    return offer


def result_of(claim: Claim, outcome: Outcome) -> dict[str, Any]:
    """What the queue stores as an incident's final result."""
    row = outcome.row.model_dump(mode="json") if outcome.row is not None else None
    return {"row": row, "error": outcome.error, "worker": claim.worker_id}


__all__ = ["STAGES", "Outcome", "error_row", "result_of", "run_claim", "scratch_dir", "staged",
           "unrunnable_row"]
