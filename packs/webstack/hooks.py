"""Ground-truth hooks of the webstack pack: what a scenario's root cause being gone means,
judged from outside the sandbox.

Each hook receives the check context (`sre_agent.incidents.truth.CheckContext`: safe reads of
the workdir, `connect` to the sandbox's loopback, `run` of system tools inside with a clean
environment, the incident's ports and parameters, the rendered values) and returns
`(ok, detail)`. None trusts the service's own word: orders are written through nginx and found
in SQLite and redis, TLS is verified against the sandbox's CA, limits are read from /proc.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Result = tuple[bool, str]
CANARIES = ("canary-0001", "canary-0002", "canary-0003")


# ---- talking to the sandbox -----------------------------------------------------------------

class RespError(Exception):
    """An error reply from redis."""


def _read_reply(stream: Any) -> Any:
    line = stream.readline()
    if not line:
        raise OSError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RespError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise OSError(f"unexpected redis reply {line[:40]!r}")


def redis(ctx: Any, *commands: tuple[Any, ...], password: str | None = None,
          timeout: float = 3.0) -> list[Any]:
    """Run `commands` on the sandbox's redis (AUTH first when `password`); one reply each
    (error replies come back as RespError values, not raised)."""
    sock = ctx.connect(ctx.incident.ports["redis"], timeout)
    try:
        sock.settimeout(timeout)
        stream = sock.makefile("rb")
        todo = ([("AUTH", password)] if password else []) + list(commands)
        payload = b""
        for command in todo:
            parts = [a if isinstance(a, bytes) else str(a).encode() for a in command]
            payload += b"*%d\r\n" % len(parts) + b"".join(
                b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        sock.sendall(payload)
        replies = [_read_reply(stream) for _ in todo]
    finally:
        sock.close()
    if password:
        if isinstance(replies[0], RespError):
            raise OSError(f"redis rejected the password: {replies[0]}")
        replies = replies[1:]
    return replies


FAULT_MARK = "fault_applied"


def mark_fault_applied(ctx: Any) -> None:
    """A fault action (the last one of a scenario that needs it): records, on the harness's
    side, that the fault really ran. A healthy sandbox (scenario validation starts one with no
    fault) then checks the conditions a fault would have created (an order taken during the
    incident, a rotated password, a dead-lettered job) as absent, not as lost."""
    ctx.incident.params[FAULT_MARK] = "1"


def applied(ctx: Any) -> bool:
    return ctx.incident.params.get(FAULT_MARK) == "1"


def password(ctx: Any) -> str:
    """The password redis should require now (the new one once a rotation really ran)."""
    params = ctx.incident.params
    if "rotated_password" in params and applied(ctx):
        return f"rotated-{params['rotated_password']}"
    return f"cache-{params['redis_password']}"


def http(ctx: Any, port_name: str, method: str, path: str, body: Any = None, *,
         verify_tls: bool = False, timeout: float = 4.0,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.0 exchange with the sandbox (through nginx when port_name is http/https);
    https is verified against the sandbox's own CA (etc/tls/ca/ca.pem) when `verify_tls`."""
    port = ctx.incident.ports[port_name]
    deadline = time.monotonic() + timeout
    sock = ctx.connect(port, timeout)
    try:
        if port_name == "https":
            if verify_tls:
                ca = ctx.text("etc/tls/ca/ca.pem") or ""
                context = ssl.create_default_context(cadata=ca) if ca else \
                    ssl.create_default_context()
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname="localhost")
        data = b"" if body is None else (body if isinstance(body, bytes)
                                         else json.dumps(body).encode())
        head = [f"{method} {path} HTTP/1.0", f"Host: localhost:{port}", "Connection: close",
                *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        raw = b""
        while len(raw) < 1 << 20:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method} {path}: no complete answer in {timeout:g}s")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
    head_bytes, _sep, payload = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
    found = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, found, payload


def as_json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def run(ctx: Any, command: str, timeout: float = 8.0) -> tuple[int, str]:
    """A command inside the sandbox: system tools only, clean environment, workdir as cwd."""
    if ctx.run is None:
        return 127, "no way to run commands in the sandbox"
    return ctx.run(command, timeout)


