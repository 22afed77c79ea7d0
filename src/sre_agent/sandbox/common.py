"""What every part of the sandbox package shares: errors, results, the runtime directory."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sre_agent.errors import SreAgentError

# Process handles of kept sandboxes (left running on purpose): referenced here so they are not
# garbage-collected while running, and handed back to `attach` in the same process.
KEPT_PROCESSES: dict[int, subprocess.Popen[bytes]] = {}

# What a backend can declare it enforces; contract tests assert exactly these.
ISOLATION_PROPERTIES = ("fs", "pid", "net", "caps")


class SandboxError(SreAgentError):
    """A sandbox could not be created, entered or torn down."""


@dataclass
class ExecResult:
    exit_code: int
    output: str
    duration_s: float


@dataclass
class SandboxTimings:
    created_at: float = 0.0
    ready_at: float = 0.0
    torn_down_at: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def runtime_root() -> Path:
    """Where sandbox directories live (outside the project, hidden from other sandboxes)."""
    return Path(os.environ.get("SRE_AGENT_RUNTIME_DIR", "/tmp/sre-agent/sandboxes"))
