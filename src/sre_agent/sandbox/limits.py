"""Best-effort resource limits for a sandbox: cgroup v1 memory and pids controllers.

Each sandbox gets its own cgroup nested under the one this process is already in (cgroup v1
needs root; v2 without delegated controllers offers nothing here). What was enforced, and why
not when it was not, is reported rather than assumed: a machine without the controllers still
runs sandboxes, only without these limits.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_MEMORY_BYTES = 512 * 1024 * 1024
DEFAULT_PIDS = 256


@dataclass
class Limits:
    """The cgroups one sandbox was put in, and what each enforces."""

    enforced: dict[str, str] = field(default_factory=dict)  # controller -> limit
    skipped: dict[str, str] = field(default_factory=dict)  # controller -> why not
    paths: list[Path] = field(default_factory=list)

    def release(self) -> None:
        """Remove the (empty) cgroups once the sandbox's processes are gone."""
        for path in self.paths:
            try:
                path.rmdir()
            except OSError as exc:
                logger.debug("cgroup %s not removed: %s", path, exc)
        self.paths.clear()


def _own_cgroup(controller: str) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def apply_limits(name: str, pid: int, *, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                 pids: int = DEFAULT_PIDS) -> Limits:
    """Put `pid` (and so its future children) in fresh memory and pids cgroups."""
    limits = Limits()
    wanted = {"memory": ("memory.limit_in_bytes", str(memory_bytes)),
              "pids": ("pids.max", str(pids))}
    for controller, (knob, value) in wanted.items():
        parent = _own_cgroup(controller)
        base = CGROUP_ROOT / controller
        if parent is None or not (base / "cgroup.procs").exists():
            limits.skipped[controller] = "no cgroup v1 controller"
            continue
        path = base / parent.lstrip("/") / f"sre-agent-{name}"
        try:
            path.mkdir(exist_ok=True)
            limits.paths.append(path)
            (path / knob).write_text(value)
            (path / "cgroup.procs").write_text(str(pid))
            limits.enforced[controller] = value
        except OSError as exc:
            limits.skipped[controller] = f"{type(exc).__name__}: {exc.strerror or exc}"
    if os.geteuid() != 0 and not limits.enforced:
        limits.skipped.setdefault("all", "cgroup limits need root")
    return limits
