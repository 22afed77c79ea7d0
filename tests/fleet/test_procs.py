"""How a fan-out splits its concurrency over local processes (sre_agent.fleet.procs); the
processes themselves are exercised with real processes in test_crash.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sre_agent.fleet.procs import auto_procs, shares

REPO = Path(__file__).resolve().parents[2]


def test_auto_is_one_process_per_core_with_at_least_eight_incidents_each() -> None:
    assert auto_procs(4, cpus=2) == 1
    assert auto_procs(15, cpus=2) == 1
    assert auto_procs(16, cpus=2) == 2
    assert auto_procs(64, cpus=2) == 2
    assert auto_procs(64, cpus=16) == 8
    assert auto_procs(1, cpus=None) == 1


def test_shares_add_up_and_differ_by_one_at_most() -> None:
    for concurrency in range(1, 40):
        for procs in range(1, 6):
            split = shares(concurrency, procs)
            assert sum(split) == concurrency
            assert max(split) - min(split) <= 1 and min(split) >= 1
    assert shares(32, 2) == [16, 16]
    assert shares(3, 2) == [2, 1]
    assert shares(2, 5) == [1, 1]  # never a process with nothing to run


def test_procs_with_remote_workers_or_no_local_is_refused_before_work(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sre_agent.cli.main", "fanout", "--incidents", "2",
         "--simulate", "--no-local", "--procs", "2", "--queue",
         f"sqlite:///{tmp_path}/q.db", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--procs" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "q.db").exists()  # refused before the queue was opened
