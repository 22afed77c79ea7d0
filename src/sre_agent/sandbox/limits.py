"""Best-effort resource limits for a sandbox: cgroup v1 memory and pids controllers, and a
size-bounded working directory.

Each sandbox gets its own cgroups nested under the ones this process is already in. They are
made (limits written) before the sandbox starts; the sandbox's holder joins them before it
forks anything, so every process of the sandbox is inside, and entered commands join them too.
Creating them needs root, or a cgroup delegated to this user (root chowns the directory the
harness runs in, with its `cgroup.procs`); cgroup v2 without delegated controllers offers
nothing. What was enforced, and why not when it was not, is reported rather than assumed: a
machine without them still runs sandboxes, only without these limits.

The working directory is bind-mounted into the sandbox from the host, so without a bound
whatever runs inside could fill the host's disk through it (one `dd` loop), and with it every
other incident's directory, the trace log and the queue. As root, `bound_workdir` mounts a
tmpfs there first, capped in bytes and in files: a full one says ENOSPC inside and nothing
else notices. (Its pages are memory: those written inside are charged to the sandbox's memory
cgroup.) Unprivileged, it cannot be mounted and the run says so, like the cgroups.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_MEMORY_BYTES = 512 * 1024 * 1024
DEFAULT_PIDS = 256
KNOBS = {"memory": "memory.limit_in_bytes", "pids": "pids.max"}
WORKDIR_BYTES = 256 * 1024 * 1024  # an incident's working directory: the packs use < 10 MiB
WORKDIR_FILES = 65536  # ... and its files (inodes), so a million empty files cannot fill it
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 0x2, 0x4, 0x2


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

    def report(self) -> dict[str, dict[str, str]]:
        return {"enforced": dict(self.enforced), "skipped": dict(self.skipped)}


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


def _parent(controller: str) -> tuple[Path | None, str]:
    """The cgroup directory a sandbox's cgroup would nest under, or why there is none."""
    own = _own_cgroup(controller)
    base = CGROUP_ROOT / controller
    if own is None or not (base / "cgroup.procs").exists():
        return None, "no cgroup v1 controller"
    parent = base / own.lstrip("/")
    if not os.access(parent, os.W_OK | os.X_OK):
        return None, f"{parent} is not writable by uid {os.geteuid()}"
    return parent, ""


def available() -> Limits:
    """Which limits sandboxes would get here (nothing is created): for `doctor`."""
    limits = Limits()
    for controller in KNOBS:
        parent, why = _parent(controller)
        if parent is None:
            limits.skipped[controller] = why
        else:
            limits.enforced[controller] = "available"
    return limits


def prepare_limits(name: str, *, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                   pids: int = DEFAULT_PIDS) -> Limits:
    """Fresh memory and pids cgroups for the sandbox `name`, limits written, nobody in them
    yet (the sandbox's holder joins them first thing)."""
    limits = Limits()
    values = {"memory": str(memory_bytes), "pids": str(pids)}
    for controller, knob in KNOBS.items():
        parent, why = _parent(controller)
        if parent is None:
            limits.skipped[controller] = why
            continue
        path = parent / f"sre-agent-{name}"
        try:
            path.mkdir(exist_ok=True)
        except OSError as exc:
            limits.skipped[controller] = f"{type(exc).__name__}: {exc.strerror or exc}"
            continue
        try:
            (path / knob).write_text(values[controller])
        except OSError as exc:
            limits.skipped[controller] = f"{type(exc).__name__}: {exc.strerror or exc}"
            Limits(paths=[path]).release()
            continue
        limits.paths.append(path)
        limits.enforced[controller] = values[controller]
    return limits


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def bound_workdir(workdir: Path, size_bytes: int = WORKDIR_BYTES,
                  files: int = WORKDIR_FILES) -> str:
    """Mount a tmpfs of at most `size_bytes` and `files` at `workdir` (an empty directory the
    harness just made); returns what bounds the directory now, for the run to report."""
    if os.geteuid() != 0:
        return "unbounded: on the host's disk (a bounded tmpfs needs root)"
    options = f"size={size_bytes},nr_inodes={files},mode=0755".encode()
    if _libc().mount(b"tmpfs", os.fsencode(workdir), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                     options) != 0:
        return f"unbounded: mounting a tmpfs failed ({os.strerror(ctypes.get_errno())})"
    return f"tmpfs of {size_bytes // (1024 * 1024)} MiB and {files} files"


def release_workdir(workdir: Path) -> None:
    """Unmount what `bound_workdir` mounted (lazily: nothing can hold it); nothing to do when
    `workdir` is not a mount point (unprivileged, kept, already released or never made)."""
    try:
        if not os.path.ismount(workdir):
            return
    except OSError:
        return
    if _libc().umount2(os.fsencode(workdir), _MNT_DETACH) != 0:
        logger.warning("unmounting %s failed: %s", workdir, os.strerror(ctypes.get_errno()))