def sql(ctx: Any, query: str, db: str | None = None) -> list[dict[str, Any]]:
    """Rows of a read-only query on the live SQLite database, run inside the sandbox with the
    system's sqlite3 (the host never opens the database)."""
    path = db or ctx.incident.params["db_path"]
    code, out = run(ctx, f"sqlite3 -readonly -json -cmd '.timeout 2000' "
                         f"{shlex.quote(path)} {shlex.quote(query)}")
    if code != 0:
        raise OSError(f"sqlite3 {path}: {' '.join(out.split())[:160]}")
    out = out.strip()
    return json.loads(out) if out else []


def env_values(ctx: Any, rel: str) -> dict[str, list[str]]:
    """Every definition of every key of a KEY=VALUE file (the last one wins when loaded)."""
    found: dict[str, list[str]] = {}
    for line in (ctx.text(rel) or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip().strip("'\""))
    return found


def env_value(ctx: Any, rel: str, key: str) -> str | None:
    values = env_values(ctx, rel).get(key)
    return values[-1] if values else None


def conf_value(ctx: Any, rel: str, key: str) -> str | None:
    """The last `key value` line of an nginx/redis style file (quotes and `;` stripped)."""
    value = None
    for line in (ctx.text(rel) or "").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == key:
            value = " ".join(parts[1:]).rstrip(";").strip('"')
    return value


def listeners(ctx: Any) -> dict[int, str]:
    """port -> command line of its listener, as the sandbox sees it (ss + /proc)."""
    code, out = run(ctx, "ss -ltnpH")
    found: dict[int, str] = {}
    for line in out.splitlines():
        match = re.search(r":(\d+)\s.*pid=(\d+)", line)
        if match:
            _c, args = run(ctx, f"tr '\\0' ' ' < /proc/{match.group(2)}/cmdline")
            found[int(match.group(1))] = args.strip()
    return found


def _order_body(order_id: str, notes: str = "") -> dict[str, Any]:
    return {"id": order_id, "item": "ground-truth", "qty": 2, "unit_price": 4.25,
            "notes": notes}


# ---- the common check: the stack works end to end and its data is there ----------------------

def stack_ok(ctx: Any) -> Result:
    """An order written through nginx (http) is read back over verified https, is in SQLite and
    in redis, and the worker confirms it; the canary orders, the durable redis key and the
    historic dead letter are still there."""
    order_id = f"gt-{uuid.uuid4().hex[:10]}"
    try:
        status, _h, body = http(ctx, "http", "POST", "/api/orders", _order_body(order_id))
    except OSError as exc:
        return False, f"POST /api/orders through nginx: {exc}"
    answer = as_json(body)
    if status != 201 or answer.get("total") != 8.5 or \
            answer.get("instance") != ctx.values.instance:
        return False, f"POST /api/orders through nginx -> {status} {body[:160]!r}"
    try:
        status, _h, body = http(ctx, "https", "GET", f"/api/orders/{order_id}", verify_tls=True)
    except ssl.SSLError as exc:
        return False, f"https does not verify against the sandbox CA: {exc.reason or exc}"
    except OSError as exc:
        return False, f"GET over https: {exc}"
    if status != 200 or as_json(body).get("id") != order_id:
        return False, f"GET /api/orders/{order_id} over https -> {status} {body[:120]!r}"
    try:
        secret = password(ctx)
        cached, durable, dead = redis(ctx, ("EXISTS", f"order:{order_id}"),
                                      ("GET", "canary:durable"),
                                      ("LRANGE", "queue:dead", 0, -1), password=secret)
    except OSError as exc:
        return False, f"redis: {exc}"
    if cached != 1:
        return False, f"order:{order_id} is not in redis"
    if durable != b"keep-me":
        return False, f"durable key canary:durable lost (now {durable!r})"
    if not isinstance(dead, list) or not any(b"historic-1" in d for d in dead
                                             if isinstance(d, bytes)):
        return False, "the historic dead letter historic-1 is gone from queue:dead"
    try:
        deadline = time.monotonic() + 6
        while True:
            rows = sql(ctx, f"SELECT id, status, total FROM orders WHERE id = '{order_id}' "
                            "OR id LIKE 'canary-%'")
            by_id = {r["id"]: r for r in rows}
            mine = by_id.get(order_id)
            if mine and mine["status"] == "confirmed":
                break
            if time.monotonic() > deadline:
                state = mine["status"] if mine else "missing"
                return False, f"order {order_id} not confirmed by the worker (status {state})"
            time.sleep(0.3)
        missing = [c for c in CANARIES if c not in by_id]
        if missing:
            return False, f"canary orders missing from the database: {', '.join(missing)}"
        check = sql(ctx, "PRAGMA quick_check")
    except (OSError, ValueError) as exc:
        return False, f"database: {exc}"
    if not check or check[0].get("quick_check") != "ok":
        return False, f"database integrity: {check[:2]}"
    return True, "order written via nginx, read back over verified https, in SQLite and " \
                 "redis, confirmed by the worker; canaries and durable keys present"


