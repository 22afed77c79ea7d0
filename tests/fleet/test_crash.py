"""Crashes with real processes: kill -9 of a fan-out's orchestrator (then `--resume`), and of
a queue worker while a real Redis server (started here, on loopback) carries the fan-out to
two `sre-agent worker --queue` processes. Every accepted incident ends exactly once (one row
per incident in the trace log); no process of the killed one is left, and its sandbox
directories are gone after the next sandbox start or `sre-agent sandbox prune`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sre_agent.fleet.queue import open_queue
from sre_agent.sandbox.procs import processes_under
from tests.fleet.redis_server import RedisServer
from tests.support import needs_ns

REPO = Path(__file__).resolve().parents[2]
FAST = ["--simulate", "--sandbox", "ns", "--verify-interval-s", "0.3",
        "--verify-max-attempts", "6", "--lease-s", "3"]
SCENARIOS = "stale_lockfile,bad_env_config,port_mismatch"

pytestmark = [pytest.mark.e2e, needs_ns]


def wait_for(predicate: Callable[[], Any], what: str, limit_s: float) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `sre-agent ...` in its own process group; everything left is killed by pid."""
    started: list[subprocess.Popen[str]] = []

    def spawn(*args: str, name: str) -> subprocess.Popen[str]:
        with (tmp_path / f"{name}.err").open("w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "sre_agent.cli.main", *args],
                                    cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True,
                                    start_new_session=True)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def kill_and_check_gone(proc: subprocess.Popen[str], runtime_dir: Path) -> None:
    """kill -9, then: nothing of its process group and no sandbox process is left."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)

    def group_gone() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, "the killed process group to be gone", 15)
    wait_for(lambda: not processes_under(runtime_dir), "the sandbox processes to die", 15)


def sandboxes(runtime_dir: Path) -> set[str]:
    return {p.name for p in runtime_dir.iterdir() if (p / "work").is_dir()}


def owns_a_sandbox(runtime_dir: Path, pid: int) -> bool:
    """Whether process `pid` runs a sandbox now (its owner record; the harness writes it)."""
    for record in runtime_dir.glob("*/owner.json"):
        try:
            owner = json.loads(record.read_text()).get("pid")
        except (OSError, ValueError):
            continue  # being written or removed
        if owner == pid and (record.parent / "work").is_dir():
            return True
    return False


def rows_per_incident(trace: Path) -> Counter[str]:
    return Counter(json.loads(line)["extra"]["queue"]["id"]
                   for line in trace.read_text().splitlines())


def prune_and_check(runtime_dir: Path, orphans: set[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "sre_agent.cli.main", "sandbox", "prune"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not orphans & sandboxes(runtime_dir), "a killed run's sandbox directory is left"
    assert processes_under(runtime_dir) == []


@pytest.mark.timeout(300)
def test_killed_orchestrator_then_resume_ends_every_incident_once(
        tmp_path: Path, runtime_dir: Path, procs: Callable[..., subprocess.Popen[str]]) -> None:
    trace, url = tmp_path / "trace.jsonl", f"sqlite:///{tmp_path}/queue.db"
    # 6 incidents, 3 at once over two processes (the fan-out's 2 slots and a queue worker
    # process with 1: `--procs 2`, both starting together once warm): killed after the first
    # result, with at least two not yet started, so the fan-out's freed slot has one to run;
    # the worker process sees its parent gone and stops too.
    fan = procs("fanout", "--incidents", "6", "--concurrency", "3", "--scenarios", SCENARIOS,
                *FAST, "--queue", url, "--trace-log", str(trace), "--fanout-id", "fan-crash",
                "--procs", "2", "--json", name="fanout")
    # killed while it runs an incident itself (not only its queue worker process): that one's
    # lease must expire and the resume must run it again
    wait_for(lambda: trace.is_file() and trace.read_text().count("\n") >= 1
             and processes_under(runtime_dir) and owns_a_sandbox(runtime_dir, fan.pid),
             "a first result with the fan-out itself running an incident", 200)
    orphans = sandboxes(runtime_dir)
    kill_and_check_gone(fan, runtime_dir)
    before = rows_per_incident(trace)
    assert 1 <= sum(before.values()) < 6

    # the resuming process may take another concurrency than the stored one
    resumed = procs("fanout", "--resume", "fan-crash", "--queue", url, "--concurrency", "2",
                    "--json", name="resume")
    out, _ = resumed.communicate(timeout=200)
    assert resumed.returncode == 0, (tmp_path / "resume.err").read_text()[-3000:]
    summary = json.loads(out)
    assert summary["resumed"] and summary["total"] == 6 and summary["lost"] == 0
    assert summary["concurrency"] == 2
    assert summary["reclaimed"] >= 1  # what the killed orchestrator held ran again
    assert rows_per_incident(trace) == Counter({f"fan-crash-{i:03d}": 1 for i in range(6)})
    prune_and_check(runtime_dir, orphans)


@pytest.mark.timeout(300)
def test_killed_queue_worker_its_incidents_finish_on_the_other_redis(
        tmp_path: Path, runtime_dir: Path, redis_server: RedisServer,
        procs: Callable[..., subprocess.Popen[str]]) -> None:
    trace = tmp_path / "trace.jsonl"
    url = f"{redis_server.url}?prefix={{crash-{os.getpid()}}}"
    workers = {name: procs("worker", "--queue", url, "--slots", "2", "--name", name,
                           "--lease-s", "3", name=name)
               for name in ("wa", "wb")}
    fan = procs("fanout", "--incidents", "4", "--scenarios", SCENARIOS, *FAST, "--no-local",
                "--queue", url, "--trace-log", str(trace), "--fanout-id", "fan-redis",
                "--json", name="fanout")
    queue = open_queue(url)

    def held_by_wa() -> list[str]:
        return [i.id for i in queue.items("fan-redis", ["running"])
                if "/wa#" in (i.owner or "") and i.stage in ("agent", "verifying")]

    taken = wait_for(lambda: held_by_wa() and processes_under(runtime_dir) and held_by_wa(),
                     "worker wa to be running an incident", 200)
    orphans = sandboxes(runtime_dir)
    os.kill(workers["wa"].pid, signal.SIGKILL)
    workers["wa"].wait(10)
    out, _ = fan.communicate(timeout=200)
    assert fan.returncode == 0, (tmp_path / "fanout.err").read_text()[-3000:]
    summary = json.loads(out)
    assert summary["total"] == 4 and summary["lost"] == 0 and summary["reclaimed"] >= 1
    assert rows_per_incident(trace) == Counter({f"fan-redis-{i:03d}": 1 for i in range(4)})
    for item_id in taken:  # reclaimed after its lease and finished by the other worker
        item = queue.get(item_id)
        assert item is not None and item.state == "done" and item.attempts >= 2
        assert "/wb#" in item.result["worker"]  # type: ignore[index]
    os.kill(workers["wb"].pid, signal.SIGTERM)  # a graceful stop: nothing left to give back
    assert workers["wb"].wait(60) == 0
    wait_for(lambda: not processes_under(runtime_dir), "the sandbox processes to die", 15)
    prune_and_check(runtime_dir, orphans)
