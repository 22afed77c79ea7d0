"""`SqliteQueue`: the embedded durable queue (stdlib sqlite3; nothing to start).

WAL, every state change one `BEGIN IMMEDIATE` transaction (the write lock is taken up front,
so a read-then-write cannot interleave with another process), `synchronous=FULL` by default (a
put is on disk before it returns). Safe across the processes and threads of one machine; never
on a network filesystem (WAL needs shared memory). `:memory:` gives a private, non-durable
queue (what a fan-out uses when no queue is given, e.g. in tests).

Pitfalls kept in mind: `UPDATE ... RETURNING` is read with `fetchall()` so the statement ends
before COMMIT; named parameters only (numbered ones with a tuple are deprecated); a process
frozen *inside* a transaction blocks every writer, so transactions stay one or two statements
and `busy_timeout` is finite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sre_agent.fleet.queue.base import (
    DEFAULT_LEASE_S,
    DEFAULT_MAX_ATTEMPTS,
    Claim,
    ItemView,
    JobRecord,
    NewItem,
    QueueError,
    QueueUnavailable,
    dumps,
    priority_of,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL,
    priority INTEGER NOT NULL, state TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
    token INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until REAL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, claimed_at REAL, finished_at REAL,
    stage TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, logged INTEGER NOT NULL DEFAULT 0,
    result TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS items_ready ON items (state, priority, seq);
CREATE INDEX IF NOT EXISTS items_lease ON items (state, lease_until);
CREATE INDEX IF NOT EXISTS items_job ON items (job_id, state);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
    owner TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, summary TEXT,
    info TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
"""

_COLS = ("id, job_id, seq, state, priority, attempts, max_attempts, owner, token, lease_until, "
         "created_at, updated_at, claimed_at, finished_at, stage, cancel_requested, logged, "
         "payload, result, error")
_JOB_COLS = "id, kind, spec, state, owner, created_at, updated_at, summary, info"
_CHUNK = 500  # ids per `IN (...)` (SQLite's host-parameter limit is 999 on old builds)


def _view(r: tuple[Any, ...]) -> ItemView:
    return ItemView(
        id=r[0], job_id=r[1], seq=r[2], state=r[3], priority=r[4], attempts=r[5],
        max_attempts=r[6], owner=r[7], token=r[8], lease_until=r[9], created_at=r[10],
        updated_at=r[11], claimed_at=r[12], finished_at=r[13], stage=r[14],
        cancel_requested=bool(r[15]), logged=bool(r[16]), payload=json.loads(r[17]),
        result=json.loads(r[18]) if r[18] is not None else None, error=r[19])


