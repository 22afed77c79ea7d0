"""Remote workers: real agent-servers on loopback, incidents fanned out across them.

Two `sre-agent worker` processes are started once for the module (each takes ~10-20 s to
answer `/alive`). The runbook policy is served on this process's loopback model server; the
workers' agent-servers call it, run the agent's terminals inside ns sandboxes on the worker,
and the worker's verifier gate gives the verdict.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet import (
    FanoutRequest,
    RemoteExecutor,
    WorkerLost,
    reap_sandboxes,
    run_fanout,
    wait_alive,
)
from sre_agent.incidents import VerifySettings
from sre_agent.net import free_port
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import read_traces
from tests.support import needs_ns, ns_usable

KEY = "test-worker-key-0123456789"
FAST = VerifySettings(consecutive_successes=2, max_attempts=4, interval_s=0.3, probe_timeout_s=1.5)


# ---- no server -------------------------------------------------------------------------------

def test_unreachable_worker_is_lost_before_anything_starts(tmp_path: Path) -> None:
    executor = RemoteExecutor(f"http://127.0.0.1:{free_port()}", KEY, health_timeout_s=1)
    req = RunRequest(scenario="port_mismatch", simulate=True, trace_log=tmp_path / "t.jsonl")
    with pytest.raises(WorkerLost) as info:
        executor.run(req, RunHooks())
    assert info.value.worker == executor.url
    assert not (tmp_path / "t.jsonl").exists()  # no row: the fan-out re-queues it
    with pytest.raises(UsageError):
        RemoteExecutor("127.0.0.1:8000")


class FakeWorkspace:
    """A fake (unit test): the worker dies as the sandbox is being created."""

    def execute_command(self, *args: object, **kwargs: object) -> None:
        import httpx

        raise httpx.ConnectError("[Errno 111] Connection refused")

    def reset_client(self) -> None:
        pass


def test_a_worker_that_dies_while_creating_the_sandbox_is_lost_not_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    executor = RemoteExecutor(f"http://127.0.0.1:{free_port()}", KEY, health_timeout_s=1)
    answers = iter([True])  # alive when the incident starts, gone after
    monkeypatch.setattr(executor, "alive", lambda: next(answers, False))
    monkeypatch.setattr(executor, "_workspace", lambda working_dir: FakeWorkspace())
    req = RunRequest(scenario="port_mismatch", simulate=True, trace_log=tmp_path / "t.jsonl")
    with pytest.raises(WorkerLost) as info:
        executor.run(req, RunHooks())
    assert info.value.worker == executor.url
    assert "Connection refused" in str(info.value)
    assert not (tmp_path / "t.jsonl").exists()


# ---- real workers ---------------------------------------------------------------------------

@dataclass
class LiveWorker:
    url: str
    workdir: Path
    proc: subprocess.Popen[bytes]

    def server_pids(self) -> list[int]:
        """The agent-server child of the `sre-agent worker` process."""
        found = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            found += [int(p) for p in task.read_text().split()]
        return found


def _start_worker(root: Path, name: str, runtime_dir: Path) -> LiveWorker:
    env = {k: v for k, v in os.environ.items()
           if not any(h in k.upper() for h in ("KEY", "TOKEN", "SECRET", "PASSWORD"))}
    env.update({"SRE_AGENT_WORKER_API_KEY": KEY, "SRE_AGENT_RUNTIME_DIR": str(runtime_dir),
                "SRE_AGENT_NO_DOTENV": "1"})
    workdir = root / name
    workdir.mkdir()
    port = free_port()
    with (root / f"{name}.stderr").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sre_agent.cli.main", "worker", "--port", str(port),
             "--workdir", str(workdir)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True)
    return LiveWorker(f"http://127.0.0.1:{port}", workdir, proc)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory,
            runtime_dir: Path) -> Iterator[list[LiveWorker]]:
    ok, why = ns_usable()
    if not ok and os.environ.get("CI") != "true":
        pytest.skip(f"needs the ns sandbox backend: {why} (install: apt-get install -y "
                    "bubblewrap)")
    root = tmp_path_factory.mktemp("workers")
    live = [_start_worker(root, name, runtime_dir) for name in ("a", "b")]
    try:
        for worker in live:
            wait_alive(worker.url, 240, proc=None)
        yield live
    finally:
        for worker in live:  # a clean stop: SIGTERM to the worker, which stops its server
            if worker.proc.poll() is None:
                os.kill(worker.proc.pid, signal.SIGTERM)
        for worker in live:
            try:
                worker.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.proc.pid, signal.SIGKILL)
                worker.proc.wait(5)
            reap_sandboxes(worker.workdir)  # a worker killed by a test leaves sandboxes


@needs_ns
@pytest.mark.e2e
def test_one_incident_runs_on_a_worker(workers: list[LiveWorker], tmp_path: Path,
                                       runtime_dir: Path) -> None:
    worker = workers[1]
    trace_log = tmp_path / "trace.jsonl"
    req = RunRequest(scenario="port_mismatch", seed=3, simulate=True, sandbox="ns",
                     verify=FAST, trace_log=trace_log, run_id="remote-one")
    stages: list[str] = []
    row = RemoteExecutor(worker.url, KEY).run(
        req, RunHooks(on_progress=lambda stage, _info: stages.append(stage)))
    assert row.worker == worker.url and row.model == "runbook" and row.sandbox_backend == "ns"
    assert row.status == "fixed" and row.service_up and row.verdict is not None
    assert row.verdict.ground_truth_ok
    terminal = [a for a in row.actions if a.tool == "terminal"]
    assert terminal and all(a.observation is not None and a.reasons for a in terminal)
    assert any(a.mutating for a in terminal)
    assert {"planned", "sandbox_ready", "action", "verifying", "done"} <= set(stages)
    [logged] = list(read_traces(trace_log))
    assert logged.run_id == "remote-one" and logged.worker == worker.url
    # The sandbox ran on the worker and is gone: no directory, nothing recorded as owned.
    assert not (runtime_dir / row.incident_id).exists()
    assert not list((worker.workdir / "sandboxes").glob("*"))


@needs_ns
@pytest.mark.e2e
def test_a_vague_alert_is_triaged_on_the_worker(workers: list[LiveWorker],
                                               tmp_path: Path) -> None:
    """The look runs on the worker, in the incident's sandbox; the orchestrator routes with it."""
    req = RunRequest(scenario="stale_lock_behind_disk_alert", seed=2, simulate=True,
                     sandbox="ns", verify=FAST, trace_log=tmp_path / "trace.jsonl",
                     incident_text="pager: orders-api down")
    stages: list[str] = []
    row = RemoteExecutor(workers[0].url, KEY).run(
        req, RunHooks(on_progress=lambda stage, _info: stages.append(stage)))
    assert "triaged" in stages and row.worker == workers[0].url
    assert row.skill_id == "stale-lockfile" and row.route_source == "evidence"
    assert row.extra["triage"]["checks"] > 0
    assert row.extra["triage"]["decision"]["skill"] == "stale-lockfile"
    assert row.status == "fixed" and row.verdict is not None and row.verdict.ground_truth_ok


