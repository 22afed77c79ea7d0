"""The dispatcher (`Fanout`, `run_fanout`) with a deterministic fake executor: bounds, order,
lost workers, cancellation, stop, continuous intake, rolling scorecards, bad requests."""

from __future__ import annotations

import random
import threading

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet import Fanout, FanoutEvent, poisson_arrivals, run_fanout
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import TraceAction, TraceRow
from tests.fleet.fakes import FakeExecutor, fanout_request


def test_concurrency_and_capacity_bounds_are_never_exceeded() -> None:
    a, b = FakeExecutor("a", capacity=1, delay=0.03), FakeExecutor("b", capacity=5, delay=0.03)
    summary = run_fanout(fanout_request(incidents=16, concurrency=3), [a, b])
    assert a.peak <= 1 and a.peak + b.peak >= 2
    assert summary.peak_in_flight <= 3 and b.peak <= 3
    assert summary.total == 16 and len(a.calls) + len(b.calls) == 16
    assert summary.by_worker["a"].completed + summary.by_worker["b"].completed == 16


def test_dispatch_is_severity_ordered_fifo_within() -> None:
    fake = FakeExecutor(capacity=1)
    names = ["healthy_noop", "stale_lockfile", "disk_full", "dependency_down"]
    run_fanout(fanout_request(incidents=8, concurrency=1, scenarios=names), [fake])
    assert fake.calls == [("disk_full", 3), ("dependency_down", 4), ("disk_full", 7),
                          ("dependency_down", 8), ("stale_lockfile", 2),
                          ("stale_lockfile", 6), ("healthy_noop", 1), ("healthy_noop", 5)]


def test_worker_lost_requeues_the_incident_exactly_once() -> None:
    flaky = FakeExecutor("flaky", capacity=1, lose_seeds=(3,))
    steady = FakeExecutor("steady", capacity=1, delay=0.05)
    events: list[FanoutEvent] = []
    summary = run_fanout(fanout_request(incidents=6, concurrency=2,
                                        scenarios=["stale_lockfile"]),
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
    summary = run_fanout(fanout_request(incidents=5, concurrency=2),
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

    summary = run_fanout(fanout_request(incidents=3, scenarios=["disk_full"]), [Broken()])
    assert summary.errors == 1 and summary.fixed == 2 and summary.lost == 0
    assert "scenario broke" in next(i.error for i in summary.incidents if i.seed == 2)


def test_actions_raise_the_incident_highest_risk() -> None:
    class Acting(FakeExecutor):
        def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
            assert hooks.on_progress is not None
            for step, risk in enumerate(("LOW", "HIGH", "MEDIUM"), 1):
                hooks.on_progress("action", {"action": TraceAction(
                    step=step, tool="terminal", command="true", risk=risk)})
            return super().run(req, hooks)

    events: list[FanoutEvent] = []
    run_fanout(fanout_request(incidents=1, scenarios=["disk_full"]), [Acting()],
               on_event=events.append)
    seen = [(e.incident.steps, e.incident.highest_risk) for e in events
            if e.kind == "action" and e.incident]
    assert seen == [(1, "LOW"), (2, "HIGH"), (3, "HIGH")]


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

    fan = box["f"] = Fanout(fanout_request(incidents=3, concurrency=3, scenarios=["disk_full"]),
                            [fake], on_event=on_event)
    summary = fan.run()
    assert summary.cancelled == 1 and summary.fixed == 2
    assert next(i for i in summary.incidents if i.index == 1).status == "cancelled"


def test_stop_cancels_in_flight_and_keeps_the_queue_unstarted() -> None:
    stop = threading.Event()
    fake = FakeExecutor(capacity=2, block=threading.Event())  # never released: only cancel

    def on_event(e: FanoutEvent) -> None:
        if e.kind == "agent":
            stop.set()

    summary = run_fanout(fanout_request(incidents=5, concurrency=2, scenarios=["disk_full"]),
                         [fake], on_event=on_event, stop=stop)
    assert summary.interrupted and summary.lost == 0
    assert summary.cancelled >= 1 and summary.cancelled + summary.not_started == 5
    assert fake.in_flight == 0


def test_continuous_intake_sheds_when_the_queue_is_full() -> None:
    block = threading.Event()
    fake = FakeExecutor(capacity=1, block=block)

    def on_event(e: FanoutEvent) -> None:
        if e.kind == "intake_closed":
            block.set()

    req = fanout_request(continuous=True, duration_s=0.4, arrival_rate=100.0, concurrency=1,
                         queue_size=2, seed=7)
    summary = run_fanout(req, [fake], on_event=on_event)
    arrivals = len(poisson_arrivals(100.0, 0.4, random.Random("fanout-arrivals:7")))
    assert summary.mode == "continuous" and summary.arrivals == arrivals
    assert 1 <= summary.total <= 3 and summary.shed == arrivals - summary.total
    assert summary.lost == 0 and summary.total == summary.fixed + summary.escalated \
        + summary.nothing_to_fix


def test_rolling_scorecard_events() -> None:
    events: list[FanoutEvent] = []
    run_fanout(fanout_request(incidents=4, concurrency=1, scorecard_every_s=0.01),
               [FakeExecutor(delay=0.03)], on_event=events.append)
    cards = [e.data["scorecard"] for e in events if e.kind == "scorecard"]
    assert cards and max(sum(g["runs"] for g in c) for c in cards) >= 1


def test_bad_requests_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--incidents"):
        run_fanout(fanout_request(), [FakeExecutor()])
    with pytest.raises(UsageError, match="--duration-s"):
        run_fanout(fanout_request(continuous=True, arrival_rate=1.0), [FakeExecutor()])
    with pytest.raises(UsageError, match="unknown scenario"):
        run_fanout(fanout_request(incidents=1, scenarios=["nope"]), [FakeExecutor()])
    with pytest.raises(UsageError, match="unique"):
        run_fanout(fanout_request(incidents=1), [FakeExecutor("x"), FakeExecutor("x")])
