"""RiskVerdict: combining our verdict with another label."""

from __future__ import annotations

from sre_agent.safety import Risk, RiskVerdict


def test_model_label_can_only_raise_the_verdict() -> None:
    ours = RiskVerdict(risk=Risk.MEDIUM, reasons=["x"])
    assert ours.with_label("low").risk == Risk.MEDIUM
    raised = ours.with_label("HIGH")
    assert raised.risk == Risk.HIGH and raised.reasons[0] == "model labelled it HIGH"
    assert ours.with_label(None) is ours