@needs_ns
@pytest.mark.e2e
def test_a_killed_worker_requeues_its_incidents_and_each_finishes_once(
        workers: list[LiveWorker], tmp_path: Path, runtime_dir: Path) -> None:
    victim, survivor = workers
    server_pids = victim.server_pids()
    assert server_pids, "the worker should have started its agent-server"
    trace_log = tmp_path / "trace.jsonl"
    template = RunRequest(scenario="*", simulate=True, sandbox="ns", verify=FAST,
                          trace_log=trace_log)
    request = FanoutRequest(incidents=4, concurrency=4, template=template,
                            scenarios=["port_mismatch", "stale_lockfile"])
    executors = [RemoteExecutor(w.url, KEY, capacity=2) for w in workers]
    killed: list[float] = []

    def on_event(event: object) -> None:
        incident = getattr(event, "incident", None)
        if (getattr(event, "kind", "") == "action" and not killed and incident is not None
                and incident.worker == victim.url):
            os.killpg(victim.proc.pid, signal.SIGKILL)  # mid-conversation, no warning
            killed.append(time.monotonic())

    summary = run_fanout(request, executors, on_event=on_event)

    assert killed, "the victim worker never ran an action"
    assert summary.requeued >= 1 and summary.by_worker[victim.url].dead
    rows = list(read_traces(trace_log))
    # the attempt suffix only (`-a2`): the fan-out id's random hex may itself start with "a"
    per_incident = Counter(re.sub(r"-a\d+$", "", r.run_id) for r in rows)
    assert len(per_incident) == 4 and set(per_incident.values()) == {1}
    requeued = [r for r in rows if r.run_id.endswith("-a2")]
    assert requeued and all(r.worker == survivor.url for r in requeued)
    assert all(r.status == "fixed" and r.service_up for r in rows), \
        [(r.run_id, r.status, r.reason) for r in rows]
    # The killed worker took its agent-server with it (parent-death signal) ...
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in [victim.proc.pid, *server_pids]):
        assert time.monotonic() < deadline, "the victim's agent-server outlived it"
        time.sleep(0.1)
    # ... and left its kept sandboxes, which a worker reaps (at start-up or stop).
    orphans = sorted(p.name for p in (victim.workdir / "sandboxes").glob("*"))
    assert reap_sandboxes(victim.workdir) == orphans
    assert not any((runtime_dir / sid).exists() for sid in orphans)
    assert not any((runtime_dir / r.incident_id).exists() for r in rows)
