"""The orders app (Flask): SQLite for durable orders, redis for the cache and the job queue.

Loaded by serve.py (APP_MODULE=orders) with the workdir as cwd and etc/app.env as its
environment. Endpoints (all JSON; `instance` is the sandbox's instance id):

  GET  /health                   shallow: the process serves (touches neither redis nor SQLite)
  GET  /ready                    deep: redis PING and a SQLite query
  POST /api/orders               {"item", "qty", "unit_price", "notes"?, "id"?} -> 201
  GET  /api/orders/<id>          the cache first (X-Cache: HIT), then SQLite (MISS)
  GET  /api/orders/<id>/status   a light lookup (the order-sync client polls it)
  GET  /api/reports/daily        a legitimately slow aggregate
  GET  /api/queue                job queue depths (queue:jobs, queue:processing, queue:dead)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from flask import Flask, g, jsonify, request
from resp import CacheError, CacheUnavailable, Pool

VERSION = "2.4.0"
log = logging.getLogger("orders")
SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL, unit_price REAL NOT NULL,
    total REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending', notes TEXT,
    created REAL NOT NULL, instance TEXT);
"""


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


class PricingEngineError(RuntimeError):
    pass


class Flags:
    """etc/features.json, re-read when it changes (no restart needed)."""

    def __init__(self, path: Path) -> None:
        self.path, self.mtime, self.flags, self.lock = path, None, {}, threading.Lock()

    def get(self) -> dict:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return {}
        with self.lock:
            if mtime != self.mtime:
                try:
                    self.flags = json.loads(self.path.read_text())
                    log.info("feature flags loaded from %s: %s", self.path.name,
                             ", ".join(f"{k}={v}" for k, v in self.flags.items()))
                except (OSError, ValueError) as exc:
                    log.error("feature flags %s unreadable, keeping the previous ones: %s",
                              self.path, exc)
                self.mtime = mtime
            return self.flags

    def on(self, name: str, key: str) -> bool:
        spec = self.get().get(name) or {}
        if not spec.get("enabled"):
            return False
        bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
        return bucket < float(spec.get("rollout_pct", 100))


def data_used_mib(data_dir: Path) -> float:
    """Apparent size of every file under the data volume (var/data), in MiB."""
    total = 0
    for path in data_dir.rglob("*"):
        try:
            if path.is_file():
                total += path.lstat().st_size
        except OSError:
            pass
    return total / (1024 * 1024)


