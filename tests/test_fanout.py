"""Fan-out: dispatch logic with a deterministic fake executor, plus two real runs.

The logic tests use `FakeExecutor` (no sandbox, no SDK): it returns the trace row each
scenario should produce after a short sleep, honours cancellation, and can raise `WorkerLost`
on chosen incidents. The real tests run at most 8 simulated incidents in ns sandboxes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet import (
    Fanout,
    FanoutEvent,
    FanoutRequest,
    IncidentQueue,
    PlannedIncident,
    WorkerLost,
    draw_incidents,
    make_executors,
    poisson_arrivals,
    run_fanout,
)
from sre_agent.incidents.catalogue import get_scenario
from sre_agent.runs.runner import RunHooks, RunRequest
from sre_agent.sandbox import check_backend
from sre_agent.sandbox.base import processes_under
from sre_agent.traces import TraceRow, read_traces

REPO = Path(__file__).resolve().parent.parent


def _row(req: RunRequest, status: str | None = None, *, up: bool | None = None,
         mutating: int = 0) -> TraceRow:
    expected = get_scenario(req.scenario).expected_outcome
    status = status or {"fixed": "fixed", "nothing_to_fix": "nothing_to_fix",
                        "escalate": "escalated"}[expected]
    up = status in ("fixed", "nothing_to_fix") if up is None else up
    return TraceRow(run_id=req.run_id or "x", started_at=time.time(), scenario=req.scenario,
                    seed=req.seed, status=status, service_up=up, steps=3, simulated=True,
                    ttm_s=float(req.seed) if status == "fixed" else None, duration_s=0.01,
                    highest_risk="LOW", extra={"expected_outcome": expected,
                                               "mutating_actions": mutating})


class FakeExecutor:
    """A deterministic executor: rows by expected outcome, WorkerLost on chosen seeds."""

    def __init__(self, name: str = "fake", capacity: int = 4, delay: float = 0.01,
                 lose_seeds: tuple[int, ...] = (), always_lose: bool = False,
                 status: dict[str, str] | None = None, block: threading.Event | None = None):
        self.name, self.capacity, self.delay = name, capacity, delay
        self.lose_seeds, self.always_lose = set(lose_seeds), always_lose
        self.status = status or {}
        self.block = block
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.calls: list[tuple[str, int]] = []

    def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.calls.append((req.scenario, req.seed))
        try:
            if hooks.on_progress:
                hooks.on_progress("planned", {"skill": get_scenario(req.scenario).skill_id})
                hooks.on_progress("sandbox_ready", {})
            if self.always_lose or req.seed in self.lose_seeds:
                raise WorkerLost(self.name, "connection refused")
            if self.block is not None:
                while not self.block.is_set() and not (hooks.cancel and hooks.cancel.is_set()):
                    time.sleep(0.005)
            elif hooks.cancel is not None:
                hooks.cancel.wait(self.delay)
            if hooks.cancel is not None and hooks.cancel.is_set():
                return _row(req, "cancelled", up=False)
            if hooks.on_progress:
                hooks.on_progress("verifying", {})
            return _row(req, self.status.get(req.scenario))
        finally:
            with self.lock:
                self.in_flight -= 1


def _req(**kw: Any) -> FanoutRequest:
    kw.setdefault("scorecard_every_s", 0)
    return FanoutRequest(template=RunRequest(scenario="*", trace_log=None), **kw)


# -- intake ---------------------------------------------------------------------------------------

def test_round_robin_draw_varies_seeds_and_random_draw_is_seeded() -> None:
    rr = draw_incidents(5, ["disk_full", "healthy_noop"], seed=10)
    assert [(p.scenario, p.seed) for p in rr] == [
        ("disk_full", 10), ("healthy_noop", 11), ("disk_full", 12), ("healthy_noop", 13),
        ("disk_full", 14)]
    names = ["disk_full", "healthy_noop", "stale_lockfile"]
    a = draw_incidents(30, names, seed=3, draw="random")
    assert a == draw_incidents(30, names, seed=3, draw="random")
    assert a != draw_incidents(30, names, seed=4, draw="random")
    assert {p.scenario for p in a} == set(names)


def test_poisson_arrival_count_is_within_bounds_and_seeded() -> None:
    arrivals = poisson_arrivals(5.0, 200.0, random.Random(1))
    assert 850 < len(arrivals) < 1150  # mean 1000, sd ~32
    assert arrivals == sorted(arrivals) and arrivals[-1] < 200.0
    assert arrivals == poisson_arrivals(5.0, 200.0, random.Random(1))
    assert arrivals != poisson_arrivals(5.0, 200.0, random.Random(2))


def test_queue_orders_by_severity_then_fifo_and_sheds_when_full() -> None:
    q = IncidentQueue(maxsize=3)
    plans = [PlannedIncident(index=i, scenario=s, seed=i, severity=sev) for i, (s, sev) in
             enumerate([("healthy_noop", "low"), ("stale_lockfile", "medium"),
                        ("disk_full", "high")])]
    assert all(q.offer(p) for p in plans)
    assert not q.offer(PlannedIncident(index=9, scenario="disk_full", seed=9, severity="high"))
    assert [q.pop().index for _ in range(3)] == [2, 1, 0]


# -- dispatch ---------------------------------------------------------------------------------

def test_concurrency_and_capacity_bounds_are_never_exceeded() -> None:
    a, b = FakeExecutor("a", capacity=1, delay=0.03), FakeExecutor("b", capacity=5, delay=0.03)
    summary = run_fanout(_req(incidents=16, concurrency=3), [a, b])
    assert a.peak <= 1 and a.peak + b.peak >= 2
    assert summary.peak_in_flight <= 3 and b.peak <= 3
    assert summary.total == 16 and len(a.calls) + len(b.calls) == 16
    assert summary.by_worker["a"].completed + summary.by_worker["b"].completed == 16


def test_summary_math_and_correctness() -> None:
    fake = FakeExecutor(status={"stale_lockfile": "not_fixed"})
    names = ["stale_lockfile", "disk_full", "healthy_noop", "corrupted_data_store"]
    summary = run_fanout(_req(incidents=8, concurrency=2, scenarios=names, seed=1), [fake])
    assert (summary.total, summary.fixed, summary.not_fixed, summary.escalated,
            summary.nothing_to_fix, summary.errors, summary.lost) == (8, 2, 2, 2, 2, 0, 0)
    assert summary.correct == 6 and summary.incorrect == 2
    assert summary.by_scenario["stale_lockfile"] == {"total": 2, "not_fixed": 2, "correct": 0}
    assert summary.by_scenario["disk_full"]["correct"] == 2
    # disk_full ran with seeds 2 and 6; the fake's ttm is the seed (nearest-rank percentile)
    assert (summary.ttm_p50_s, summary.ttm_p95_s) == (2.0, 6.0)
    assert summary.incidents_per_min > 0 and summary.wall_s > 0
    assert sorted(i.index for i in summary.incidents) == list(range(8))
    assert {g["scenario"] for g in summary.scorecard} == set(names)


def test_noop_with_a_mutation_is_not_correct() -> None:
    class Mutating(FakeExecutor):
        def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
            return _row(req, mutating=1)

    summary = run_fanout(_req(incidents=1, scenarios=["healthy_noop"]), [Mutating()])
    assert summary.nothing_to_fix == 1 and summary.correct == 0


def test_dispatch_is_severity_ordered_fifo_within() -> None:
    fake = FakeExecutor(capacity=1)
    names = ["healthy_noop", "stale_lockfile", "disk_full", "dependency_down"]
    run_fanout(_req(incidents=8, concurrency=1, scenarios=names), [fake])
    assert fake.calls == [("disk_full", 3), ("dependency_down", 4), ("disk_full", 7),
                          ("dependency_down", 8), ("stale_lockfile", 2),
                          ("stale_lockfile", 6), ("healthy_noop", 1), ("healthy_noop", 5)]


def test_worker_lost_requeues_the_incident_exactly_once() -> None:
    flaky = FakeExecutor("flaky", capacity=1, lose_seeds=(3,))
    steady = FakeExecutor("steady", capacity=1, delay=0.05)
    events: list[FanoutEvent] = []
    summary = run_fanout(_req(incidents=6, concurrency=2, scenarios=["stale_lockfile"]),
                         [flaky, steady], on_event=events.append)
    assert summary.total == 6 and summary.fixed == 6 and summary.lost == 0
    assert summary.requeued == 1 and summary.requeued_by_worker == {"flaky": 1}
    assert summary.by_worker["flaky"].dead and summary.by_worker["flaky"].lost_runs == 1
    # dead after its loss: the flaky worker got no more work
    assert flaky.calls[-1] == ("stale_lockfile", 3)
    assert steady.calls.count(("stale_lockfile", 3)) == 1
    requeued = next(i for i in summary.incidents if i.seed == 3)
    assert requeued.attempts == 2 and requeued.requeued_from == ["flaky"]
    assert requeued.worker == "steady" and requeued.run_id.endswith("-a2")
    assert [e.kind for e in events].count("worker_lost") == 1
    assert sum(1 for e in events if e.kind == "done") == 6  # each incident counted once


def test_incidents_are_lost_when_every_executor_dies() -> None:
    summary = run_fanout(_req(incidents=5, concurrency=2),
                         [FakeExecutor("a", always_lose=True), FakeExecutor("b",
                                                                            always_lose=True)])
    assert summary.total == 5 and summary.lost == 5 and summary.fixed == 0
    assert summary.requeued == 1  # the first loss re-queued; the second left nobody
    assert all(i.state == "lost" and i.error for i in summary.incidents)
    assert all(w.dead for w in summary.by_worker.values())


def test_executor_exception_ends_only_that_incident() -> None:
    class Broken(FakeExecutor):
        def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
            if req.seed == 2:
                raise UsageError("scenario broke")
            return super().run(req, hooks)

    summary = run_fanout(_req(incidents=3, scenarios=["disk_full"]), [Broken()])
    assert summary.errors == 1 and summary.fixed == 2 and summary.lost == 0
    assert "scenario broke" in next(i.error for i in summary.incidents if i.seed == 2)


def test_cancel_one_incident_leaves_the_others_running() -> None:
    block = threading.Event()
    fake = FakeExecutor(capacity=3, block=block)
    started: set[int] = set()
    box: dict[str, Fanout] = {}

    def on_event(e: FanoutEvent) -> None:
        if e.kind == "agent" and e.incident:
            started.add(e.incident.index)
            if started == {0, 1, 2}:
                assert box["f"].cancel(1)
                threading.Timer(0.1, block.set).start()

    fan = box["f"] = Fanout(_req(incidents=3, concurrency=3, scenarios=["disk_full"]), [fake],
                            on_event=on_event)
    summary = fan.run()
    assert summary.cancelled == 1 and summary.fixed == 2
    assert next(i for i in summary.incidents if i.index == 1).status == "cancelled"


def test_stop_cancels_in_flight_and_keeps_the_queue_unstarted() -> None:
    stop = threading.Event()
    fake = FakeExecutor(capacity=2, block=threading.Event())  # never released: only cancel

    def on_event(e: FanoutEvent) -> None:
        if e.kind == "agent":
            stop.set()

    summary = run_fanout(_req(incidents=5, concurrency=2, scenarios=["disk_full"]), [fake],
                         on_event=on_event, stop=stop)
    assert summary.interrupted and summary.lost == 0
    assert summary.cancelled >= 1 and summary.cancelled + summary.not_started == 5
    assert fake.in_flight == 0


def test_continuous_intake_sheds_when_the_queue_is_full() -> None:
    block = threading.Event()
    fake = FakeExecutor(capacity=1, block=block)

    def on_event(e: FanoutEvent) -> None:
        if e.kind == "intake_closed":
            block.set()

    req = _req(continuous=True, duration_s=0.4, arrival_rate=100.0, concurrency=1,
               queue_size=2, seed=7)
    summary = run_fanout(req, [fake], on_event=on_event)
    arrivals = len(poisson_arrivals(100.0, 0.4, random.Random("fanout-arrivals:7")))
    assert summary.mode == "continuous" and summary.arrivals == arrivals
    assert 1 <= summary.total <= 3 and summary.shed == arrivals - summary.total
    assert summary.lost == 0 and summary.total == summary.fixed + summary.escalated \
        + summary.nothing_to_fix


def test_rolling_scorecard_events() -> None:
    events: list[FanoutEvent] = []
    run_fanout(_req(incidents=4, concurrency=1, scorecard_every_s=0.01),
               [FakeExecutor(delay=0.03)], on_event=events.append)
    cards = [e.data["scorecard"] for e in events if e.kind == "scorecard"]
    assert cards and max(sum(g["runs"] for g in c) for c in cards) >= 1


def test_bad_requests_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--incidents"):
        run_fanout(_req(), [FakeExecutor()])
    with pytest.raises(UsageError, match="--duration-s"):
        run_fanout(_req(continuous=True, arrival_rate=1.0), [FakeExecutor()])
    with pytest.raises(UsageError, match="unknown scenario"):
        run_fanout(_req(incidents=1, scenarios=["nope"]), [FakeExecutor()])
    with pytest.raises(UsageError, match="unique"):
        run_fanout(_req(incidents=1), [FakeExecutor("x"), FakeExecutor("x")])


# -- remote executors (the factory) ---------------------------------------------------------------

def test_make_executors_without_the_remote_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sre_agent.fleet.remote", None)  # import fails as if missing
    with pytest.raises(UsageError, match="remote workers are unavailable"):
        make_executors(["http://127.0.0.1:1"], None)
    with pytest.raises(UsageError, match="not a worker URL"):
        make_executors(["127.0.0.1:1"], None)


def _fake_remote(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> None:
    class RemoteExecutor(FakeExecutor):
        def __init__(self, url: str, api_key: str | None = None) -> None:
            super().__init__(url, capacity=2, **kw)
            self.api_key = api_key

    monkeypatch.setitem(sys.modules, "sre_agent.fleet.remote",
                        types.SimpleNamespace(RemoteExecutor=RemoteExecutor))


def test_make_executors_builds_remote_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_remote(monkeypatch)
    ex = make_executors(["http://a:1/", "http://b:2", "http://a:1"], "k")
    assert [e.name for e in ex] == ["http://a:1", "http://b:2"]
    assert all(e.api_key == "k" for e in ex)  # type: ignore[attr-defined]


def test_cli_exit_codes_and_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from sre_agent.cli.main import main

    _fake_remote(monkeypatch)
    code = main(["fanout", "--incidents", "4", "--concurrency", "2", "--json",
                 "--workers", "http://w1:1,http://w2:2", "--scorecard-every", "0"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["total"] == 4 and out["correct"] == 4 and out["lost"] == 0
    assert set(out["by_worker"]) == {"http://w1:1", "http://w2:2"}
    for key in ("fixed", "not_fixed", "escalated", "nothing_to_fix", "errors", "ttm_p50_s",
                "ttm_p95_s", "incidents_per_min", "wall_s", "by_scenario"):
        assert key in out

    _fake_remote(monkeypatch, always_lose=True)
    code = main(["fanout", "--incidents", "2", "--json", "--workers", "http://w1:1"])
    assert code == 1 and json.loads(capsys.readouterr().out)["lost"] == 2

    assert main(["fanout", "--continuous", "--arrival-rate", "1"]) == 2
    assert main(["fanout", "--incidents", "2", "--scenarios", "nope"]) == 2
    assert "unknown scenario" in capsys.readouterr().err


# -- real fan-outs (ns sandboxes, the real SDK, the offline runbook policy) -----------------------

needs_ns = pytest.mark.skipif(not check_backend("ns")[0], reason="needs the ns sandbox backend")


@pytest.mark.e2e
@needs_ns
@pytest.mark.timeout(240)
def test_real_fanout_six_incidents(tmp_path: Path, runtime_dir: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from sre_agent.cli.main import main

    trace = tmp_path / "trace.jsonl"
    names = "stale_lockfile,healthy_noop,corrupted_data_store,disk_full,bad_env_config," \
            "dependency_down"
    code = main(["fanout", "--incidents", "6", "--concurrency", "3", "--simulate",
                 "--sandbox", "ns", "--scenarios", names, "--trace-log", str(trace),
                 "--verify-interval-s", "0.3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["total"] == 6 and out["correct"] == 6, [
        (i["scenario"], i["status"], i["error"]) for i in out["incidents"]]
    assert out["lost"] == 0 and out["peak_in_flight"] <= 3
    rows = list(read_traces(trace))
    assert sorted(r.run_id for r in rows) == sorted(i["run_id"] for i in out["incidents"])
    assert sorted(r.scenario for r in rows) == sorted(names.split(","))
    assert processes_under(runtime_dir) == []


def _children_running_bwrap(pid: int) -> bool:
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and cmd.startswith(b"bwrap"):
            return True
    return False


@pytest.mark.e2e
@needs_ns
@pytest.mark.timeout(180)
def test_sigint_cancels_tears_down_and_traces(tmp_path: Path, runtime_dir: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sre_agent.cli.main", "fanout", "--incidents", "4",
         "--concurrency", "2", "--simulate", "--sandbox", "ns", "--scenarios",
         "slow_response,permission_denied", "--trace-log", str(trace), "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90  # until a sandbox of the fan-out is up
    while time.monotonic() < deadline and proc.poll() is None \
            and not _children_running_bwrap(proc.pid):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] and summary["lost"] == 0
    started = {i["run_id"] for i in summary["incidents"] if i["started_at"] is not None}
    assert 1 <= len(started) <= 2
    assert summary["not_started"] == 4 - len(started)
    rows = list(read_traces(trace))
    assert {r.run_id for r in rows} == started, err
    assert all(r.status in ("cancelled", "fixed") for r in rows), [r.status for r in rows]
    assert processes_under(runtime_dir) == []
