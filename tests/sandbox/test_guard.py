"""The shell guard (`$SHELL` of every agent terminal): enters its incident, refuses elsewhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sre_agent.sandbox import create_sandbox
from sre_agent.sandbox.guard import install_shell_guard, universal_wrapper
from tests.support import needs_ns


def _shell(wrapper: Path, cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(wrapper), "-c", command], cwd=cwd, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_refuses_to_open_a_shell_outside_an_incident(tmp_path: Path) -> None:
    wrapper = universal_wrapper()
    marker = tmp_path / "ran-on-the-host"
    for cwd in (tmp_path, Path("/")):
        done = _shell(wrapper, cwd, f"touch {marker}")
        assert done.returncode == 126, done
        assert "refusing to open a shell outside an incident sandbox" in done.stderr
    assert not marker.exists()


def test_a_directory_named_work_without_the_sandbox_files_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "work"
    fake.mkdir(parents=True)
    (fake.parent / "shell").write_text("#!/bin/sh\ntouch /tmp/should-not-run\n")
    (fake.parent / "shell").chmod(0o755)  # no sandbox.json beside it: not a sandbox
    assert _shell(universal_wrapper(), fake, "true").returncode == 126


def test_install_points_shell_at_the_wrapper(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SHELL", "/bin/bash")
    path = install_shell_guard()
    assert os.environ["SHELL"] == str(path) and os.access(path, os.X_OK)
    assert universal_wrapper() == path  # written once, reused


@needs_ns
def test_inside_an_incident_workdir_it_enters_that_sandbox() -> None:
    with create_sandbox("healthy_noop", 1, "ns") as sandbox:
        sub = sandbox.workdir / "var" / "log"
        done = _shell(universal_wrapper(), sub, "hostname; pwd")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == "incident"
