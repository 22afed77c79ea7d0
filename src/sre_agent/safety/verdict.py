"""`RiskVerdict`: our judgement of one action, with the reasons behind it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sre_agent.safety.levels import Risk


class RiskVerdict(BaseModel):
    """Our judgement of one action and why (most severe reasons first)."""

    risk: Risk
    reasons: list[str] = Field(default_factory=list)

    def with_label(self, label: Risk | str | None, source: str = "model") -> RiskVerdict:
        """Combine with another label (e.g. the model's): the worse one wins, ours is kept."""
        if label is None:
            return self
        other = Risk.parse(label)
        if other <= self.risk:
            return self
        return RiskVerdict(
            risk=other, reasons=[f"{source} labelled it {other.value}", *self.reasons]
        )


__all__ = ["RiskVerdict"]