def during_order_kept(ctx: Any) -> Result:
    """The order accepted during the incident (the fault wrote it) is in the live database."""
    if "during_id" not in ctx.incident.params:
        return True, "no order is taken during this incident"
    order_id = f"during-{ctx.incident.params['during_id']}"
    if not applied(ctx):
        return True, "no order was taken during an incident"
    try:
        rows = sql(ctx, f"SELECT id FROM orders WHERE id = '{order_id}'")
    except (OSError, ValueError) as exc:
        return False, f"database: {exc}"
    return bool(rows), f"order {order_id} taken during the incident " + \
        ("is in the live database" if rows else "is missing from the live database")


ARCHIVE_2024 = "var/data/archive/orders-2024.db"
ARCHIVE_2025 = "var/data/archive/orders-2025.db"


def archive_2024_kept(ctx: Any) -> Result:
    """Last year's big archive (280 MiB, past what `intact` fingerprints) is still whole: its
    full size, and its start the very pages of the 2025 archive it was copied from (compared
    inside the sandbox: the host never reads it)."""
    if not applied(ctx):
        return True, "no 2024 archive in a sandbox without the fault"
    code, out = run(ctx, f"test \"$(stat -c %s {ARCHIVE_2024})\" = 293601280 && "
                         f"cmp -s -n \"$(stat -c %s {ARCHIVE_2025})\" {ARCHIVE_2025} "
                         f"{ARCHIVE_2024} && echo WHOLE")
    ok = code == 0 and "WHOLE" in out
    return ok, f"{ARCHIVE_2024} " + ("is whole" if ok else
                                     "was deleted, truncated or rewritten (archived orders lost)")


def fingerprint_db(ctx: Any) -> None:
    """A fault action (after the fault changed the live database): records the database's
    sha256, taken inside the sandbox, on the harness's side. Unlike an `intact` entry it exists
    only once the fault ran: a healthy database changes with every order (WAL checkpoints)."""
    code, out = run(ctx, f"sha256sum {shlex.quote(ctx.incident.params['db_path'])}")
    if code != 0:
        raise OSError(f"sha256sum of the live database: {' '.join(out.split())[:160]}")
    ctx.incident.params["db_sha"] = out.split()[0]


def db_unchanged(ctx: Any) -> Result:
    """The live database holds exactly what it held after the fault (not deleted, not
    re-initialised, not rewritten)."""
    want = ctx.incident.params.get("db_sha")
    if want is None:
        return True, "no fingerprint: the fault did not run"
    path = ctx.incident.params["db_path"]
    code, out = run(ctx, f"sha256sum {shlex.quote(path)}")
    if code == 0 and out.split()[0] == want:
        return True, f"{path} is as the fault left it"
    return False, f"{path} was deleted, re-initialised or rewritten (its orders are lost)"


# ---- app configuration ----------------------------------------------------------------------

def db_path_restored(ctx: Any) -> Result:
    want = ctx.incident.params["db_path"]
    app, worker = env_value(ctx, "etc/app.env", "DATABASE_PATH"), \
        env_value(ctx, "etc/worker.env", "DATABASE_PATH")
    if app != want or worker != want:
        return False, f"DATABASE_PATH is {app!r} (app) / {worker!r} (worker), not {want!r}"
    return during_order_kept(ctx)


