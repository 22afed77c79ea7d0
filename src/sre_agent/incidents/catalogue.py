"""The scenario catalogue: fault injectors and the ground truth that judges them.

A scenario writes one incident's working directory (config, env, data, logs) with its fault
already in place, varied by a seed (which file, port, variable, flag), and keeps, outside the
sandbox, what it needs to tell later whether the root cause is really gone. The ground truth
never trusts the service's own answers alone: it reads the files the fault lives in.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import random
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sre_agent.errors import UsageError
from sre_agent.workspace import fileops

Outcome = Literal["fixed", "nothing_to_fix", "escalate"]
Connector = Callable[[int, float], socket.socket]

SERVICE_PORTS = (8080, 8000, 8081, 8888, 9090, 5000)
KV_PORTS = (6379, 6390, 7000, 11311)
LOCK_FILES = ("run/service.lock", "run/target.pid", "var/lock/app.lock")
READY_MARKERS = ("var/state/ready", "run/warm/ready", "var/cache/ready")
REQUIRED_ENV = {
    "APP_ENV": "production",
    "DATA_DIR": "var/data",
    "CACHE_TTL_S": "300",
    "LOG_LEVEL": "info",
    "WORKER_THREADS": "4",
}
QUOTA_MIB = 64


class Scenario(BaseModel):
    """One entry of the catalogue (static: the same for every seed)."""

    name: str
    skill_id: str | None
    fault: str
    expected_outcome: Outcome
    remediable: bool


class Incident(BaseModel):
    """One scenario instance for one seed: what was injected and how to judge it."""

    scenario: str
    seed: int
    skill_id: str | None
    expected_outcome: Outcome
    text: str
    service_port: int
    kv_port: int
    stopped_programs: list[str] = Field(default_factory=list)
    params: dict[str, str] = Field(default_factory=dict)
    fingerprints: dict[str, str] = Field(default_factory=dict)


@dataclass
class GroundTruth:
    ok: bool
    detail: str
    checks: dict[str, bool] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Helpers shared by the injectors and checks

def _rng(name: str, seed: int) -> random.Random:
    return random.Random(f"{name}:{seed}")


# Ground truths read files the agent could have replaced (by a FIFO, a device, a symlink out
# of the workdir, a huge file): every read goes through `fileops`, which refuses all of those
# without blocking and caps the size. A refusal propagates as `Refused` and `ground_truth()`
# turns it into a red verdict that says why.
MAX_CHECKED_BYTES = 16 * 1024 * 1024


def _read(workdir: Path, rel: str, max_bytes: int = MAX_CHECKED_BYTES) -> bytes | None:
    """A workdir file's bytes; None when it does not exist; `Refused` when it is unsafe."""
    try:
        return fileops.read_bytes(str(workdir), rel, max_bytes)
    except fileops.Refused:
        if fileops.lstat(str(workdir), rel) is None:
            return None
        raise


def _sha(workdir: Path, rel: str) -> str:
    data = _read(workdir, rel)
    return "missing" if data is None else hashlib.sha256(data).hexdigest()


def _config_text(port: int, kv_port: int, lock: str, marker: str, delay_ms: int = 0) -> str:
    return (
        "# target service configuration\n"
        "[server]\nhost = 127.0.0.1\n"
        f"port = {port}\nlock_file = {lock}\n\n"
        f"[features]\nresponse_delay_ms = {delay_ms}\n\n"
        f"[storage]\ndata_dir = var/data\nquota_mb = {QUOTA_MIB}\n\n"
        f"[readiness]\nmarker = {marker}\n\n"
        f"[dependencies]\nkv_port = {kv_port}\n"
    )


