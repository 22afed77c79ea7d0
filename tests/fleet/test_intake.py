"""Incident intake: the draw, Poisson arrivals, the severity-ordered bounded queue."""

from __future__ import annotations

import random

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet import IncidentQueue, PlannedIncident, draw_incidents, poisson_arrivals
from sre_agent.fleet.intake import check_scenarios, severity


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


def test_scenario_checks_and_severities() -> None:
    assert check_scenarios(["disk_full", "disk_full", "healthy_noop"]) == ["disk_full",
                                                                          "healthy_noop"]
    assert "stale_lockfile" in check_scenarios([])  # empty: the whole catalogue
    with pytest.raises(UsageError, match="unknown scenario 'nope'"):
        check_scenarios(["nope"])
    assert (severity("disk_full"), severity("healthy_noop"), severity("stale_lockfile")) == (
        "high", "low", "medium")
    with pytest.raises(UsageError, match="must be positive"):
        poisson_arrivals(0, 10, random.Random(1))