def _job(r: tuple[Any, ...]) -> JobRecord:
    return JobRecord(id=r[0], kind=r[1], spec=json.loads(r[2]), state=r[3], owner=r[4],
                     created_at=r[5], updated_at=r[6],
                     summary=json.loads(r[7]) if r[7] else None, info=json.loads(r[8] or "{}"))


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteQueue:
    """The embedded backend: one instance per process (its threads share it, under a lock)."""

    def __init__(self, path: str | os.PathLike[str], *, lease_s: float = DEFAULT_LEASE_S,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, synchronous: str = "FULL",
                 busy_timeout_s: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise QueueError("synchronous must be FULL, EXTRA or NORMAL")
        if lease_s <= 0 or max_attempts < 1:
            raise QueueError("the lease must be positive and max_attempts at least 1")
        self.path = os.fspath(path)
        memory = self.path == ":memory:"
        self.url = "sqlite://:memory:" if memory else f"sqlite:///{Path(self.path).absolute()}"
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._clock = clock
        self._lock = threading.RLock()
        if not memory:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise QueueUnavailable(f"cannot create the queue's directory: {exc}") from None
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            if not memory:
                mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise QueueUnavailable(f"{self.path}: could not switch to WAL (got {mode})",
                                           "a local filesystem is needed")
                self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            with self._tx() as db:
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        db.execute(stmt)
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"cannot open the queue database {self.path}: {exc}") from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the write lock taken at BEGIN, waiting up to the busy
        timeout)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Iterable[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()  # type: ignore[arg-type]

    # -- producer -------------------------------------------------------------------------------

    def put_many(self, items: Iterable[NewItem]) -> int:
        now = self._clock()
        rows = [(i.id, i.job_id, priority_of(i.priority), dumps(dict(i.payload)),
                 self.max_attempts, now, now) for i in items]
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO items (id, job_id, priority, state, payload, max_attempts,"
                " created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING", rows)
            return db.total_changes - before

    # -- worker ---------------------------------------------------------------------------------

    def _reclaim(self, db: sqlite3.Connection, now: float) -> list[str]:
        gone = db.execute(
            "UPDATE items SET state = 'failed', finished_at = :now, updated_at = :now,"
            " owner = NULL, lease_until = NULL, error = 'lease expired on attempt ' ||"
            " attempts || ' of ' || max_attempts WHERE state = 'running'"
            " AND lease_until < :now AND attempts >= max_attempts RETURNING id",
            {"now": now}).fetchall()
        back = db.execute(
            "UPDATE items SET state = 'queued', updated_at = :now, owner = NULL,"
            " lease_until = NULL WHERE state = 'running' AND lease_until < :now RETURNING id",
            {"now": now}).fetchall()
        return [r[0] for r in gone + back]

    def reclaim_expired(self) -> list[str]:
        with self._tx() as db:
            return self._reclaim(db, self._clock())

    def claim(self, worker_id: str, *, jobs: Iterable[str] | None = None,
              lease_s: float | None = None) -> Claim | None:
        lease = lease_s or self.lease_s
        wanted = None if jobs is None else list(jobs)
        if wanted == []:
            return None
        pick = "SELECT seq FROM items WHERE state = 'queued'"
        args: dict[str, Any] = {"owner": worker_id, "now": 0.0, "until": 0.0}
        if wanted is not None:
            names = [f"j{n}" for n in range(len(wanted))]
            pick += f" AND job_id IN ({','.join(':' + n for n in names)})"
            args.update(zip(names, wanted, strict=True))
        with self._tx() as db:
            now = self._clock()
            args.update(now=now, until=now + lease)
            self._reclaim(db, now)
            rows = db.execute(
                "UPDATE items SET state = 'running', token = token + 1, attempts = attempts + 1,"
                " owner = :owner, lease_until = :until, claimed_at = :now, updated_at = :now,"
                f" stage = NULL WHERE seq = ({pick} ORDER BY priority, seq LIMIT 1)"
                " RETURNING id, job_id, token, attempts, payload, priority, cancel_requested",
                args).fetchall()
        if not rows:
            return None
        r = rows[0]
        return Claim(id=r[0], job_id=r[1], worker_id=worker_id, token=r[2], attempt=r[3],
                     lease_s=lease, lease_until=now + lease, payload=json.loads(r[4]),
                     priority=r[5], cancel_requested=bool(r[6]))

    def renew(self, claim: Claim, *, stage: str | None = None) -> bool:
        return self.renew_many([(claim, stage)])[0]

    def renew_many(self, claims: list[tuple[Claim, str | None]]) -> list[bool]:
        out: list[bool] = []
        with self._tx() as db:  # one commit (one fsync) for every lease of the process
            now = self._clock()
            for claim, stage in claims:
                rows = db.execute(
                    "UPDATE items SET lease_until = :until, updated_at = :now,"
                    " stage = COALESCE(:stage, stage) WHERE id = :id AND token = :token"
                    " AND state = 'running' RETURNING cancel_requested",
                    {"until": now + claim.lease_s, "now": now, "stage": stage, "id": claim.id,
                     "token": claim.token}).fetchall()
                out.append(bool(rows))
                if rows:
                    claim.lease_until = now + claim.lease_s
                    claim.cancel_requested = bool(rows[0][0])
        return out

    def complete(self, claim: Claim, result: Mapping[str, Any]) -> bool:
        with self._tx() as db:
            now = self._clock()
            n = db.execute(
                "UPDATE items SET state = 'done', result = :result, finished_at = :now,"
                " updated_at = :now, lease_until = NULL, stage = NULL WHERE id = :id"
                " AND token = :token AND state = 'running'",
                {"result": dumps(dict(result)), "now": now, "id": claim.id,
                 "token": claim.token}).rowcount
            if n == 1:
                return True
            # The same claim completing twice (a retried call) is not a second result.
            return bool(db.execute(
                "SELECT 1 FROM items WHERE id = :id AND token = :token AND state = 'done'",
                {"id": claim.id, "token": claim.token}).fetchall())

    def fail(self, claim: Claim, error: str, *, retry: bool = True) -> bool:
        with self._tx() as db:
            now = self._clock()
            rows = db.execute(
                "UPDATE items SET"
                " state = CASE WHEN :retry AND attempts < max_attempts THEN 'queued'"
                "         ELSE 'failed' END,"
                " finished_at = CASE WHEN :retry AND attempts < max_attempts THEN NULL"
                "               ELSE :now END,"
                " error = :error, updated_at = :now, owner = NULL, lease_until = NULL"
                " WHERE id = :id AND token = :token AND state = 'running' RETURNING state",
                {"retry": int(retry), "now": now, "error": error, "id": claim.id,
                 "token": claim.token}).fetchall()
        return bool(rows)

    def release(self, claim: Claim) -> bool:
        with self._tx() as db:
            n = db.execute(
                "UPDATE items SET state = 'queued', attempts = attempts - 1, updated_at = :now,"
                " owner = NULL, lease_until = NULL, stage = NULL WHERE id = :id"
                " AND token = :token AND state = 'running'",
                {"now": self._clock(), "id": claim.id, "token": claim.token}).rowcount
        return n == 1

    def expire(self, item_id: str, token: int) -> bool:
        with self._tx() as db:
            now = self._clock()
            n = db.execute(
                "UPDATE items SET"
                " state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,"
                " finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE :now END,"
                " error = CASE WHEN attempts < max_attempts THEN error ELSE 'its holder died"
                " on attempt ' || attempts || ' of ' || max_attempts END,"
                " updated_at = :now, owner = NULL, lease_until = NULL, stage = NULL"
                " WHERE id = :id AND token = :token AND state = 'running'",
                {"now": now, "id": item_id, "token": token}).rowcount
        return n == 1

    def cancel(self, item_id: str) -> bool:
        with self._tx() as db:
            args = {"now": self._clock(), "id": item_id}
            n = db.execute("UPDATE items SET state = 'cancelled', finished_at = :now,"
                           " updated_at = :now WHERE id = :id AND state = 'queued'",
                           args).rowcount
            if n == 0:
                n = db.execute("UPDATE items SET cancel_requested = 1, updated_at = :now"
                               " WHERE id = :id AND state = 'running'", args).rowcount
        return n == 1

    # -- what a UI and a recorder read ----------------------------------------------------------

    def items(self, job_id: str, states: Iterable[str] | None = None) -> list[ItemView]:
        sql, args = f"SELECT {_COLS} FROM items WHERE job_id = ?", [job_id]
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({_marks(len(wanted))})"
            args += wanted
        return [_view(r) for r in self._read(sql + " ORDER BY seq", args)]

    def get(self, item_id: str) -> ItemView | None:
        rows = self._read(f"SELECT {_COLS} FROM items WHERE id = ?", (item_id,))
        return _view(rows[0]) if rows else None

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for job_id, state, n in self._read(
                "SELECT job_id, state, count(*) FROM items GROUP BY job_id, state"):
            out.setdefault(job_id, {})[state] = n
        return out

    def unlogged(self, job_id: str) -> list[ItemView]:
        return [_view(r) for r in self._read(
            f"SELECT {_COLS} FROM items WHERE job_id = ? AND state = 'done' AND logged = 0"
            " ORDER BY seq", (job_id,))]

    def mark_logged(self, item_ids: Iterable[str]) -> None:
        ids = list(item_ids)
        with self._tx() as db:
            for start in range(0, len(ids), _CHUNK):
                part = ids[start:start + _CHUNK]
                db.execute(f"UPDATE items SET logged = 1 WHERE id IN ({_marks(len(part))})",
                           part)

    # -- jobs -----------------------------------------------------------------------------------

    def put_job(self, job: JobRecord) -> bool:
        now = self._clock()
        with self._tx() as db:
            n = db.execute(
                f"INSERT INTO jobs ({_JOB_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (job.id, job.kind, dumps(job.spec), job.state, job.owner,
                 job.created_at or now, now, dumps(job.summary) if job.summary else None,
                 dumps(job.info))).rowcount
        return n == 1

    def get_job(self, job_id: str) -> JobRecord | None:
        rows = self._read(f"SELECT {_JOB_COLS} FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def update_job(self, job_id: str, **fields: Any) -> None:
        allowed = {"state", "owner", "summary", "info"}
        if not set(fields) <= allowed:
            raise QueueError(f"cannot update job fields {sorted(set(fields) - allowed)}")
        sets, args = ["updated_at = ?"], [self._clock()]
        for name, value in fields.items():
            sets.append(f"{name} = ?")
            args.append(dumps(value) if name in ("summary", "info") and value is not None
                        else value)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*args, job_id])

    def jobs(self, *, limit: int | None = None, states: Iterable[str] | None = None
             ) -> list[JobRecord]:
        sql, args = f"SELECT {_JOB_COLS} FROM jobs WHERE 1", []
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({_marks(len(wanted))})"
            args += wanted
        sql += " ORDER BY created_at DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_job(r) for r in self._read(sql, args)]

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["SqliteQueue"]
