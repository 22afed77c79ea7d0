"""The durable incident queue's contract: records, claims, states and the `DurableQueue`
protocol both backends (`sqlite.SqliteQueue`, `redis.RedisQueue`) implement.

- `put_many(items)` returns once every item is stored (SQLite: committed with
  `synchronous=FULL`; Redis: acknowledged by the server, durable as far as its AOF says). A
  put is idempotent on the item id: an orchestrator that died half-way through a batch puts
  the batch again and nothing is duplicated.
- `claim(worker_id, jobs=...)` hands out the highest-priority queued item (FIFO within a
  priority, older jobs first), with a lease and a fencing token (`Claim.token`, +1 at every
  claim of that item). An item whose lease ran out (its worker died, hung or was cut off) is
  queued again on the next claim or `reclaim_expired()`; an expired lease counts as an attempt,
  so an incident that kills every worker ends `failed` after `max_attempts`.
- `renew(claim)` extends the lease; False: the lease is lost, the worker stops and records
  nothing; `renew_many` renews many in one transaction / round trip. `expire(claim)` ends a
  lease at once (its holder is known to be dead).
- `complete(claim, result)` records the final result only while `claim.token` is the item's
  token and it is running: exactly one final result per id. A stale worker gets False; a
  retried complete of the same claim returns True again.
- `fail(claim, error, retry)` queues again while attempts are left (else `failed`);
  `release(claim)` gives the item back without counting the attempt.
- `cancel(id)`: a queued item ends `cancelled`; a running one gets `cancel_requested`, which
  its worker sees on its next renew.
- Results are recorded once more, outside the queue, by the job's recorder (the trace log):
  `unlogged(job)` lists done items not yet recorded, `mark_logged(ids)` marks them.
- Jobs (`JobRecord`: a fan-out, a web job, an alert) are stored next to their items, so a
  restarted process knows every job, its request and its state.

States: queued -> running -> done | failed | cancelled (final); running -> queued again on
fail(retry), release or an expired lease.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from sre_agent.errors import SreAgentError
from sre_agent.sandbox.reaper import start_time

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINAL = (DONE, FAILED, CANCELLED)
OPEN = (QUEUED, RUNNING)
PRIORITIES = {"high": 0, "medium": 1, "low": 2}  # the fan-out's severities; lower runs first
DEFAULT_LEASE_S = 30.0
DEFAULT_MAX_ATTEMPTS = 3


class QueueError(SreAgentError):
    """The queue cannot be used (a server that went away mid-run, a refused operation)."""


class QueueUnavailable(QueueError):
    """The queue a URL names cannot be opened (unreachable server, wrong password, too old a
    version, a file that cannot be a database): bad input, found before any work. Exit 2."""

    exit_code = 2


def priority_of(value: int | str) -> int:
    if isinstance(value, str):
        if value not in PRIORITIES:
            raise QueueError(f"unknown priority {value!r} (high, medium or low)")
        return PRIORITIES[value]
    if value not in (0, 1, 2):
        raise QueueError(f"priority must be 0, 1 or 2: {value!r}")
    return int(value)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, default=str)


@dataclasses.dataclass(frozen=True)
class NewItem:
    """An item to put: its id, job, priority and payload (JSON-able)."""

    id: str
    job_id: str
    payload: Mapping[str, Any]
    priority: int | str = "medium"


@dataclasses.dataclass
class Claim:
    """A worker's hold on one item; only the newest claim (`token`) may finish it."""

    id: str
    job_id: str
    worker_id: str
    token: int
    attempt: int  # 1 for the first claim; a reclaimed item comes back with attempt + 1
    lease_s: float
    lease_until: float  # epoch seconds by the backend's clock (Redis: the server's)
    payload: dict[str, Any]
    priority: int
    cancel_requested: bool = False


@dataclasses.dataclass
class ItemView:
    """An item as a UI (or a restarted orchestrator) sees it."""

    id: str
    job_id: str
    seq: int
    state: str
    priority: int
    attempts: int
    max_attempts: int
    owner: str | None
    token: int
    lease_until: float | None
    created_at: float
    updated_at: float
    claimed_at: float | None
    finished_at: float | None
    stage: str | None
    cancel_requested: bool
    logged: bool
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None


