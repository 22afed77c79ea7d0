"""`RedisQueue`: the durable queue for many machines, on redis-py streams and consumer groups.

A Redis >= 7.0 server (Debian's `redis-server`) holds every item and job; delivery is
`XREADGROUP` per job and priority, stale deliveries are found with `XAUTOCLAIM`, renewals are
`XCLAIM ... JUSTID`, and every state change is one Lua script (`redis_lua`), atomic on the
server, with leases timed by the server's clock. Durability is the server's setting: "written
before acknowledged" needs `appendonly yes` + `appendfsync always` (see docs/fleet.md), and
`maxmemory-policy noeviction`.

redis-py is imported lazily (only a process that opens a `redis://` queue pays for it).
Thread-safe (redis-py's connection pool); one instance per process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sre_agent.fleet.queue import redis_lua as lua
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

RESERVED = ("__requeued__", "__reaper__")
_BATCH = 200  # items per PUT_MANY script call (the whole batch stays one call when smaller)


def _seconds(value: str | None) -> float:
    return int(value or 0) / 1000.0


def _view(h: dict[str, str]) -> ItemView:
    return ItemView(
        id=h["id"], job_id=h.get("job", ""), seq=int(h.get("seq") or 0), state=h["state"],
        priority=int(h["prio"]), attempts=int(h["attempts"]),
        max_attempts=int(h["max_attempts"]), owner=h.get("owner") or None,
        token=int(h["token"]), lease_until=_seconds(h.get("lease_until")) or None,
        created_at=_seconds(h.get("created")), updated_at=_seconds(h.get("updated")),
        claimed_at=_seconds(h.get("claimed")) or None,
        finished_at=_seconds(h.get("finished")) or None, stage=h.get("stage") or None,
        cancel_requested=h.get("cancel") == "1", logged=h.get("logged") == "1",
        payload=json.loads(h["payload"]),
        result=json.loads(h["result"]) if h.get("result") else None,
        error=h.get("error") or None)


def _job(h: dict[str, str]) -> JobRecord:
    return JobRecord(id=h["id"], kind=h["kind"], spec=json.loads(h["spec"]), state=h["state"],
                     owner=h.get("owner") or None, created_at=float(h.get("created") or 0),
                     updated_at=float(h.get("updated") or 0),
                     summary=json.loads(h["summary"]) if h.get("summary") else None,
                     info=json.loads(h.get("info") or "{}"))


class RedisQueue:
    """The many-machines backend (see the module docstring)."""

    def __init__(self, url: str, *, prefix: str = "{sre-queue}",
                 lease_s: float = DEFAULT_LEASE_S, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 autoclaim_count: int = 100, shown_url: str | None = None) -> None:
        import redis  # lazy: only a process that opens a redis:// queue pays for it

        if lease_s <= 0 or max_attempts < 1:
            raise QueueError("the lease must be positive and max_attempts at least 1")
        self.url = shown_url or url
        self.prefix = prefix
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.autoclaim_count = autoclaim_count
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        try:
            self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                          socket_connect_timeout=5, health_check_interval=30)
        except ValueError as exc:
            raise QueueUnavailable(f"bad queue URL {self.url}: {exc}") from None
        try:
            version = str(self.r.info("server").get("redis_version", "0"))
        except redis.RedisError as exc:
            raise QueueUnavailable(f"cannot reach the queue server {self.url}: {exc}",
                             "start redis-server, or check the URL and password") from None
        if tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < (7, 0):
            raise QueueUnavailable(
                f"the queue needs Redis 7.0 or newer; {self.url} runs {version}")

        def script(body: str) -> Any:
            return self.r.register_script(lua.PRELUDE + body)

        self._put, self._claim = script(lua.PUT_MANY), script(lua.CLAIM)
        self._reclaim, self._renew = script(lua.RECLAIM), script(lua.RENEW)
        self._complete, self._fail = script(lua.COMPLETE), script(lua.FAIL)
        self._cancel, self._mark = script(lua.CANCEL), script(lua.MARK_LOGGED)
        self._put_job = script(lua.PUT_JOB)

    def _run(self, script: Any, *args: Any) -> Any:
        try:
            return script(keys=[self.prefix], args=list(args))
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {' '.join(str(exc).split())[:300]}") from exc

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- producer -------------------------------------------------------------------------------

    def put_many(self, items: Iterable[NewItem]) -> int:
        args: list[Any] = []
        for item in items:
            args += [item.id, item.job_id, priority_of(item.priority), dumps(dict(item.payload))]
        added = 0
        step = 4 * _BATCH
        for start in range(0, len(args), step):
            added += int(self._run(self._put, self.max_attempts, *args[start:start + step]))
        return added

    # -- worker ---------------------------------------------------------------------------------

    def claim(self, worker_id: str, *, jobs: Iterable[str] | None = None,
              lease_s: float | None = None) -> Claim | None:
        if not worker_id or worker_id in RESERVED:
            raise QueueError(f"reserved worker id: {worker_id!r}")
        wanted = None if jobs is None else list(jobs)
        if wanted == []:
            return None
        lease = lease_s or self.lease_s
        r = self._run(self._claim, worker_id, int(lease * 1000), int(self.lease_s * 1000),
                      self.autoclaim_count, *(wanted or []))
        if not r:
            return None
        return Claim(id=r[0], job_id=r[1], worker_id=worker_id, token=int(r[2]),
                     attempt=int(r[3]), lease_s=lease, lease_until=_seconds(r[4]),
                     priority=int(r[5]), payload=json.loads(r[6]), cancel_requested=r[7] == "1")

    def renew(self, claim: Claim, *, stage: str | None = None) -> bool:
        return self.renew_many([(claim, stage)])[0]

    def renew_many(self, claims: list[tuple[Claim, str | None]]) -> list[bool]:
        """One round trip (a pipeline of RENEW scripts, each atomic on its own)."""
        try:
            pipe = self.r.pipeline(transaction=False)
            for claim, stage in claims:
                self._renew(keys=[self.prefix], args=[claim.id, claim.token,
                                                      int(claim.lease_s * 1000),
                                                      claim.worker_id, stage or ""],
                            client=pipe)
            replies = pipe.execute()
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {' '.join(str(exc).split())[:300]}") from exc
        out = []
        for (claim, _stage), r in zip(claims, replies, strict=True):
            out.append(bool(r))
            if r:
                claim.lease_until = _seconds(r[0])
                claim.cancel_requested = r[1] == "1"
        return out

    def complete(self, claim: Claim, result: Mapping[str, Any]) -> bool:
        return int(self._run(self._complete, claim.id, claim.token, dumps(dict(result)))) == 1

    def fail(self, claim: Claim, error: str, *, retry: bool = True) -> bool:
        return int(self._run(self._fail, claim.id, claim.token, error, int(retry),
                             "fail")) == 1

    def release(self, claim: Claim) -> bool:
        return int(self._run(self._fail, claim.id, claim.token, "", 0, "release")) == 1

    def expire(self, item_id: str, token: int) -> bool:
        return int(self._run(self._fail, item_id, token, "", 0, "expire")) == 1

    def cancel(self, item_id: str) -> bool:
        return int(self._run(self._cancel, item_id)) == 1

    def reclaim_expired(self) -> list[str]:
        return list(self._run(self._reclaim, int(self.lease_s * 1000)) or [])

    # -- what a UI and a recorder read ----------------------------------------------------------

    def _views(self, ids: list[str]) -> list[ItemView]:
        try:
            pipe = self.r.pipeline(transaction=False)
            for item_id in ids:
                pipe.hgetall(self._key("item", item_id))
            return [_view(h) for h in pipe.execute() if h]
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc

    def items(self, job_id: str, states: Iterable[str] | None = None) -> list[ItemView]:
        try:
            ids = self.r.zrange(self._key("jobitems", job_id), 0, -1)
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc
        views = self._views(ids)
        if states is None:
            return views
        wanted = set(states)
        return [v for v in views if v.state in wanted]

    def get(self, item_id: str) -> ItemView | None:
        views = self._views([item_id])
        return views[0] if views else None

    def counts(self) -> dict[str, dict[str, int]]:
        try:
            ids = self.r.zrange(self._key("ids"), 0, -1)
            pipe = self.r.pipeline(transaction=False)
            for item_id in ids:
                pipe.hmget(self._key("item", item_id), "job", "state")
            pairs = pipe.execute()
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc
        out: dict[str, dict[str, int]] = {}
        for job_id, state in pairs:
            if state is not None:
                counts = out.setdefault(job_id or "", {})
                counts[state] = counts.get(state, 0) + 1
        return out

    def unlogged(self, job_id: str) -> list[ItemView]:
        try:
            ids = list(self.r.smembers(self._key("unlogged", job_id)))
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc
        return sorted(self._views(ids), key=lambda v: v.seq)

    def mark_logged(self, item_ids: Iterable[str]) -> None:
        ids = list(item_ids)
        for start in range(0, len(ids), _BATCH):
            self._run(self._mark, *ids[start:start + _BATCH])

    # -- jobs -----------------------------------------------------------------------------------

    def put_job(self, job: JobRecord) -> bool:
        now = time.time()
        created = job.created_at or now
        fields = {"id": job.id, "kind": job.kind, "spec": dumps(job.spec), "state": job.state,
                  "owner": job.owner or "", "created": repr(created), "updated": repr(now),
                  "summary": dumps(job.summary) if job.summary else "",
                  "info": dumps(job.info)}
        flat = [v for pair in fields.items() for v in pair]
        return int(self._run(self._put_job, job.id, int(created * 1000), *flat)) == 1

    def get_job(self, job_id: str) -> JobRecord | None:
        try:
            h = self.r.hgetall(self._key("job", job_id))
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc
        return _job(h) if h else None

    def update_job(self, job_id: str, **fields: Any) -> None:
        allowed = {"state", "owner", "summary", "info"}
        if not set(fields) <= allowed:
            raise QueueError(f"cannot update job fields {sorted(set(fields) - allowed)}")
        mapping = {"updated": repr(time.time())}
        for name, value in fields.items():
            if name in ("summary", "info"):
                mapping[name] = dumps(value) if value is not None else ""
            else:
                mapping[name] = value or ""
        try:
            if self.r.exists(self._key("job", job_id)):
                self.r.hset(self._key("job", job_id), mapping=mapping)
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc

    def jobs(self, *, limit: int | None = None, states: Iterable[str] | None = None
             ) -> list[JobRecord]:
        wanted = None if states is None else set(states)
        try:
            ids = self.r.zrevrange(self._key("jobs"), 0, -1)
            pipe = self.r.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(self._key("job", job_id))
            records = [_job(h) for h in pipe.execute() if h]
        except self._errors as exc:
            raise QueueError(f"queue {self.url}: {exc}") from exc
        if wanted is not None:
            records = [j for j in records if j.state in wanted]
        return records[:limit] if limit is not None else records

    def close(self) -> None:
        self.r.close()


__all__ = ["RedisQueue"]
