"""What to do with a judged action: allow it, block it, or ask for confirmation.

`SecurityPolicy.decide` is the one home of that decision: whoever runs actions asks it rather
than comparing levels itself.

`--max-security-risk LEVEL` is the highest risk allowed to run (default MEDIUM: HIGH is
blocked); `--require-confirmation-for-risk LEVEL` asks before anything at or above LEVEL;
`--auto-confirm` approves those when nobody is there to ask.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from sre_agent.safety.levels import Risk
from sre_agent.safety.verdict import RiskVerdict

Decision = Literal["allow", "block", "confirm"]


class SecurityPolicy(BaseModel):
    """Limits applied to every action before it runs."""

    max_risk: Risk = Risk.MEDIUM
    confirm_risk: Risk | None = None
    auto_confirm: bool = False

    @field_validator("max_risk", mode="before")
    @classmethod
    def _parse_max(cls, value: str | Risk) -> Risk:
        return Risk.parse(value)

    @field_validator("confirm_risk", mode="before")
    @classmethod
    def _parse_confirm(cls, value: str | Risk | None) -> Risk | None:
        return None if value is None else Risk.parse(value)

    def decide(self, verdict: RiskVerdict | Risk | str) -> Decision:
        """`block` above max_risk, `confirm` at or above confirm_risk, else `allow`.

        Takes a verdict, a `Risk` or a level name (`"HIGH"`). `confirm` is returned even with
        auto_confirm: the caller records that a confirmation happened and approves it (see
        `needs_human`).
        """
        if isinstance(verdict, RiskVerdict):
            risk = verdict.risk
        else:
            risk = Risk.parse(verdict)
        if risk > self.max_risk:
            return "block"
        if self.confirm_risk is not None and risk >= self.confirm_risk:
            return "confirm"
        return "allow"

    def pause_threshold(self) -> Risk | None:
        """The lowest risk that is not a plain `allow` (None when every level is allowed).

        A runner that can only pause at or above one level (the SDK's `ConfirmRisky`) pauses
        there, then asks `decide` about each pending action.
        """
        return next((risk for risk in Risk if self.decide(risk) != "allow"), None)

    def needs_human(self, decision: Decision) -> bool:
        """A `confirm` that auto-confirm does not settle."""
        return decision == "confirm" and not self.auto_confirm


__all__ = ["Decision", "SecurityPolicy"]