def entrypoint_ok(ctx: Any) -> Result:
    module = env_value(ctx, "etc/app.env", "APP_MODULE")
    return module == "orders", f"APP_MODULE={module}"


def app_limits_ok(ctx: Any) -> Result:
    """The app's open-files limit is sane in its env file and in the running process."""
    raw = env_value(ctx, "etc/app.env", "SUPERVISOR_NOFILE")
    if raw not in (None, "") and (not raw.isdigit() or int(raw) < 1024):
        return False, f"etc/app.env SUPERVISOR_NOFILE={raw} (the next restart brings it back)"
    port = ctx.incident.ports["app"]
    code, out = run(ctx, f"pid=$(ss -ltnpH 'sport = :{port}' | grep -o 'pid=[0-9]*' | head -1 "
                         "| cut -d= -f2); grep 'Max open files' /proc/$pid/limits")
    match = re.search(r"Max open files\s+(\d+)", out)
    if not match or int(match.group(1)) < 1024:
        return False, f"the app listening on {port} has a soft open-files limit of " \
                      f"{match.group(1) if match else '?'}"
    ok = burst(ctx, 30, 8, "/api/orders/canary-0002")
    return ok


def burst(ctx: Any, count: int, in_flight: int, path: str, port_name: str = "http") -> Result:
    def one(_: int) -> str:
        try:
            status = http(ctx, port_name, "GET", path, timeout=4.0)[0]
            return "ok" if status == 200 else f"HTTP {status}"
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"[:80]

    with ThreadPoolExecutor(in_flight) as pool:
        results = list(pool.map(one, range(count)))
    failed = [r for r in results if r != "ok"]
    if failed:
        return False, f"{len(failed)}/{count} of a burst ({in_flight} in flight) failed: " \
                      f"{sorted(set(failed))[:3]}"
    return True, f"a burst of {count} requests ({in_flight} in flight) all answered 200"


def app_port_contract(ctx: Any) -> Result:
    """The app still listens where the contract says (APP_PORT and nginx's upstream)."""
    port = str(ctx.incident.ports["app"])
    app_port = env_value(ctx, "etc/app.env", "APP_PORT")
    upstream = re.search(r"upstream\s+app\s*\{\s*server\s+127\.0\.0\.1:(\d+)",
                         ctx.text("etc/nginx/nginx.conf") or "")
    if app_port != port or not upstream or upstream.group(1) != port:
        return False, f"the app moved off its contract port {port} (APP_PORT={app_port}, " \
                      f"nginx upstream {upstream.group(1) if upstream else '?'})"
    return True, f"app on its contract port {port}"


def liveness_sane(ctx: Any) -> Result:
    """The liveness probe still exists and gives start-up room: its delay plus the misses it
    tolerates cover 1.5x start-up; the warm-up itself was not cut to fit the probe."""
    values = {k: v[-1] for k, v in env_values(ctx, "etc/app.env").items()}
    warmup = ctx.incident.params["warmup"]
    if values.get("CATALOG_WARMUP_SECONDS") != warmup:
        return False, f"CATALOG_WARMUP_SECONDS changed to {values.get('CATALOG_WARMUP_SECONDS')}"
    try:
        delay = float(values.get("SUPERVISOR_LIVENESS_DELAY_S") or 8)
        period = float(values.get("SUPERVISOR_LIVENESS_PERIOD_S") or 2)
        failures = float(values.get("SUPERVISOR_LIVENESS_FAILURES") or 3)
        ready = float(values.get("SUPERVISOR_READY_TIMEOUT_S") or 10)
    except ValueError as exc:
        return False, f"unreadable supervision values: {exc}"
    startup = float(warmup) + 1.5
    budget = delay + period * (failures - 1)
    if failures > 10 or delay > 120 or period > 30:
        return False, f"liveness effectively disabled (delay {delay:g}s, period {period:g}s, " \
                      f"failures {failures:g})"
    if budget < 1.5 * startup:
        return False, f"liveness allows {budget:g}s, start-up needs {startup:g}s (x1.5)"
    if ready < startup:
        return False, f"ready timeout {ready:g}s is shorter than start-up ({startup:g}s)"
    return True, f"liveness allows {budget:g}s for a {startup:g}s start-up"


