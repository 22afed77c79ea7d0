"""What an incident is: a scenario of the catalogue, one seeded instance of it, its verdict."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["fixed", "nothing_to_fix", "escalate"]
Connector = Callable[[int, float], socket.socket]

class Scenario(BaseModel):
    """One entry of the catalogue (static: the same for every seed)."""

    name: str
    skill_id: str | None
    fault: str
    expected_outcome: Outcome
    remediable: bool


class Incident(BaseModel):
    """One scenario instance for one seed: what was injected and how to judge it."""

    scenario: str
    seed: int
    skill_id: str | None
    expected_outcome: Outcome
    text: str
    service_port: int
    kv_port: int
    stopped_programs: list[str] = Field(default_factory=list)
    params: dict[str, str] = Field(default_factory=dict)
    fingerprints: dict[str, str] = Field(default_factory=dict)


@dataclass
class GroundTruth:
    ok: bool
    detail: str
    checks: dict[str, bool] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Helpers shared by the injectors and checks
