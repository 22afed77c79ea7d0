"""What every part of the sandbox package shares: errors, results, the runtime directory."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sre_agent.errors import SreAgentError

# Process handles of kept sandboxes (left running on purpose): referenced here so they are not
# garbage-collected while running, and handed back to `attach` in the same process.
KEPT_PROCESSES: dict[int, subprocess.Popen[bytes]] = {}

# What a backend can declare it enforces; contract tests assert exactly these.
ISOLATION_PROPERTIES = ("fs", "pid", "net", "caps")

RUNTIME_ENV = "SRE_AGENT_RUNTIME_DIR"  # an explicit sandboxes directory (tests, benchmarks)
RUNTIME_HINT = "set SRE_AGENT_RUNTIME_DIR to a directory you can write"


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


def user_runtime_dir() -> tuple[Path, str]:
    """This user's private runtime directory (not created here), and why that one.

    `$XDG_RUNTIME_DIR/sre-agent` when XDG_RUNTIME_DIR names a directory of this user (one
    that belongs to someone else was inherited through su/runuser and is ignored), else
    `<tmp>/sre-agent-<uid>`: two users on one machine never share a directory.
    """
    uid = os.geteuid()
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        try:
            st = os.stat(xdg)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == uid:
            return Path(xdg) / "sre-agent", "XDG_RUNTIME_DIR"
    return Path(tempfile.gettempdir()) / f"sre-agent-{uid}", f"keyed by uid {uid}"


def _private_dir(path: Path) -> None:
    """Create `path` (mode 0700) or check the existing one is this user's and private."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SandboxError(f"runtime directory {path} cannot be created: "
                           f"{exc.strerror or exc}", RUNTIME_HINT) from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise SandboxError(f"runtime directory {path} is not a directory", RUNTIME_HINT)
    if st.st_uid != os.geteuid():
        raise SandboxError(f"runtime directory {path} belongs to uid {st.st_uid}, not to you "
                           f"(uid {os.geteuid()})", RUNTIME_HINT)
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)


def _writable_dir(path: Path) -> None:
    """An explicitly chosen directory: created when missing, and it must be writable."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError(f"runtime directory {path} cannot be created: "
                           f"{exc.strerror or exc}", RUNTIME_HINT) from None
    if not path.is_dir():
        raise SandboxError(f"runtime directory {path} is not a directory", RUNTIME_HINT)
    if not os.access(path, os.W_OK | os.X_OK):
        raise SandboxError(f"runtime directory {path} is not writable by uid {os.geteuid()}",
                           RUNTIME_HINT)


def runtime_root() -> Path:
    """Where sandbox directories (and the shell guard) live: outside the project, private to
    this user, hidden from every sandbox. Created on first use; a directory that cannot be
    created or written raises a one-line `SandboxError` naming it."""
    explicit = os.environ.get(RUNTIME_ENV)
    if explicit:
        path = Path(explicit)
        _writable_dir(path)
        return path
    base, _why = user_runtime_dir()
    _private_dir(base)
    sandboxes = base / "sandboxes"
    _private_dir(sandboxes)
    return sandboxes


def describe_runtime() -> tuple[bool, str]:
    """(usable?, where and why) for `doctor`."""
    try:
        path = runtime_root()
    except SandboxError as exc:
        return False, exc.one_line()
    why = f"{RUNTIME_ENV}" if os.environ.get(RUNTIME_ENV) else user_runtime_dir()[1]
    return True, f"{path} ({why})"
