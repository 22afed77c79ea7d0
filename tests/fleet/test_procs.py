"""How a fan-out splits its concurrency over local processes (sre_agent.fleet.procs); the
processes themselves are exercised with real processes in test_crash.py."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sre_agent.fleet.procs import WorkerProcs, auto_procs, shares

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


def test_worker_processes_tell_when_they_are_warm_and_a_dead_one_is_not_waited_for(
        tmp_path: Path) -> None:
    """The fan-out waits for its worker processes' warm-up before its first dispatch: a real
    worker process says so through its pipe once the SDK is imported; one that dies first
    (an unusable queue URL) closes the pipe, and the wait ends without it."""
    good = WorkerProcs(f"sqlite:///{tmp_path}/q.db", "fan-test", [1], log_dir=tmp_path / "l")
    bad = WorkerProcs("nope://queue", "fan-test", [1], log_dir=tmp_path / "l")
    try:
        good.start()
        bad.start()
        t0 = time.monotonic()
        assert bad.wait_ready(timeout_s=120) == 0
        assert time.monotonic() - t0 < 60  # ended by the closed pipe, not the time-out
        assert good.wait_ready(timeout_s=120) == 1
        assert good.procs[0].poll() is None  # ready and still running, claiming
    finally:
        assert good.stop() == [0]
        assert bad.stop() == [2]  # the usage error of the URL