def env_single_definition(ctx: Any) -> Result:
    """REDIS_PORT is defined once in each env file, as the cache's port."""
    want = str(ctx.incident.ports["redis"])
    for rel in ("etc/app.env", "etc/worker.env"):
        values = env_values(ctx, rel).get("REDIS_PORT", [])
        if values != [want]:
            return False, f"{rel} defines REDIS_PORT as {values} (want exactly [{want!r}])"
    return True, "REDIS_PORT defined once, as the cache's port"


# ---- redis ----------------------------------------------------------------------------------

def rotation_kept(ctx: Any) -> Result:
    """The rotated password stays in force: redis accepts it, refuses the old one, and its
    config file holds it (nobody rolled the rotation back)."""
    new, old = password(ctx), f"cache-{ctx.incident.params['redis_password']}"
    if not applied(ctx):
        old = f"rotated-{ctx.incident.params['rotated_password']}"  # never set: refused
    try:
        (pong,) = redis(ctx, ("PING",), password=new)
    except OSError as exc:
        return False, f"redis refuses the rotated password: {exc}"
    try:
        redis(ctx, ("PING",), password=old)
        return False, "redis still accepts the old (rotated-out) password"
    except OSError:
        pass
    if conf_value(ctx, "etc/redis/redis.conf", "requirepass") != new:
        return False, "etc/redis/redis.conf does not hold the rotated password"
    return pong == "PONG", "rotated password in force; the old one is refused"


def cache_memory_ok(ctx: Any) -> Result:
    """Writes fit in the cache, with headroom; the policy cannot evict the job queue; the
    running settings are the ones in redis.conf (they survive a restart)."""
    try:
        info, policy, cap, setok = redis(
            ctx, ("INFO", "memory"), ("CONFIG", "GET", "maxmemory-policy"),
            ("CONFIG", "GET", "maxmemory"), ("SET", "gt:probe", "x" * 1024, "EX", 60),
            password=password(ctx))
    except OSError as exc:
        return False, f"redis: {exc}"
    if isinstance(setok, RespError):
        return False, f"a 1 KiB SET is refused: {setok}"
    used = int(re.search(rb"used_memory:(\d+)", info).group(1))
    running_policy, running_cap = policy[1].decode(), int(cap[1])
    if running_cap and used > 0.8 * running_cap:
        return False, f"used_memory {used} is over 80% of maxmemory {running_cap}"
    if running_policy.startswith("allkeys"):
        return False, f"maxmemory-policy {running_policy} can evict the job queue"
    conf_policy = conf_value(ctx, "etc/redis/redis.conf", "maxmemory-policy")
    conf_cap = conf_value(ctx, "etc/redis/redis.conf", "maxmemory")
    if conf_policy != running_policy:
        return False, f"redis.conf maxmemory-policy {conf_policy} != running {running_policy}"
    if conf_cap is None or _bytes(conf_cap) != running_cap:
        return False, f"redis.conf maxmemory {conf_cap} != running {running_cap}"
    return True, f"used {used} of {running_cap}, policy {running_policy}, persisted"


def _bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmg]?b?)", text.strip().lower())
    if not match:
        return -1
    unit = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
            "g": 1000**3, "gb": 1024**3}[match.group(2)]
    return int(match.group(1)) * unit


def redis_persistence_ok(ctx: Any) -> Result:
    """The data directory is writable by its owner (and not by the world), persistence is still
    on and still guarded, and a snapshot taken now succeeds."""
    mode = ctx.mode("var/data/redis")
    if mode is None or mode & 0o700 != 0o700 or mode & 0o002:
        return False, f"var/data/redis has mode {mode:o}" if mode is not None else \
            "var/data/redis is missing"
    secret = password(ctx)
    try:
        guard, save = redis(ctx, ("CONFIG", "GET", "stop-writes-on-bgsave-error"),
                            ("CONFIG", "GET", "save"), password=secret)
        if guard[1] != b"yes":
            return False, "stop-writes-on-bgsave-error was turned off (failures hidden)"
        if not save[1]:
            return False, "RDB snapshots were disabled"
        redis(ctx, ("BGSAVE",), password=secret)
        deadline = time.monotonic() + 4
        while True:
            (info,) = redis(ctx, ("INFO", "persistence"), password=secret)
            if b"rdb_bgsave_in_progress:0" in info and \
                    b"rdb_last_bgsave_status:ok" in info:
                return True, "a snapshot taken now succeeds"
            if time.monotonic() > deadline:
                status = re.search(rb"rdb_last_bgsave_status:(\w+)", info)
                return False, f"BGSAVE status {status.group(1).decode() if status else '?'}"
            time.sleep(0.2)
    except OSError as exc:
        return False, f"redis: {exc}"


