"""What triage looks at and what it found: the plan of checks, their runs, the report.

A *skill check* is a read-only command a skill declares (`metadata.triage` in its SKILL.md)
with a regex that supports its fault and/or one that rules it out. A *health check* is derived
from the pack's steady-state HTTP probes: whether the service is red at all. The plan is plain
data (it travels to a worker as the triage tool's parameters).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["supports", "rules_out"]
RouteSource = Literal["text", "evidence", "both", "none"]
ROUTE_SOURCES: tuple[str, ...] = ("text", "evidence", "both", "none")


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SkillCheck(_Data):
    """One skill's triage check, vetted LOW by the safety layer when the plan was built."""

    skill: str
    name: str
    run: str
    supports: str | None = None
    rules_out: str | None = None


class HealthCheck(_Data):
    """A steady-state HTTP probe as a command run inside the sandbox (curl prints the body,
    then `HTTP <code>`); healthy when the code and the JSON fit the probe's tolerances."""

    name: str
    run: str
    status: Any = 200  # a tolerance in data form (incidents.tolerance)
    json_paths: dict[str, Any] = Field(default_factory=dict)


class Plan(_Data):
    """Everything one triage runs, for one sandbox."""

    skills: list[str] = Field(default_factory=list)  # the candidates, in catalogue order
    checks: list[SkillCheck] = Field(default_factory=list)
    health: list[HealthCheck] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # checks refused, with the reason

    def commands(self) -> list[str]:
        """Every distinct command, in plan order (a command shared by checks runs once)."""
        return list(dict.fromkeys([*(h.run for h in self.health),
                                   *(c.run for c in self.checks)]))


class CheckRun(_Data):
    """One command as it ran inside the sandbox."""

    command: str
    exit_code: int | None
    output: str
    duration_s: float
    timed_out: bool = False


class Evidence(_Data):
    """A check that fired: for or against a skill, with the line that matched."""

    check: str
    kind: Kind
    excerpt: str


class SkillFit(_Data):
    """One candidate skill and what the checks said about it."""

    skill: str
    score: float  # supports minus twice the rule-outs; > 0 and a support: the skill fits
    supports: list[Evidence] = Field(default_factory=list)
    against: list[Evidence] = Field(default_factory=list)
    checks: int = 0  # checks of this skill that ran

    @property
    def fits(self) -> bool:
        return bool(self.supports) and self.score > 0


class HealthResult(_Data):
    name: str
    ok: bool
    detail: str


class TriageReport(_Data):
    """The ranked skills with their evidence; `healthy` None when no health check could run."""

    healthy: bool | None
    health: list[HealthResult] = Field(default_factory=list)
    ranked: list[SkillFit] = Field(default_factory=list)
    commands_run: int = 0
    duration_s: float = 0.0
    skipped: list[str] = Field(default_factory=list)

    @property
    def fitting(self) -> list[str]:
        return [fit.skill for fit in self.ranked if fit.fits]

    @property
    def nothing_fits(self) -> bool:
        return not self.fitting

    def fit_of(self, skill: str) -> SkillFit | None:
        return next((fit for fit in self.ranked if fit.skill == skill), None)


class RoutingDecision(_Data):
    """The skill a run plays first, and why: the text's choice, the evidence, or both."""

    skill: str | None
    source: RouteSource
    outcome: Literal["play", "nothing_to_fix", "escalate"]
    overruled: bool = False  # the evidence replaced the text's choice
    reason: str
    text_skill: str | None = None
    text_confidence: float = 0.0
    fitting: list[str] = Field(default_factory=list)  # every skill the evidence supports
