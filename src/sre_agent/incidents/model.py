"""What an incident is: a scenario of the catalogue, one seeded instance of it, its verdict."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from sre_agent.incidents.spec import Outcome

Connector = Callable[[int, float], socket.socket]


class Scenario(BaseModel):
    """One entry of the catalogue (static: the same for every seed)."""

    name: str
    pack: str
    source: str  # where the pack came from: "plugin builtin", "path", "chaostoolkit <file>"
    skill_id: str | None  # the skill that fits best (None: no skill on purpose)
    skill_ids: list[str] = Field(default_factory=list)
    fault: str  # what is wrong, in words
    expected_outcome: Outcome
    remediable: bool
    difficulty: dict[str, int | bool] = Field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The difficulty class summaries group by: noop, decoy, compound, misleading, single."""
        if self.expected_outcome == "nothing_to_fix":
            return "noop"
        if self.expected_outcome == "escalate":
            return "decoy"
        if self.difficulty.get("compound"):
            return "compound"
        return "misleading" if self.difficulty.get("misleading") else "single"


class Incident(BaseModel):
    """One scenario instance for one seed: what was drawn, injected and how to judge it."""

    scenario: str
    pack: str
    pack_root: str
    seed: int
    skill_id: str | None
    skill_ids: list[str] = Field(default_factory=list)
    expected_outcome: Outcome
    text: str
    ports: dict[str, int] = Field(default_factory=dict)
    service_port: int  # the port the first steady-state probe uses (what clients call)
    stopped_programs: list[str] = Field(default_factory=list)
    params: dict[str, str] = Field(default_factory=dict)
    fingerprints: dict[str, str] = Field(default_factory=dict)


@dataclass
class GroundTruth:
    ok: bool
    detail: str
    checks: dict[str, bool] = field(default_factory=dict)


__all__ = ["Connector", "GroundTruth", "Incident", "Outcome", "Scenario"]
