"""Incident intake for the fan-out: which incidents, when they arrive, in what order they run.

- `draw_incidents`: N incidents from the chosen scenarios, round-robin (catalogue order) or a
  seeded random draw; every incident gets its own seed (`seed + index`), so two incidents of the
  same scenario break different files, ports and variables.
- `poisson_arrivals`: arrival offsets of a Poisson process (exponential gaps, seeded RNG).
- `IncidentQueue`: severity-ordered (highest first, FIFO within a severity), optionally bounded.
  A full queue sheds the arrival (`offer` returns False): intake never blocks, so the arrival
  clock stays honest and the overload shows up as a number (`shed`) instead of as latency.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel

from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue

Severity = Literal["high", "medium", "low"]
Draw = Literal["round_robin", "random"]

# Dispatch order: a dead dependency, a full disk and a corrupted store hurt most (data or every
# request at stake); a false alarm can wait. A scenario not listed here is medium.
SEVERITY: dict[str, Severity] = {
    "dependency_down": "high",
    "disk_full": "high",
    "corrupted_data_store": "high",
    "healthy_noop": "low",
}
SEVERITY_RANK: dict[Severity, int] = {"high": 0, "medium": 1, "low": 2}


def severity(scenario: str) -> Severity:
    """The dispatch severity of a scenario (medium unless listed in `SEVERITY`)."""
    return SEVERITY.get(scenario, "medium")


class PlannedIncident(BaseModel):
    """One incident of a fan-out, before it runs."""

    index: int  # 0-based, in arrival order
    scenario: str
    seed: int
    severity: Severity
    arrived_s: float = 0.0  # offset from the fan-out start


def check_scenarios(names: list[str] | None) -> list[str]:
    """The chosen scenario names (all of the catalogue when empty), validated."""
    known = [s.name for s in catalogue()]
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown scenario {', '.join(map(repr, unknown))}",
                         f"choose from: {', '.join(known)}")
    return list(dict.fromkeys(names))  # de-duplicated, order kept


def incident_stream(scenarios: list[str], seed: int, draw: Draw = "round_robin"
                    ) -> Iterator[PlannedIncident]:
    """An endless, deterministic stream of incidents (scenario and seed per index)."""
    if not scenarios:
        raise UsageError("no scenario to draw incidents from")
    rng = random.Random(f"fanout-draw:{seed}")
    for index in itertools.count():
        name = scenarios[index % len(scenarios)] if draw == "round_robin" \
            else rng.choice(scenarios)
        yield PlannedIncident(index=index, scenario=name, seed=seed + index,
                              severity=severity(name))


def draw_incidents(n: int, scenarios: list[str], seed: int, draw: Draw = "round_robin"
                   ) -> list[PlannedIncident]:
    """The first `n` incidents of `incident_stream`."""
    return list(itertools.islice(incident_stream(scenarios, seed, draw), n))


def poisson_arrivals(rate_per_s: float, duration_s: float, rng: random.Random) -> list[float]:
    """Arrival offsets (seconds, ascending, < duration) of a Poisson process of this rate."""
    if rate_per_s <= 0 or duration_s <= 0:
        raise UsageError("--arrival-rate and --duration-s must be positive")
    offsets: list[float] = []
    t = rng.expovariate(rate_per_s)
    while t < duration_s:
        offsets.append(t)
        t += rng.expovariate(rate_per_s)
    return offsets


class IncidentQueue:
    """Severity-ordered queue of incidents waiting for an executor slot (not thread-safe:
    the dispatcher holds its own lock around it)."""

    def __init__(self, maxsize: int | None = None) -> None:
        self.maxsize = maxsize
        self._heap: list[tuple[int, int, PlannedIncident]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def offer(self, incident: PlannedIncident) -> bool:
        """Queue an arrival; False (shed) when the queue is bounded and full."""
        if self.maxsize is not None and len(self._heap) >= self.maxsize:
            return False
        self.push(incident)
        return True

    def push(self, incident: PlannedIncident) -> None:
        """Queue regardless of the bound (a re-queued incident already had its place)."""
        # The index is the FIFO tie-break: a re-queued incident keeps its original position.
        heapq.heappush(self._heap, (SEVERITY_RANK[incident.severity], incident.index, incident))

    def pop(self) -> PlannedIncident:
        return heapq.heappop(self._heap)[2]

    def drain(self) -> list[PlannedIncident]:
        """Remove and return everything still queued, in dispatch order."""
        out = [heapq.heappop(self._heap)[2] for _ in range(len(self._heap))]
        return out