def certificate_days_left(path: Path) -> float | None:
    """Days until the certificate nginx serves expires (an SSL health indicator); None when it
    cannot be read."""
    try:
        import ssl

        info = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
        return (ssl.cert_time_to_seconds(info["notAfter"]) - time.time()) / 86400
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def check_database(path: Path, rel: str) -> None:
    """A database that fails its integrity check is never opened for writing."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    if result != "ok":
        log.error("database %s failed its integrity check: %s", rel, result)
        log.error("no backup of %s exists (var/backup/ is empty); refusing to start: "
                  "re-initialising the database would lose every order", rel)
        raise SystemExit(3)


def init_db(path: Path, rel: str) -> None:
    check_database(path, rel)
    conn = sqlite3.connect(path, timeout=2.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        fresh = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                             "AND name = 'orders'").fetchone()[0] == 0
        conn.executescript(SCHEMA)
        count = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    finally:
        conn.close()
    log.info("database %s opened%s: %d orders", rel,
             " (new file, schema created)" if fresh else "", count)


def wait_for_cache(cache: Pool, where: str) -> None:
    """Start-up waits until the cache answers: it holds the job queue."""
    attempt = 0
    while True:
        attempt += 1
        try:
            cache.call("PING")
            if attempt > 1:
                log.info("cache at %s reachable after %d attempts", where, attempt)
            return
        except CacheUnavailable as exc:
            if attempt == 1 or attempt % 5 == 0:
                log.warning("waiting for cache at %s (attempt %d): %s", where, attempt, exc)
            time.sleep(1)
        except CacheError as exc:
            log.error("cache at %s rejected our credentials: %s", where, exc)
            return  # start anyway: requests fail loudly until the password is right


def create_app(report_seconds: float = 2.5, lookup_ms: float = 40.0,
               partner_slots: int = 2) -> Flask:
    workdir = Path.cwd()
    instance = env("SRE_INSTANCE_ID")
    db_rel = env("DATABASE_PATH", "var/data/orders.db")
    db_path = workdir / db_rel
    scratch = workdir / env("SCRATCH_DIR", "var/scratch")
    flags = Flags(workdir / env("FEATURE_FLAGS_FILE", "etc/features.json"))
    ttl = int(env("CACHE_TTL_SECONDS", "300"))
    host, port = env("REDIS_HOST", "cache.internal"), int(env("REDIS_PORT", "6379"))
    where = f"{host}:{port}"
    log.info("orders %s starting (pid %d, instance %s)", VERSION, os.getpid(), instance)
    init_db(db_path, db_rel)
    cache = Pool(host, port, env("REDIS_PASSWORD") or None,
                 size=int(env("REDIS_POOL_SIZE", "8")))
    wait_for_cache(cache, where)
    try:
        cache.warm(max(int(env("REDIS_POOL_WARM", "4")) - 1, 0))
    except CacheError as exc:
        log.warning("could not warm the cache pool: %s", exc)
    warmup = float(env("CATALOG_WARMUP_SECONDS", "1"))
    log.info("warming the catalog (%.1fs)", warmup)
    time.sleep(warmup)
    quota_mb = float(env("DATA_QUOTA_MB", "256"))
    workers = threading.BoundedSemaphore(int(env("API_WORKERS", "8")))
    partner = threading.BoundedSemaphore(partner_slots)  # sessions with the partner API
    flags.get()

    app = Flask("orders")
    app.json.sort_keys = False  # type: ignore[attr-defined]

    def db() -> sqlite3.Connection:
        if "db" not in g:
            conn = sqlite3.connect(db_path, timeout=1.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            g.db = conn
        return g.db

    @app.before_request
    def _limit() -> None:
        if request.path.startswith("/api/") and not request.path.endswith("/status"):
            workers.acquire()
            g.slot = True

    @app.teardown_request
    def _release(_exc: object) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()
        if g.pop("slot", False):
            workers.release()

    @app.errorhandler(Exception)
    def _error(exc: Exception):  # type: ignore[no-untyped-def]
        code = getattr(exc, "code", None)
        if isinstance(code, int) and 400 <= code < 500:
            return jsonify(error=str(exc), instance=instance), code
        if isinstance(exc, CacheError):
            status, what = 503, f"cache {where}: {exc}"
        elif isinstance(exc, sqlite3.Error):
            status, what = 503, f"database {db_rel}: {exc}"
        else:
            status, what = 500, f"{type(exc).__name__}: {exc}"
        log.error("%s %s failed: %s", request.method, request.path, what)
        return jsonify(error=what, instance=instance), status

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify(status="ok", instance=instance, version=VERSION)

    @app.get("/ready")
    def ready():  # type: ignore[no-untyped-def]
        """Deep readiness: every path an order takes can write right now."""
        problem = readiness_problem()
        if problem:
            log.warning("not ready: %s", problem)
            return jsonify(ready=False, reason=problem, instance=instance), 503
        return jsonify(ready=True, instance=instance)

    def readiness_problem() -> str | None:
        try:
            cache.call("SETEX", f"ready:{instance}", 30, str(time.time()))
        except CacheError as exc:
            return f"cache {where}: {exc}"
        try:
            conn = sqlite3.connect(db_path, timeout=0.5, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO orders (id, item, qty, unit_price, total, created) "
                             "VALUES ('ready-probe', 'probe', 1, 0, 0, 0)")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return f"database {db_rel}: {exc}"
        used = data_used_mib(workdir / "var" / "data")
        if used > quota_mb:
            return f"data volume over quota: {used:.0f} MiB used of {quota_mb:.0f} MiB"
        try:
            scratch.mkdir(parents=True, exist_ok=True)
            probe = scratch / f".ready-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"." * 16384)
            probe.unlink()
        except OSError as exc:
            return f"scratch {scratch.relative_to(workdir)}: {exc}"
        broken = [f"selftest-{i}" for i in range(100)
                  if flags.on("new_pricing_engine", f"selftest-{i}")]
        if broken:
            return f"pricing self-test: the new pricing engine (tax table 'eu-2026' missing) " \
                   f"would fail {len(broken)}% of orders"
        try:
            beat = cache.call("GET", "worker:heartbeat")
        except CacheError as exc:
            return f"cache {where}: {exc}"
        if beat is None:
            return "queue worker: no heartbeat for 5s (orders are not being confirmed)"
        days = certificate_days_left(workdir / "etc" / "tls" / "server.pem")
        if days is not None and days < 0:
            return f"tls: the server certificate etc/tls/server.pem expired {-days:.0f} days ago"
        return None

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return jsonify(service="orders", version=VERSION, instance=instance)

    @app.post("/api/orders")
    def create_order():  # type: ignore[no-untyped-def]
        body = request.get_json(force=True, silent=True) or {}
        try:
            item = str(body["item"])[:80]
            qty = int(body.get("qty", 1))
            unit_price = float(body.get("unit_price", 1.0))
        except (KeyError, TypeError, ValueError):
            return jsonify(error="need item, qty, unit_price", instance=instance), 400
        order_id = str(body.get("id") or uuid.uuid4().hex[:12])[:40]
        used = data_used_mib(workdir / "var" / "data")
        if used > quota_mb:
            what = (f"data volume over quota: {used:.0f} MiB used of {quota_mb:.0f} MiB "
                    "(var/data: live orders, archives, cache snapshot)")
            log.error("POST /api/orders refused: %s", what)
            return jsonify(error=what, instance=instance), 507
        if flags.on("new_pricing_engine", order_id):
            raise PricingEngineError(f"tax table 'eu-2026' missing for order {order_id}")
        total = round(qty * unit_price, 2)
        if flags.on("receipt_rendering", order_id):
            scratch.mkdir(parents=True, exist_ok=True)
            receipt = scratch / f"receipt-{order_id}.txt"
            receipt.write_text(f"order {order_id}\n{item} x{qty} @ {unit_price}\n"
                               + "." * 16384)
            receipt.unlink()
        row = {"id": order_id, "item": item, "qty": qty, "unit_price": unit_price,
               "total": total, "status": "pending", "notes": str(body.get("notes", ""))[:8000],
               "created": time.time(), "instance": instance}
        db().execute("INSERT INTO orders (id, item, qty, unit_price, total, status, notes, "
                     "created, instance) VALUES (:id, :item, :qty, :unit_price, :total, "
                     ":status, :notes, :created, :instance)", row)
        cache.call("SETEX", f"order:{order_id}", ttl, json.dumps(row))
        job = {"job_id": uuid.uuid4().hex[:12], "kind": "confirm", "order_id": order_id,
               "amount": f"{total:.2f}", "enqueued": time.time()}
        cache.call("LPUSH", "queue:jobs", json.dumps(job))
        return jsonify(id=order_id, total=total, status="pending", instance=instance), 201

    @app.get("/api/orders/<order_id>")
    def get_order(order_id: str):  # type: ignore[no-untyped-def]
        cached = cache.call("GET", f"order:{order_id}")
        if cached is not None:
            resp = jsonify(json.loads(cached) | {"served_by": instance})
            resp.headers["X-Cache"] = "HIT"
            return resp
        found = db().execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if found is None:
            return jsonify(error=f"order {order_id} not found in {db_rel}",
                           instance=instance), 404
        data = dict(found)
        cache.call("SETEX", f"order:{order_id}", ttl, json.dumps(data))
        resp = jsonify(data | {"served_by": instance})
        resp.headers["X-Cache"] = "MISS"
        return resp

    @app.get("/api/orders/<order_id>/status")
    def order_status(order_id: str):  # type: ignore[no-untyped-def]
        # A partner API session: few of them, each call takes lookup_ms. A request that
        # cannot get one within 2 s is refused; one that gets it is served even if its client
        # has given up meanwhile (the partner cannot tell).
        if not partner.acquire(timeout=2.0):
            log.warning("status lookup for %s: no partner session within 2s", order_id)
            return jsonify(error="no partner session available", instance=instance), 503
        try:
            status = cache.call("GET", f"status:{order_id}")
            time.sleep(lookup_ms / 1000)
        finally:
            partner.release()
        return jsonify(id=order_id, status=(status or b"unknown").decode())

    @app.get("/api/reports/daily")
    def report():  # type: ignore[no-untyped-def]
        time.sleep(report_seconds)  # the aggregate over the day's orders
        found = db().execute("SELECT count(*) AS n, coalesce(sum(total), 0) AS revenue "
                             "FROM orders").fetchone()
        return jsonify(orders=found["n"], revenue=round(found["revenue"], 2),
                       instance=instance)

    @app.get("/api/queue")
    def queue_depths():  # type: ignore[no-untyped-def]
        return jsonify({name: cache.call("LLEN", f"queue:{name}")
                        for name in ("jobs", "processing", "dead")} | {"instance": instance})

    log.info("orders %s ready (open files %d)", VERSION, open_files())
    return app
