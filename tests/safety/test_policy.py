"""SecurityPolicy: block above max, confirm at or above the confirmation level; the one home of
that decision, and the pause threshold a runner derives from it."""

from __future__ import annotations

import itertools

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
    with pytest.raises(UsageError):
        SecurityPolicy().decide("UNKNOWN")


def test_decide_takes_a_level_name() -> None:
    policy = SecurityPolicy(max_risk="MEDIUM", confirm_risk="MEDIUM")
    assert [policy.decide(name) for name in ("LOW", "medium", "HIGH")] == \
        ["allow", "confirm", "block"]


def _driver_threshold(max_risk: str, confirm_risk: str | None) -> Risk | None:
    """What the agent driver computed on its own before `pause_threshold` (kept as the spec)."""
    levels = list(Risk)
    candidates = []
    if Risk(max_risk) != Risk.HIGH:
        candidates.append(levels[levels.index(Risk(max_risk)) + 1])
    if confirm_risk:
        candidates.append(Risk(confirm_risk))
    return min(candidates) if candidates else None


@pytest.mark.parametrize(("max_risk", "confirm_risk"), itertools.product(
    ["LOW", "MEDIUM", "HIGH"], [None, "LOW", "MEDIUM", "HIGH"]))
def test_pause_threshold_is_the_lowest_level_not_allowed(max_risk: str,
                                                         confirm_risk: str | None) -> None:
    policy = SecurityPolicy(max_risk=max_risk, confirm_risk=confirm_risk)
    threshold = policy.pause_threshold()
    assert threshold == _driver_threshold(max_risk, confirm_risk)
    for risk in Risk:
        paused = threshold is not None and risk >= threshold
        assert paused == (policy.decide(risk) != "allow")