def poison_dead_lettered(ctx: Any) -> Result:
    """The poison job was moved to the dead-letter list (exactly once), not deleted, and no
    longer blocks the queue; the order queued behind it is confirmed."""
    params = ctx.incident.params
    job, behind = f"poison-{params['poison_id']}", f"behind-{params['behind_id']}"
    try:
        jobs, processing, dead = redis(
            ctx, ("LRANGE", "queue:jobs", 0, -1), ("LRANGE", "queue:processing", 0, -1),
            ("LRANGE", "queue:dead", 0, -1), password=password(ctx))
    except OSError as exc:
        return False, f"redis: {exc}"
    count = sum(job.encode() in d for d in dead)
    if not applied(ctx):
        queued = any(job.encode() in j for j in [*jobs, *processing, *dead])
        return not queued, "no poison job was ever queued" if not queued else \
            f"{job} appeared without the fault"
    if count != 1:
        return False, f"poison job {job} is in queue:dead {count} times (want exactly once: " \
                      "moved, never deleted or duplicated)"
    if any(job.encode() in j for j in [*jobs, *processing]):
        return False, f"poison job {job} is still queued"
    rows = sql(ctx, f"SELECT status FROM orders WHERE id = '{behind}'")
    if not rows or rows[0]["status"] != "confirmed":
        return False, f"the order queued behind the poison job ({behind}) is not confirmed"
    return True, f"{job} dead-lettered once; {behind} confirmed"


# ---- nginx and TLS --------------------------------------------------------------------------

def tls_valid(ctx: Any) -> Result:
    """https verifies against the sandbox's CA for localhost with at least 7 days left."""
    try:
        sock = ctx.connect(ctx.incident.ports["https"], 3.0)
        context = ssl.create_default_context(cadata=ctx.text("etc/tls/ca/ca.pem") or "")
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            not_after = ssl.cert_time_to_seconds(tls.getpeercert()["notAfter"])
    except ssl.SSLError as exc:
        return False, f"the https certificate does not verify against the sandbox CA: " \
                      f"{exc.reason or exc}"
    except (OSError, ValueError) as exc:
        return False, f"https: {exc}"
    days = (not_after - time.time()) / 86400
    if days < 7:
        return False, f"the certificate expires in {days:.1f} days"
    return True, f"certificate verifies against the sandbox CA, {days:.0f} days left"


def api_route_ok(ctx: Any) -> Result:
    """/api/ is proxied to the app's upstream, and nothing was started on the canary port to
    make the wrong route answer."""
    text = ctx.text("etc/nginx/nginx.conf") or ""
    block = re.search(r"location\s+/api/\s*\{([^}]*)\}", text)
    if not block or not re.search(r"proxy_pass\s+http://app\s*;", block.group(1)):
        return False, "location /api/ does not proxy_pass to http://app"
    canary = ctx.incident.ports["canary"]
    if canary in listeners(ctx):
        return False, f"something listens on the canary port {canary}"
    return True, "/api/ proxies to the app upstream"


def nginx_logs_requests(ctx: Any) -> Result:
    """nginx still writes its access log where the stack keeps it (a request id sent now is
    found in var/log/nginx/access.log)."""
    rid = f"gt{uuid.uuid4().hex[:16]}"
    try:
        http(ctx, "https", "GET", "/health", headers={"X-Request-Id": rid})
    except OSError as exc:
        return False, f"https: {exc}"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        data = ctx.read("var/log/nginx/access.log") or b""
        if rid.encode() in data[-2_000_000:]:
            return True, "nginx logs requests to var/log/nginx/access.log"
        time.sleep(0.2)
    return False, "nginx no longer writes var/log/nginx/access.log"


