"""What to do with a judged action: allow it, block it, or ask for confirmation.

`--max-security-risk LEVEL` is the highest risk allowed to run (default MEDIUM: HIGH is
blocked); `--require-confirmation-for-risk LEVEL` asks before anything at or above LEVEL;
`--auto-confirm` approves those when nobody is there to ask.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from sre_agent.safety.verdict import Risk, RiskVerdict

Decision = Literal["allow", "block", "confirm"]


class SecurityPolicy(BaseModel):
    """Limits applied to every action before it runs."""

    max_risk: Risk = Risk.MEDIUM
    confirm_risk: Risk | None = None
    auto_confirm: bool = False

    @field_validator("max_risk", mode="before")
    @classmethod
    def _parse_max(cls, value: object) -> Risk:
        return Risk.parse(value)  # type: ignore[arg-type]

    @field_validator("confirm_risk", mode="before")
    @classmethod
    def _parse_confirm(cls, value: object) -> Risk | None:
        return None if value is None else Risk.parse(value)  # type: ignore[arg-type]

    def decide(self, verdict: RiskVerdict | Risk) -> Decision:
        """`block` above max_risk, `confirm` at or above confirm_risk, else `allow`.

        `confirm` is returned even with auto_confirm: the caller records that a confirmation
        happened and approves it (see `needs_human`).
        """
        risk = verdict.risk if isinstance(verdict, RiskVerdict) else verdict
        if risk > self.max_risk:
            return "block"
        if self.confirm_risk is not None and risk >= self.confirm_risk:
            return "confirm"
        return "allow"

    def needs_human(self, decision: Decision) -> bool:
        """A `confirm` that auto-confirm does not settle."""
        return decision == "confirm" and not self.auto_confirm


__all__ = ["Decision", "SecurityPolicy"]