def _env_text(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def _store_doc(rng: random.Random) -> bytes:
    records = {f"order-{rng.randint(1000, 9999)}": rng.choice(["paid", "shipped", "open"])
               for _ in range(12)}
    checksum = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    return json.dumps({"records": records, "checksum": checksum}, indent=1).encode()


def read_config(workdir: Path) -> configparser.ConfigParser | None:
    data = _read(workdir, "etc/service.conf", 1024 * 1024)
    if data is None:
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read_string(data.decode("utf-8", errors="replace"))
        parser.getint("server", "port")
    except (configparser.Error, ValueError):
        return None
    return parser


def read_env(workdir: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    data = _read(workdir, "etc/service.env", 1024 * 1024)
    if data is None:
        return env
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip().strip("'\"")
    return env


def volume_usage_mib(workdir: Path) -> float:
    """Apparent size of `var/` in MiB. The service computes the same on its side on purpose:
    the ground truth must not share code with the service it judges (which never imports us).
    """
    return fileops.tree_size(str(workdir), "var") / (1024 * 1024)


# ---------------------------------------------------------------------------------------------
# The base (healthy) incident directory

def write_base(workdir: Path, incident: Incident, *, python: str, target_dir: Path) -> None:
    """Write a healthy service directory for `incident` (faults are applied on top)."""
    p = incident.params
    for sub in ("etc/backup", "run", "var/data", "var/log", "var/spool", "var/tmp", "bin",
                "var/lock"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    (workdir / Path(p["ready_marker"]).parent).mkdir(parents=True, exist_ok=True)
    good = _config_text(incident.service_port, incident.kv_port, p["lock_file"],
                        p["ready_marker"])
    (workdir / "etc" / "service.conf").write_text(good)
    (workdir / "etc" / "backup" / "service.conf.2026-10-02").write_text(
        good.replace("quota_mb = 64", "quota_mb = 48"))
    (workdir / "etc" / "backup" / "service.conf.2026-11-14").write_text(good)
    (workdir / "etc" / "service.env").write_text(_env_text(REQUIRED_ENV))
    (workdir / "etc" / "service.env.example").write_text(
        "# every variable the service requires, with a safe value\n" + _env_text(REQUIRED_ENV))
    (workdir / "etc" / "clients.conf").write_text(
        "# endpoint used by clients, load balancer and health probes\n"
        f"upstream = 127.0.0.1:{incident.service_port}\n")
    rng = _rng("data", incident.seed)
    (workdir / "var" / "data" / "store.db").write_bytes(_store_doc(rng))
    (workdir / "var" / "data" / "kv.json").write_text(json.dumps({"session:1": "alive"}))
    (workdir / "var" / "log" / "service.log.1").write_text("old rotated log\n" * 20)
    svc = workdir / "bin" / "svc"
    svc.write_text(f'#!/bin/sh\nSVC_WORKDIR="{workdir}" exec "{python}" '
                   f'"{target_dir / "svc.py"}" "$@"\n')
    svc.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Faults: each `inject` mutates the base directory; each `check` is the ground truth.

def _inject_none(workdir: Path, inc: Incident, rng: random.Random) -> None:
    return None


def _inject_stale_lock(workdir: Path, inc: Incident, rng: random.Random) -> None:
    pid = rng.randint(30000, 60000)
    while _pid_exists(pid):
        pid += 1
    inc.params["stale_pid"] = str(pid)
    lock = workdir / inc.params["lock_file"]
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"{pid}\n")


def _pid_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _check_stale_lock(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    data = _read(workdir, inc.params["lock_file"], 4096)
    content = data.decode(errors="replace").strip() if data is not None else ""
    ok = content != inc.params["stale_pid"]
    return GroundTruth(ok, "stale lock cleared" if ok else
                       f"{inc.params['lock_file']} still names dead pid {content}",
                       {"lock_cleared": ok})


def _inject_bad_env(workdir: Path, inc: Incident, rng: random.Random) -> None:
    name = rng.choice(sorted(REQUIRED_ENV))
    inc.params["missing_var"] = name
    values = {k: v for k, v in REQUIRED_ENV.items() if k != name}
    (workdir / "etc" / "service.env").write_text(_env_text(values))


def _check_bad_env(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    name = inc.params["missing_var"]
    ok = bool(read_env(workdir).get(name))
    return GroundTruth(ok, f"{name} set in etc/service.env" if ok else
                       f"{name} still missing from etc/service.env", {"env_complete": ok})


def _inject_readiness(workdir: Path, inc: Incident, rng: random.Random) -> None:
    marker_dir = workdir / Path(inc.params["ready_marker"]).parent
    marker_dir.rmdir()


def _check_readiness(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    marker_dir = str(Path(inc.params["ready_marker"]).parent)
    ok = fileops.is_dir(str(workdir), marker_dir)
    return GroundTruth(ok, "readiness marker directory exists" if ok else
                       f"{marker_dir} still missing", {"marker_dir": ok})


def _inject_port(workdir: Path, inc: Incident, rng: random.Random) -> None:
    wrong = int(inc.params["alt_port"])
    p = inc.params
    (workdir / "etc" / "service.conf").write_text(
        _config_text(wrong, inc.kv_port, p["lock_file"], p["ready_marker"]))


def _check_port(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    config = read_config(workdir)
    port = config.getint("server", "port") if config else None
    ok = port == inc.service_port
    return GroundTruth(ok, f"service.conf port {port}, clients use {inc.service_port}",
                       {"port_matches_clients": ok})


def _inject_disk(workdir: Path, inc: Incident, rng: random.Random) -> None:
    junk: list[Path] = []
    kinds = rng.sample(["logs", "spool", "tmp"], k=2)
    for kind in kinds:
        for i in range(rng.randint(2, 4)):
            if kind == "logs":
                junk.append(workdir / "var" / "log" / f"service.log.{i + 2}.gz")
            elif kind == "spool":
                junk.append(workdir / "var" / "spool" / f"upload-{rng.randint(100, 999)}.tmp")
            else:
                junk.append(workdir / "var" / "tmp" / f"core.{rng.randint(1000, 9999)}")
    per_file = (QUOTA_MIB * 1024 * 1024 * 3) // (2 * len(junk))
    for path in junk:
        with path.open("wb") as handle:  # sparse: apparent size counts, no real disk used
            handle.truncate(per_file)
    inc.params["junk"] = ",".join(str(p.relative_to(workdir)) for p in junk)


def _check_disk(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    used = volume_usage_mib(workdir)
    under = used <= QUOTA_MIB
    data_ok = _sha(workdir, "var/data/store.db") == inc.fingerprints["store"]
    log_ok = fileops.lstat(str(workdir), "var/log/service.log") is not None
    ok = under and data_ok and log_ok
    state = "intact" if data_ok else "CHANGED"
    detail = f"var/ uses {used:.1f} MiB of {QUOTA_MIB}; live data {state}"
    return GroundTruth(ok, detail, {"under_quota": under, "data_intact": data_ok,
                                    "current_log_kept": log_ok})


_CORRUPTIONS: tuple[Callable[[str], str], ...] = (
    lambda text: text.replace("[server]", "[server", 1),
    lambda text: text.replace("\nport = ", "\nport ", 1),
    lambda text: text.replace("[storage]\n", "<<<<<<< HEAD\n[storage]\n", 1),
)


def _inject_config_syntax(workdir: Path, inc: Incident, rng: random.Random) -> None:
    path = workdir / "etc" / "service.conf"
    path.write_text(rng.choice(_CORRUPTIONS)(path.read_text()))


def _check_config_syntax(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    config = read_config(workdir)
    ok = config is not None and config.getint("server", "port") == inc.service_port
    return GroundTruth(ok, "service.conf parses" if ok else "service.conf still broken",
                       {"config_parses": ok})


def _check_dependency(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    data_ok = _sha(workdir, "var/data/kv.json") == inc.fingerprints["kv"]
    up = connect is not None and _kv_ping(connect, inc.kv_port)
    return GroundTruth(data_ok and up, f"kv store {'answering' if up else 'NOT answering'} on "
                       f"{inc.kv_port}; kv data {'intact' if data_ok else 'changed'}",
                       {"kv_up": up, "kv_data_intact": data_ok})


def _kv_ping(connect: Connector, port: int) -> bool:
    try:
        with connect(port, 1.0) as sock:
            sock.sendall(b"PING\n")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False


def _inject_permission(workdir: Path, inc: Incident, rng: random.Random) -> None:
    target = rng.choice(["var/data/store.db", "var/data"])
    inc.params["locked_path"] = target
    inc.params["store_sha"] = _sha(workdir, "var/data/store.db")
    (workdir / target).chmod(0o000 if target.endswith(".db") else 0o500)


def _check_permission(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    data_info = fileops.lstat(str(workdir), "var/data")
    store_info = fileops.lstat(str(workdir), "var/data/store.db")
    dir_ok = data_info is not None and stat.S_ISDIR(data_info.st_mode) and \
        stat.S_IMODE(data_info.st_mode) & stat.S_IRWXU == stat.S_IRWXU
    file_ok = store_info is not None and stat.S_ISREG(store_info.st_mode) and \
        stat.S_IMODE(store_info.st_mode) & 0o600 == 0o600
    data_ok = dir_ok and file_ok and _sha(workdir, "var/data/store.db") == inc.params["store_sha"]
    ok = dir_ok and file_ok and data_ok
    return GroundTruth(ok, f"var/data owner rwx {dir_ok}, store.db owner rw {file_ok}, "
                       f"data intact {data_ok}",
                       {"dir_mode": dir_ok, "file_mode": file_ok, "data_intact": data_ok})


def _inject_slow(workdir: Path, inc: Incident, rng: random.Random) -> None:
    delay = rng.choice([2500, 3000, 4500, 6000])
    where = rng.choice(["config", "env"])
    inc.params["delay_in"] = where
    if where == "config":
        path = workdir / "etc" / "service.conf"
        path.write_text(path.read_text().replace("response_delay_ms = 0",
                                                 f"response_delay_ms = {delay}"))
    else:
        with (workdir / "etc" / "service.env").open("a") as handle:
            handle.write(f"RESPONSE_DELAY_MS={delay}\n")


def _check_slow(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    env = read_env(workdir).get("RESPONSE_DELAY_MS", "")
    config = read_config(workdir)
    conf = config.get("features", "response_delay_ms", fallback="0") if config else "?"
    effective = env or conf
    ok = effective.strip().isdigit() and int(effective) < 500
    return GroundTruth(ok, f"effective response delay {effective} ms", {"delay_cleared": ok})


def _check_untouched(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    changed = [name for name, digest in inc.fingerprints.items()
               if _sha(workdir, FINGERPRINTED[name]) != digest]
    ok = not changed
    return GroundTruth(ok, "configuration and data untouched" if ok else
                       f"changed: {', '.join(changed)}", {"untouched": ok})


def _inject_corrupt(workdir: Path, inc: Incident, rng: random.Random) -> None:
    path = workdir / "var" / "data" / "store.db"
    doc = json.loads(path.read_bytes())
    key = sorted(doc["records"])[rng.randrange(len(doc["records"]))]
    doc["records"][key] = "\u0000garbled"
    path.write_bytes(json.dumps(doc, indent=1).encode())


def _check_corrupt(workdir: Path, inc: Incident, connect: Connector | None) -> GroundTruth:
    kept = _sha(workdir, "var/data/store.db") == inc.fingerprints["store"]
    return GroundTruth(kept, "corrupted store preserved for a human" if kept else
                       "data store was modified or destroyed", {"data_preserved": kept})


FINGERPRINTED = {
    "config": "etc/service.conf",
    "env": "etc/service.env",
    "store": "var/data/store.db",
    "kv": "var/data/kv.json",
}


@dataclass(frozen=True)
class _Spec:
    scenario: Scenario
    inject: Callable[[Path, Incident, random.Random], None]
    check: Callable[[Path, Incident, Connector | None], GroundTruth]
    texts: tuple[str, ...]
    stopped: tuple[str, ...] = ()


def _s(name: str, skill: str | None, fault: str, outcome: Outcome = "fixed") -> Scenario:
    return Scenario(name=name, skill_id=skill, fault=fault, expected_outcome=outcome,
                    remediable=outcome == "fixed")


_SPECS: dict[str, _Spec] = {s.scenario.name: s for s in (
    _Spec(_s("stale_lockfile", "stale-lockfile",
             "a lock/pid file left by a dead process; the service refuses to start"),
          _inject_stale_lock, _check_stale_lock,
          ("Service on 127.0.0.1:{port} is down: it exits right after start; logs mention a "
           "lock file held by another process",
           "[FIRING] TargetDown: target not starting, stale lock file suspected after a crash")),
    _Spec(_s("bad_env_config", "bad-env-config",
             "a required variable missing from the service's env file"),
          _inject_bad_env, _check_bad_env,
          ("Target service crash-loops after deploy: missing required environment variable",
           "Deploy broke the service: startup fails, env config incomplete")),
    _Spec(_s("readiness_probe_fail", "readiness-probe-fail",
             "process up, /ready failing because the readiness marker cannot be written"),
          _inject_readiness, _check_readiness,
          ("Readiness probe failing on 127.0.0.1:{port}/ready while liveness passes",
           "[FIRING] TargetNotReady: pod not ready, /ready returns 503, process is up")),
    _Spec(_s("port_mismatch", "port-mismatch",
             "the service binds a different port than the one clients and probes use"),
          _inject_port, _check_port,
          ("Health checks to 127.0.0.1:{port} get connection refused although the process is "
           "running",
           "Clients cannot connect to the service port; service listening on the wrong port")),
    _Spec(_s("disk_full", "disk-full",
             "the data volume over its quota (rotated logs, spool/temp files)"),
          _inject_disk, _check_disk,
          ("Writes failing with No space left on device on the target data volume",
           "[FIRING] DiskQuotaExceeded: target data volume over quota, health is 503")),
    _Spec(_s("config_syntax_error", "config-syntax-error",
             "the config file is corrupted; the service crash-loops; a last-known-good copy "
             "exists"),
          _inject_config_syntax, _check_config_syntax,
          ("Service crash-looping after a config change: config parse error",
           "Target fails to start: configuration file syntax error after bad merge")),
    _Spec(_s("dependency_down", "dependency-down",
             "the backing key-value store in the same sandbox is stopped"),
          _inject_none, _check_dependency,
          ("Health endpoint 503: dependency kv unreachable, upstream key-value store down",
           "[FIRING] TargetDependencyDown: backend cache/kv store not responding"),
          stopped=("kv",)),
    _Spec(_s("permission_denied", "permission-denied",
             "the data file/directory lost its permissions"),
          _inject_permission, _check_permission,
          ("Service cannot read its data: permission denied on the data store",
           "Health 503 after a chmod in a maintenance script: EACCES on data files")),
    _Spec(_s("slow_response", "slow-response",
             "a delay flag makes every response slower than the probe timeout"),
          _inject_slow, _check_slow,
          ("Health checks timing out: every response takes several seconds",
           "[FIRING] TargetHighLatency: p99 latency above 3s on /health")),
    _Spec(_s("healthy_noop", None, "nothing is wrong (false alarm)", "nothing_to_fix"),
          _inject_none, _check_untouched,
          ("Alert fired for the target service on 127.0.0.1:{port}; please check it",
           "Customer reported the service felt off for a minute; take a look")),
    _Spec(_s("corrupted_data_store", None,
             "data store checksum mismatch; the only 'fix' destroys data", "escalate"),
          _inject_corrupt, _check_corrupt,
          ("Health 503: data store checksum mismatch reported by the service",
           "Target refuses to serve: integrity check of its data store fails")),
)}


def catalogue() -> list[Scenario]:
    """Every scenario, in catalogue order."""
    return [spec.scenario for spec in _SPECS.values()]


def get_scenario(name: str) -> Scenario:
    return _spec(name).scenario


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except KeyError:
        raise UsageError(f"unknown scenario {name!r}",
                         f"choose one of: {', '.join(_SPECS)}") from None


def plan_incident(name: str, seed: int, *, ports: tuple[int, int, int] | None = None) -> Incident:
    """Decide everything the seed varies, without touching the disk.

    `ports` (service, alternative, kv) overrides the seeded ports, for backends that share
    the host's network and must pick free ones.
    """
    spec = _spec(name)
    rng = _rng(name, seed)
    service, alt = rng.sample(SERVICE_PORTS, 2)
    kv = rng.choice(KV_PORTS)
    if ports is not None:
        service, alt, kv = ports
    text = spec.texts[seed % len(spec.texts)].format(port=service)
    return Incident(
        scenario=name, seed=seed, skill_id=spec.scenario.skill_id,
        expected_outcome=spec.scenario.expected_outcome, text=text, service_port=service,
        kv_port=kv, stopped_programs=list(spec.stopped),
        params={"alt_port": str(alt), "lock_file": rng.choice(LOCK_FILES),
                "ready_marker": rng.choice(READY_MARKERS)},
    )


def materialize(incident: Incident, workdir: Path, *, python: str, target_dir: Path) -> None:
    """Write the incident's working directory with its fault in place, then fingerprint it."""
    spec = _spec(incident.scenario)
    write_base(workdir, incident, python=python, target_dir=target_dir)
    spec.inject(workdir, incident, _rng(f"fault:{incident.scenario}", incident.seed))
    incident.fingerprints = {name: _sha(workdir, rel) for name, rel in FINGERPRINTED.items()}


def ground_truth(incident: Incident, workdir: Path,
                 connect: Connector | None = None) -> GroundTruth:
    """Whether the root cause is really gone, judged from outside the sandbox.

    `connect(port, timeout)` opens a TCP connection to the sandbox's loopback (for checks of
    a dependency process); without it such checks fail closed. A file the check cannot read
    safely (a FIFO, a device, a link out of the workdir, too large) makes it red, with why.
    """
    try:
        return _spec(incident.scenario).check(workdir, incident, connect)
    except fileops.Refused as exc:
        return GroundTruth(False, f"ground truth could not be checked: {exc}",
                           {"checkable": False})