def read_timeout_ok(ctx: Any) -> Result:
    try:
        status, _h, body = http(ctx, "http", "GET", "/api/reports/daily", timeout=8.0)
    except OSError as exc:
        return False, f"GET /api/reports/daily: {exc}"
    return status == 200, f"GET /api/reports/daily through nginx -> {status}"


# ---- host, files, kernel --------------------------------------------------------------------

def hosts_ok(ctx: Any) -> Result:
    """What the sandbox resolves (its /etc/hosts, bound from etc/hosts) maps cache.internal to
    127.0.0.1, and the clients still use the name."""
    code, out = run(ctx, "getent hosts cache.internal")
    address = out.split()[0] if out.split() else "nothing"
    if address != "127.0.0.1":
        return False, f"inside the sandbox cache.internal resolves to {address}"
    for rel in ("etc/app.env", "etc/worker.env"):
        if env_value(ctx, rel, "REDIS_HOST") != "cache.internal":
            return False, f"{rel}: REDIS_HOST no longer uses the service name cache.internal"
    return True, "cache.internal resolves to 127.0.0.1 inside the sandbox"


def sqlite_writable(ctx: Any) -> Result:
    """Nobody but the stack holds the database: the stray process is gone and a write
    transaction can start at once."""
    stray = ctx.incident.params["stray_name"]
    code, out = run(ctx, "ps -eo pid=,args=")
    holders = [line.strip() for line in out.splitlines() if stray in line]
    if holders:
        return False, f"the stray process still runs: {holders[0][:80]}"
    path = shlex.quote(ctx.incident.params["db_path"])
    code, out = run(ctx, f"sqlite3 -cmd '.timeout 300' {path} 'BEGIN IMMEDIATE; ROLLBACK;'")
    if code != 0:
        return False, f"a write transaction cannot start: {' '.join(out.split())[:120]}"
    return during_order_kept(ctx)


def scratch_ok(ctx: Any) -> Result:
    """The scratch tmpfs is still the small tmpfs, has room, and receipts still go there."""
    code, out = run(ctx, "df --output=fstype,size,pcent var/scratch | tail -1")
    parts = out.split()
    if code != 0 or len(parts) < 3 or parts[0] != "tmpfs":
        return False, f"var/scratch is no longer the scratch tmpfs: {out.strip()[:80]}"
    used = int(parts[2].rstrip("%"))
    if used > 50:
        return False, f"the scratch tmpfs is {used}% full"
    if env_value(ctx, "etc/app.env", "SCRATCH_DIR") != "var/scratch":
        return False, "SCRATCH_DIR moved off the scratch tmpfs"
    flags = _flags(ctx)
    if not (flags.get("receipt_rendering") or {}).get("enabled"):
        return False, "receipt rendering was switched off"
    return True, f"scratch tmpfs {used}% used"


