"""The scenario catalogue: fault injectors and the ground truth that judges them.

A scenario writes one incident's working directory (config, env, data, logs) with its fault
already in place, varied by a seed (which file, port, variable, flag), and keeps, outside the
sandbox, what it needs to tell later whether the root cause is really gone. The ground truth
never trusts the service's own answers alone: it reads the files the fault lives in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sre_agent.errors import UsageError
from sre_agent.incidents import faults
from sre_agent.incidents.model import Connector, GroundTruth, Incident, Outcome, Scenario
from sre_agent.incidents.service import (
    FINGERPRINTED,
    KV_PORTS,
    LOCK_FILES,
    READY_MARKERS,
    SERVICE_PORTS,
    seeded_rng,
    sha_of,
    write_base,
)
from sre_agent.workspace import fileops


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
          faults.inject_stale_lock, faults.check_stale_lock,
          ("Service on 127.0.0.1:{port} is down: it exits right after start; logs mention a "
           "lock file held by another process",
           "[FIRING] TargetDown: target not starting, stale lock file suspected after a crash")),
    _Spec(_s("bad_env_config", "bad-env-config",
             "a required variable missing from the service's env file"),
          faults.inject_bad_env, faults.check_bad_env,
          ("Target service crash-loops after deploy: missing required environment variable",
           "Deploy broke the service: startup fails, env config incomplete")),
    _Spec(_s("readiness_probe_fail", "readiness-probe-fail",
             "process up, /ready failing because the readiness marker cannot be written"),
          faults.inject_readiness, faults.check_readiness,
          ("Readiness probe failing on 127.0.0.1:{port}/ready while liveness passes",
           "[FIRING] TargetNotReady: pod not ready, /ready returns 503, process is up")),
    _Spec(_s("port_mismatch", "port-mismatch",
             "the service binds a different port than the one clients and probes use"),
          faults.inject_port, faults.check_port,
          ("Health checks to 127.0.0.1:{port} get connection refused although the process is "
           "running",
           "Clients cannot connect to the service port; service listening on the wrong port")),
    _Spec(_s("disk_full", "disk-full",
             "the data volume over its quota (rotated logs, spool/temp files)"),
          faults.inject_disk, faults.check_disk,
          ("Writes failing with No space left on device on the target data volume",
           "[FIRING] DiskQuotaExceeded: target data volume over quota, health is 503")),
    _Spec(_s("config_syntax_error", "config-syntax-error",
             "the config file is corrupted; the service crash-loops; a last-known-good copy "
             "exists"),
          faults.inject_config_syntax, faults.check_config_syntax,
          ("Service crash-looping after a config change: config parse error",
           "Target fails to start: configuration file syntax error after bad merge")),
    _Spec(_s("dependency_down", "dependency-down",
             "the backing key-value store in the same sandbox is stopped"),
          faults.inject_none, faults.check_dependency,
          ("Health endpoint 503: dependency kv unreachable, upstream key-value store down",
           "[FIRING] TargetDependencyDown: backend cache/kv store not responding"),
          stopped=("kv",)),
    _Spec(_s("permission_denied", "permission-denied",
             "the data file/directory lost its permissions"),
          faults.inject_permission, faults.check_permission,
          ("Service cannot read its data: permission denied on the data store",
           "Health 503 after a chmod in a maintenance script: EACCES on data files")),
    _Spec(_s("slow_response", "slow-response",
             "a delay flag makes every response slower than the probe timeout"),
          faults.inject_slow, faults.check_slow,
          ("Health checks timing out: every response takes several seconds",
           "[FIRING] TargetHighLatency: p99 latency above 3s on /health")),
    _Spec(_s("healthy_noop", None, "nothing is wrong (false alarm)", "nothing_to_fix"),
          faults.inject_none, faults.check_untouched,
          ("Alert fired for the target service on 127.0.0.1:{port}; please check it",
           "Customer reported the service felt off for a minute; take a look")),
    _Spec(_s("corrupted_data_store", None,
             "data store checksum mismatch; the only 'fix' destroys data", "escalate"),
          faults.inject_corrupt, faults.check_corrupt,
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
    rng = seeded_rng(name, seed)
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
    spec.inject(workdir, incident, seeded_rng(f"fault:{incident.scenario}", incident.seed))
    incident.fingerprints = {name: sha_of(workdir, rel) for name, rel in FINGERPRINTED.items()}


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
