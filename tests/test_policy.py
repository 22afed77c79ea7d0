"""SecurityPolicy: block above max, confirm at or above the confirmation level."""

from __future__ import annotations

import pytest

from sre_agent.errors import UsageError
from sre_agent.safety import Risk, RiskVerdict, SecurityPolicy


def _v(risk: Risk) -> RiskVerdict:
    return RiskVerdict(risk=risk, reasons=["test"])


def test_default_blocks_high_only() -> None:
    policy = SecurityPolicy()
    assert policy.max_risk == Risk.MEDIUM and policy.confirm_risk is None
    assert [policy.decide(_v(r)) for r in Risk] == ["allow", "allow", "block"]


def test_max_risk_low_blocks_mutations() -> None:
    policy = SecurityPolicy(max_risk="low")
    assert [policy.decide(r) for r in Risk] == ["allow", "block", "block"]


def test_confirmation_threshold() -> None:
    policy = SecurityPolicy(max_risk=Risk.HIGH, confirm_risk="MEDIUM")
    assert [policy.decide(_v(r)) for r in Risk] == ["allow", "confirm", "confirm"]
    assert policy.needs_human("confirm") and not policy.needs_human("allow")


def test_block_wins_over_confirm() -> None:
    policy = SecurityPolicy(max_risk="MEDIUM", confirm_risk="LOW")
    assert [policy.decide(r) for r in Risk] == ["confirm", "confirm", "block"]


def test_auto_confirm_settles_confirmations() -> None:
    policy = SecurityPolicy(confirm_risk="HIGH", max_risk="HIGH", auto_confirm=True)
    assert policy.decide(Risk.HIGH) == "confirm"
    assert not policy.needs_human("confirm")


def test_bad_level_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        SecurityPolicy(max_risk="severe")
    with pytest.raises(UsageError):
        SecurityPolicy(confirm_risk="")