@dataclasses.dataclass
class JobRecord:
    """A job stored next to its items: what was asked (`spec`), its state and summary."""

    id: str
    kind: str  # fanout, run, alert, needs_human
    spec: dict[str, Any]
    state: str = "running"
    owner: str | None = None  # the process that drives it (`worker_identity`)
    created_at: float = 0.0
    updated_at: float = 0.0
    summary: dict[str, Any] | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


@runtime_checkable
class DurableQueue(Protocol):
    """What the fan-out, the web server and the queue workers need of a queue."""

    url: str
    lease_s: float
    max_attempts: int

    def put_many(self, items: Iterable[NewItem]) -> int:
        """Store items (all or none) before returning; returns how many were new."""
        ...

    def claim(self, worker_id: str, *, jobs: Iterable[str] | None = None,
              lease_s: float | None = None) -> Claim | None: ...

    def renew(self, claim: Claim, *, stage: str | None = None) -> bool: ...

    def renew_many(self, claims: list[tuple[Claim, str | None]]) -> list[bool]:
        """`renew` of many (claim, stage) at once: one transaction (SQLite: one fsync) or
        one round trip (Redis), so a process holding 64 leases renews them in one go."""
        ...

    def complete(self, claim: Claim, result: Mapping[str, Any]) -> bool: ...

    def fail(self, claim: Claim, error: str, *, retry: bool = True) -> bool: ...

    def release(self, claim: Claim) -> bool: ...

    def expire(self, item_id: str, token: int) -> bool:
        """End the lease of this claim now (its holder is dead); False if not running."""
        ...

    def cancel(self, item_id: str) -> bool: ...

    def reclaim_expired(self) -> list[str]: ...

    def items(self, job_id: str, states: Iterable[str] | None = None) -> list[ItemView]:
        """A job's items in put order (optionally only these states)."""
        ...

    def get(self, item_id: str) -> ItemView | None: ...

    def counts(self) -> dict[str, dict[str, int]]:
        """job id -> {state: count}."""
        ...

    def unlogged(self, job_id: str) -> list[ItemView]: ...

    def mark_logged(self, item_ids: Iterable[str]) -> None: ...

    def put_job(self, job: JobRecord) -> bool:
        """Store a job record; False (and nothing changed) when the id exists."""
        ...

    def get_job(self, job_id: str) -> JobRecord | None: ...

    def update_job(self, job_id: str, **fields: Any) -> None:
        """Set `state`, `owner`, `summary` and/or `info` of a stored job."""
        ...

    def jobs(self, *, limit: int | None = None, states: Iterable[str] | None = None
             ) -> list[JobRecord]:
        """Stored jobs, newest first."""
        ...

    def close(self) -> None: ...


# ---- who holds a claim -------------------------------------------------------------------

def worker_identity(slot: str | int = "") -> str:
    """`host/pid/start/slot`: names a claim's holder, and lets this host tell whether it is
    still alive (`holder_dead`), so a restarted orchestrator need not wait out its leases."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{start_time(pid) or 0}/{slot}"


def holder_dead(worker_id: str | None) -> bool:
    """True only when the holder ran on this host and that process is gone (pid reuse is
    told apart by the start time). A holder on another host is never judged here: its lease
    decides."""
    if not worker_id:
        return False
    parts = worker_id.split("/")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid, start = int(parts[1]), int(parts[2])
    except ValueError:
        return False
    return start_time(pid) != start


__all__ = ["CANCELLED", "DEFAULT_LEASE_S", "DEFAULT_MAX_ATTEMPTS", "DONE", "FAILED", "FINAL",
           "OPEN", "PRIORITIES", "QUEUED", "RUNNING", "STATES", "Claim", "DurableQueue",
           "ItemView", "JobRecord", "NewItem", "QueueError", "QueueUnavailable", "dumps",
           "holder_dead", "priority_of", "worker_identity"]
