"""Running the project as an unprivileged user (`nobody`) from a root test run.

The project's interpreter usually lives under root's home (mode 0700), so `nobody` gets
traversal (o+x, never read) on the directories leading to it for as long as the fixture
lives, and the original modes are restored afterwards. For cgroup limits, root delegates a
memory and a pids cgroup to the user (what an administrator would do once), and the user's
processes start inside them; `delegate=False` runs without (limits are then skipped).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sre_agent import paths

USER = "nobody"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_cgroup(controller: str) -> str | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


@dataclass
class Background:
    """A process started by `Unprivileged.start` (our child, its own session)."""

    proc: subprocess.Popen[str]
    out: IO[str]

    def wait(self, timeout: float) -> tuple[int, str]:
        """(exit code, output); on timeout its whole session is killed (by its pgid)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            code = -signal.SIGKILL
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        return code, text


@dataclass
class Unprivileged:
    """Run commands as USER; undo every host change with `restore()`."""

    uid: int
    gid: int
    home: Path
    modes: dict[Path, int] = field(default_factory=dict)  # directory -> original mode
    cgroups: list[Path] = field(default_factory=list)

    @classmethod
    def make(cls) -> Unprivileged:
        entry = pwd.getpwnam(USER)
        home = Path(tempfile.mkdtemp(prefix="sa-nb-", dir="/tmp"))
        os.chown(home, entry.pw_uid, entry.pw_gid)
        home.chmod(0o755)
        user = cls(entry.pw_uid, entry.pw_gid, home)
        try:
            user._traversable()
            user._delegate()
        except BaseException:
            user.restore()
            raise
        return user

    def _traversable(self) -> None:
        """o+x on every directory leading to the interpreter and the project."""
        targets = [Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix),
                   Path(sys.base_prefix), paths.project_root()]
        for target in targets:
            for directory in [target, *target.parents]:
                if not directory.is_dir() or directory in self.modes:
                    continue
                mode = stat.S_IMODE(directory.stat().st_mode)
                if not mode & stat.S_IXOTH:
                    self.modes[directory] = mode
                    directory.chmod(mode | stat.S_IXOTH)

    def _delegate(self) -> None:
        for controller in ("memory", "pids"):
            own = _own_cgroup(controller)
            base = CGROUP_ROOT / controller
            if own is None or not (base / "cgroup.procs").exists():
                continue
            path = base / own.lstrip("/") / f"sre-agent-test-{secrets.token_hex(4)}"
            path.mkdir()
            self.cgroups.append(path)
            for item in (path, path / "cgroup.procs", path / "tasks"):
                os.chown(item, self.uid, self.gid)

    def env(self, **extra: str) -> dict[str, str]:
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
               "HOME": str(self.home), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "UV_CACHE_DIR": str(self.home / "uv-cache"), "SRE_AGENT_NO_DOTENV": "1",
               "SRE_AGENT_ARTIFACTS_DIR": str(self.home / "artifacts")}
        if os.environ.get("CI"):
            env["CI"] = os.environ["CI"]  # unusable ns sandboxes fail instead of skipping
        return {**env, **extra}

    def _command(self, argv: list[str], delegate: bool) -> list[str]:
        prefix: list[str] = []
        if delegate and self.cgroups:  # start inside the delegated cgroups
            prefix = ["/bin/sh", "-c", 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; '
                      'shift; done; shift; exec "$@"', "sh",
                      *(str(c / "cgroup.procs") for c in self.cgroups), "--"]
        return [*prefix, "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}",
                "--clear-groups", "--", *argv]

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
            delegate: bool = True) -> subprocess.CompletedProcess[str]:
        """`argv` as USER (no supplementary groups), from the project's directory."""
        return subprocess.run(self._command(argv, delegate), env=env or self.env(),
                              cwd=paths.project_root(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self, argv: list[str], *, env: dict[str, str] | None = None,
              delegate: bool = True) -> Background:
        """`argv` as USER in the background, its output in a file (see `Background.wait`)."""
        out = (self.home / f"out-{secrets.token_hex(4)}.log").open("w+")
        proc = subprocess.Popen(self._command(argv, delegate), env=env or self.env(),
                                cwd=paths.project_root(), stdout=out, stderr=subprocess.STDOUT,
                                text=True, stdin=subprocess.DEVNULL, start_new_session=True)
        return Background(proc, out)

    def restore(self) -> list[str]:
        """Undo the changes; returns what could not be undone."""
        problems = []
        for directory, mode in self.modes.items():
            directory.chmod(mode)
        self.modes.clear()
        for path in self.cgroups:
            for nested in sorted(path.glob("*/"), reverse=True):
                if nested.is_dir():
                    try:
                        nested.rmdir()
                    except OSError as exc:
                        problems.append(f"{nested}: {exc}")
            try:
                path.rmdir()
            except OSError as exc:
                problems.append(f"{path}: {exc}")
        self.cgroups.clear()
        shutil.rmtree(self.home, ignore_errors=True)
        return problems
