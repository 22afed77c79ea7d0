"""What the router decides: the skill (or an abstention with its reason), the candidates it
weighed, and what the example vote and the learned classifier said."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Candidate(BaseModel):
    """A skill the router considered, its score and the words that matched."""

    skill: str
    score: float
    evidence: list[str] = Field(default_factory=list)
    triggers: list[str] = Field(default_factory=list, description="the skill's triggers found")


class RouteResult(BaseModel):
    """The routing decision: a skill id, or None with the reason the router abstained."""

    skill: str | None
    confidence: float
    candidates: list[Candidate] = Field(default_factory=list)
    abstained_reason: str | None = None
    example_votes: dict[str, float] = Field(
        default_factory=dict, description="share of the nearest labelled incidents per skill "
        "('none': incidents no runbook covers); empty when they were not consulted")
    classifier: dict[str, float] = Field(
        default_factory=dict, description="the learned classifier's most likely labels and "
        "their probabilities ('none': no runbook covers it); empty when it was not consulted")
    decided_by: Literal["router", "classifier"] = Field(
        "router", description="'classifier' when the learned classifier changed the router's "
        "decision (a pick, another pick, or an abstention)")


__all__ = ["Candidate", "RouteResult"]
