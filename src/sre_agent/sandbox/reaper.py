"""Crash hygiene: sandboxes whose owner died are reaped (processes, cgroups, mounts, directory).

Every sandbox writes `owner.json` first thing: the pid (and its start time, so a reused pid
is not mistaken for the owner) of the process that keeps it alive: the run or fan-out that
started it, or the worker for sandboxes it created. A sandbox kept for a person
(`--keep-sandbox`) has no owner and is never reaped automatically. `reap_orphans()` runs before
every new sandbox and as `sre-agent sandbox prune`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sre_agent.sandbox.common import SandboxError, runtime_root
from sre_agent.sandbox.limits import release_workdir
from sre_agent.sandbox.procs import processes_under

Attach = Callable[[Path], Any]

logger = logging.getLogger(__name__)
OWNER_FILE = "owner.json"
OWNER_ENV = "SRE_AGENT_SANDBOX_OWNER"  # set by a worker for the sandboxes it creates
GRACE_S = 30.0  # a directory without owner.json younger than this may still be starting


class PruneReport(BaseModel):
    reaped: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)  # alive owners, or kept for a person
    errors: list[str] = Field(default_factory=list)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])


def write_owner(root: Path, *, kept: bool) -> None:
    if os.environ.get(OWNER_ENV):  # a worker's sandbox: it lives as long as the worker
        owner: int | None = int(os.environ[OWNER_ENV])
    else:
        owner = None if kept else os.getpid()
    record = {"pid": owner, "start": start_time(owner) if owner else None,
              "written_at": time.time()}
    (root / OWNER_FILE).write_text(json.dumps(record))


def owner_alive(root: Path) -> bool | None:
    """True/False for an owned sandbox; None when kept for a person (never reaped)."""
    try:
        record = json.loads((root / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return time.time() - root.stat().st_mtime < GRACE_S  # no record: starting, or broken
    pid = record.get("pid")
    if pid is None:
        return None
    return start_time(int(pid)) == record.get("start")


def _kill_processes_of(root: Path) -> None:
    """Every process whose command line or working directory is under `root`, by pid."""
    for line in processes_under(root):
        pid = int(line.split(":", 1)[0])
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def reap(root: Path, attach: Attach) -> None:
    """Tear down one orphaned sandbox: through its backend when it recorded its state,
    else by killing whatever still runs from its directory; then remove the directory."""
    if (root / "sandbox.json").exists():
        try:
            sandbox = attach(root)
            sandbox.keep = False
            sandbox.teardown()
        except (SandboxError, OSError, ValueError, KeyError) as exc:
            logger.warning("reaping %s through its backend failed: %s", root, exc)
    _kill_processes_of(root)
    deadline = time.monotonic() + 5
    while processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    release_workdir(root / "work")
    shutil.rmtree(root, ignore_errors=True)


def reap_orphans(attach: Attach, directory: Path | None = None) -> PruneReport:
    """Reap every sandbox under the runtime directory whose owner is gone (`attach` re-opens
    a sandbox from its directory through its backend)."""
    base = directory or runtime_root()
    report = PruneReport()
    if not base.is_dir():
        return report
    for root in sorted(p for p in base.iterdir() if p.is_dir()):
        if not (root / "work").is_dir() and not (root / OWNER_FILE).exists():
            continue  # not a sandbox directory
        try:
            alive = owner_alive(root)
        except OSError:
            continue  # removed while we looked
        if alive is not False:
            report.kept.append(root.name)
            continue
        try:
            reap(root, attach)
            report.reaped.append(root.name)
        except OSError as exc:
            report.errors.append(f"{root.name}: {exc}")
    return report


__all__ = ["OWNER_ENV", "PruneReport", "owner_alive", "reap", "reap_orphans", "write_owner"]