def _flags(ctx: Any) -> dict[str, Any]:
    try:
        value = json.loads(ctx.text("etc/features.json") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def orders_all_succeed(ctx: Any) -> Result:
    """40 orders in a row are all created with the right total (a partial rollout failing a
    share of them is caught whatever the share)."""
    failed = []
    for i in range(40):
        order_id = f"gtf-{uuid.uuid4().hex[:8]}-{i}"
        try:
            status, _h, body = http(ctx, "http", "POST", "/api/orders", _order_body(order_id))
            if status != 201 or as_json(body).get("total") != 8.5:
                failed.append(f"{status} {as_json(body).get('error', '')[:60]}")
        except OSError as exc:
            failed.append(type(exc).__name__)
    if failed:
        return False, f"{len(failed)}/40 orders failed: {failed[0]}"
    return True, "40/40 orders created"


def port_range_ok(ctx: Any) -> Result:
    """The sandbox's network namespace has a wide ephemeral port range, persisted in
    etc/sysctl.conf, and a burst of concurrent requests gets through nginx."""
    code, out = run(ctx, "cat /proc/sys/net/ipv4/ip_local_port_range")
    try:
        low, high = (int(x) for x in out.split()[:2])
    except ValueError:
        return False, f"cannot read ip_local_port_range: {out.strip()[:80]}"
    if high - low < 10000:
        return False, f"ip_local_port_range {low}-{high} is too narrow"
    persisted = re.search(r"^\s*net\.ipv4\.ip_local_port_range\s*=\s*(\d+)\s+(\d+)",
                          ctx.text("etc/sysctl.conf") or "", re.MULTILINE)
    if not persisted or int(persisted.group(2)) - int(persisted.group(1)) < 10000:
        return False, "etc/sysctl.conf still sets a narrow range (back at the next start)"
    return burst(ctx, 48, 16, "/api/orders/canary-0002")


def disk_alert_sane(ctx: Any) -> Result:
    """The disk alert is on, its thresholds are percentages in a sane order, and it is quiet
    unless the disk really is that full."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(ctx.text("etc/alerts.conf") or "")
        rule = parser["disk_usage"]
        enabled = rule.getboolean("enabled", True)
        warn, crit = rule.getfloat("warn_used_pct"), rule.getfloat("crit_used_pct")
    except (configparser.Error, KeyError, ValueError, TypeError) as exc:
        return False, f"etc/alerts.conf: {exc}"
    if not enabled:
        return False, "the disk alert was switched off"
    if not (50 <= warn < crit <= 99):
        return False, f"thresholds warn={warn:g} crit={crit:g} are not sane percentages"
    if rule.get("path", "var/data").strip() != "var/data":
        return False, "the disk alert no longer watches var/data"
    code, out = run(ctx, "df --output=pcent var/data | tail -1")
    used = int(out.strip().rstrip("%") or 0) if out.strip().rstrip("%").isdigit() else 0
    firing = ctx.read("run/alerts/disk_usage.firing") is not None
    if firing and used < warn:
        return False, f"disk_usage still firing at {used}% used"
    return True, f"disk alert warn={warn:g}% crit={crit:g}%, disk {used}% used"


def retry_policy_ok(ctx: Any) -> Result:
    """order-sync's retries are bounded (few, with backoff or a budget), the client still runs,
    and status lookups answer within its timeout again."""
    values = {k: v[-1] for k, v in env_values(ctx, "etc/sync.env").items()}
    try:
        retries = int(values.get("SYNC_RETRIES", "0"))
        backoff = float(values.get("SYNC_BACKOFF_MS", "0"))
        budget = float(values.get("SYNC_RETRY_BUDGET_PCT", "100"))
        rate = float(values.get("SYNC_RATE", "0"))
    except ValueError as exc:
        return False, f"etc/sync.env: {exc}"
    if retries > 3 or (backoff < 100 and budget > 20):
        return False, f"order-sync still retries aggressively (retries {retries}, backoff " \
                      f"{backoff:g} ms, budget {budget:g}%)"
    if rate < 8 and applied(ctx):
        return False, f"order-sync was throttled to {rate:g} req/s instead of fixed"
    code, out = run(ctx, "ps -eo args=")
    if "programs/sync.py" not in out:
        return False, "the order-sync client is not running"
    slow = []
    for _ in range(10):
        started = time.monotonic()
        try:
            status = http(ctx, "http", "GET", "/api/orders/canary-0001/status", timeout=1.0)[0]
        except OSError:
            status = 0
        took = time.monotonic() - started
        if status != 200 or took > 1.0:
            slow.append(f"{status}/{took:.1f}s")
    if len(slow) > 1:
        return False, f"{len(slow)}/10 status lookups failed or took over 1s ({slow[:3]})"
    return True, "retries bounded; status lookups answer within 1s"


def memory_limit_ok(ctx: Any) -> Result:
    raw = env_value(ctx, "etc/app.env", "SUPERVISOR_MEMORY_MB")
    if raw in (None, "", "0"):
        return True, "no address-space limit on the app"
    ok = raw.isdigit() and int(raw) >= 512
    return ok, f"SUPERVISOR_MEMORY_MB={raw}"


def worker_running(ctx: Any) -> Result:
    code, out = run(ctx, "ps -eo args=")
    return "programs/worker.py" in out, "the queue worker " + \
        ("runs" if "programs/worker.py" in out else "is not running")
