"""The sandbox's resource limits: the bounded working directory (`sandbox/limits.py`; the
cgroup limits are exercised by every sandbox test and tests/sandbox/test_rootless.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from sre_agent.sandbox import limits
from sre_agent.sandbox.limits import bound_workdir, release_workdir

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@root_only
def test_a_bounded_workdir_is_full_at_its_size_and_files_and_released_empty(
        tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    said = bound_workdir(work, size_bytes=1024 * 1024, files=64)
    try:
        assert said == "tmpfs of 1 MiB and 64 files" and os.path.ismount(work)
        with pytest.raises(OSError) as full:
            (work / "big").write_bytes(b"x" * (2 * 1024 * 1024))
        assert full.value.errno == errno.ENOSPC
        (work / "big").unlink()
        with pytest.raises(OSError) as many:
            for i in range(100):
                (work / f"f{i}").touch()
        assert many.value.errno == errno.ENOSPC
    finally:
        release_workdir(work)
    assert not os.path.ismount(work) and list(work.iterdir()) == []  # the host dir is empty


def test_unprivileged_the_workdir_stays_unbounded_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits.os, "geteuid", lambda: 1000)
    assert bound_workdir(tmp_path).startswith("unbounded: on the host's disk")
    assert not os.path.ismount(tmp_path)


def test_releasing_what_is_not_mounted_or_not_there_does_nothing(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    release_workdir(tmp_path / "kept")
    release_workdir(tmp_path / "gone")
    assert (tmp_path / "kept").is_dir()
