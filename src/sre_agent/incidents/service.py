"""The built-in service's working directory: its healthy layout, and safe readers of it.

`write_base` lays out a healthy workdir (config, env, data, logs, the `svc` client) that a
fault is then applied to. The readers are what ground truths use: every read goes through
`workspace.fileops`, so a file the agent replaced by a FIFO, a device, a link out of the
workdir or a huge file is refused (`Refused`), never followed or waited on.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import random
from pathlib import Path

from sre_agent.incidents.model import Incident
from sre_agent.workspace import fileops

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

def seeded_rng(name: str, seed: int) -> random.Random:
    return random.Random(f"{name}:{seed}")


# Ground truths read files the agent could have replaced (by a FIFO, a device, a symlink out
# of the workdir, a huge file): every read goes through `fileops`, which refuses all of those
# without blocking and caps the size. A refusal propagates as `Refused` and `ground_truth()`
# turns it into a red verdict that says why.
MAX_CHECKED_BYTES = 16 * 1024 * 1024


def read_checked(workdir: Path, rel: str, max_bytes: int = MAX_CHECKED_BYTES) -> bytes | None:
    """A workdir file's bytes; None when it does not exist; `Refused` when it is unsafe."""
    try:
        return fileops.read_bytes(str(workdir), rel, max_bytes)
    except fileops.Refused:
        if fileops.lstat(str(workdir), rel) is None:
            return None
        raise


def sha_of(workdir: Path, rel: str) -> str:
    data = read_checked(workdir, rel)
    return "missing" if data is None else hashlib.sha256(data).hexdigest()


def config_text(port: int, kv_port: int, lock: str, marker: str, delay_ms: int = 0) -> str:
    return (
        "# target service configuration\n"
        "[server]\nhost = 127.0.0.1\n"
        f"port = {port}\nlock_file = {lock}\n\n"
        f"[features]\nresponse_delay_ms = {delay_ms}\n\n"
        f"[storage]\ndata_dir = var/data\nquota_mb = {QUOTA_MIB}\n\n"
        f"[readiness]\nmarker = {marker}\n\n"
        f"[dependencies]\nkv_port = {kv_port}\n"
    )


def env_text(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def store_doc(rng: random.Random) -> bytes:
    records = {f"order-{rng.randint(1000, 9999)}": rng.choice(["paid", "shipped", "open"])
               for _ in range(12)}
    checksum = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    return json.dumps({"records": records, "checksum": checksum}, indent=1).encode()


def read_config(workdir: Path) -> configparser.ConfigParser | None:
    data = read_checked(workdir, "etc/service.conf", 1024 * 1024)
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
    data = read_checked(workdir, "etc/service.env", 1024 * 1024)
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
    good = config_text(incident.service_port, incident.kv_port, p["lock_file"],
                        p["ready_marker"])
    (workdir / "etc" / "service.conf").write_text(good)
    (workdir / "etc" / "backup" / "service.conf.2026-10-02").write_text(
        good.replace("quota_mb = 64", "quota_mb = 48"))
    (workdir / "etc" / "backup" / "service.conf.2026-11-14").write_text(good)
    (workdir / "etc" / "service.env").write_text(env_text(REQUIRED_ENV))
    (workdir / "etc" / "service.env.example").write_text(
        "# every variable the service requires, with a safe value\n" + env_text(REQUIRED_ENV))
    (workdir / "etc" / "clients.conf").write_text(
        "# endpoint used by clients, load balancer and health probes\n"
        f"upstream = 127.0.0.1:{incident.service_port}\n")
    rng = seeded_rng("data", incident.seed)
    (workdir / "var" / "data" / "store.db").write_bytes(store_doc(rng))
    (workdir / "var" / "data" / "kv.json").write_text(json.dumps({"session:1": "alive"}))
    (workdir / "var" / "log" / "service.log.1").write_text("old rotated log\n" * 20)
    svc = workdir / "bin" / "svc"
    svc.write_text(f'#!/bin/sh\nSVC_WORKDIR="{workdir}" exec "{python}" '
                   f'"{target_dir / "svc.py"}" "$@"\n')
    svc.chmod(0o755)


# ---------------------------------------------------------------------------------------------


FINGERPRINTED = {
    "config": "etc/service.conf",
    "env": "etc/service.env",
    "store": "var/data/store.db",
    "kv": "var/data/kv.json",
}
