"""The queue worker: confirms orders.

Jobs are JSON in the redis list `queue:jobs` (LPUSH by the app). The worker moves the next
one to `queue:processing` (BLMOVE: the reliable-queue pattern), confirms the order in SQLite,
then removes the job from `queue:processing`. At start it puts back whatever a previous run
left in `queue:processing`, at the head, so it is retried first. Jobs that must not be retried
belong in the dead-letter list `queue:dead`: a job is never deleted.

Settings from etc/worker.env: REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, DATABASE_PATH.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import time
from decimal import Decimal
from pathlib import Path

from resp import CacheError, CacheUnavailable, Connection

log = logging.getLogger("worker")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def connect(host: str, port: int, password: str | None) -> Connection:
    attempt = 0
    while True:
        attempt += 1
        try:
            conn = Connection(host, port, password, timeout=5.0)
            conn.call("PING")
            return conn
        except CacheUnavailable as exc:
            if attempt == 1 or attempt % 5 == 0:
                log.warning("waiting for cache at %s:%d (attempt %d): %s", host, port,
                            attempt, exc)
            time.sleep(1)


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s worker[%(process)d]: %(message)s")
    host, port = env("REDIS_HOST", "cache.internal"), int(env("REDIS_PORT", "6379"))
    db_rel = env("DATABASE_PATH", "var/data/orders.db")
    cache = connect(host, port, env("REDIS_PASSWORD") or None)
    recovered = 0
    while cache.call("LMOVE", "queue:processing", "queue:jobs", "LEFT", "RIGHT") is not None:
        recovered += 1
    if recovered:
        log.info("requeued %d unfinished job(s) from queue:processing at the head of "
                 "queue:jobs", recovered)
    db = sqlite3.connect(Path.cwd() / db_rel, timeout=5.0, isolation_level=None)
    log.info("worker started: queue:jobs -> database %s", db_rel)
    done = 0
    while True:
        try:
            cache.call("SET", "worker:heartbeat", str(time.time()), "EX", 5)
            raw = cache.call("BLMOVE", "queue:jobs", "queue:processing", "RIGHT", "LEFT", 1)
        except CacheUnavailable as exc:
            log.warning("lost the cache connection (%s); reconnecting", exc)
            cache.close()
            cache = connect(host, port, env("REDIS_PASSWORD") or None)
            continue
        except CacheError as exc:  # an error reply (OOM, MISCONF, NOPERM): wait, retry
            log.error("cache refused BLMOVE: %s; retrying in 2s", exc)
            time.sleep(2)
            continue
        if raw is None:
            continue
        job = json.loads(raw)
        log.info("processing job %s (%s order %s, amount %s)", job.get("job_id"),
                 job.get("kind"), job.get("order_id"), job.get("amount"))
        amount = Decimal(job["amount"])  # a malformed amount raises: the worker dies
        while True:
            try:
                db.execute("UPDATE orders SET status = 'confirmed' WHERE id = ?",
                           (job["order_id"],))
                break
            except sqlite3.OperationalError as exc:
                log.error("job %s: database %s: %s; retrying", job.get("job_id"), db_rel, exc)
                time.sleep(1)
        while True:
            try:
                cache.call("SET", f"status:{job['order_id']}", f"confirmed {amount}")
                cache.call("LREM", "queue:processing", 1, raw)
                break
            except CacheUnavailable as exc:
                log.warning("lost the cache connection (%s); reconnecting", exc)
                cache.close()
                cache = connect(host, port, env("REDIS_PASSWORD") or None)
            except CacheError as exc:
                log.error("job %s: cache refused the update: %s; retrying in 2s",
                          job.get("job_id"), exc)
                time.sleep(2)
        done += 1
        if done % 50 == 0:
            log.info("%d jobs done", done)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CacheError as exc:
        log.error("cache error: %s", exc)
        sys.exit(1)
