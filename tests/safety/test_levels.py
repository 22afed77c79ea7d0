"""Risk levels: order, parsing, and the helpers for stored level names."""

from __future__ import annotations

import pytest

from sre_agent.errors import UsageError
from sre_agent.safety import RISK_LEVELS, Risk, highest, rank, worst


def test_risk_order_parse_and_worst() -> None:
    assert Risk.LOW < Risk.MEDIUM < Risk.HIGH
    assert max([Risk.MEDIUM, Risk.HIGH, Risk.LOW]) == Risk.HIGH
    assert Risk.parse("medium") is Risk.MEDIUM and Risk.parse(" High ") is Risk.HIGH
    with pytest.raises(UsageError):
        Risk.parse("critical")
    assert worst(Risk.LOW, None, Risk.MEDIUM) == Risk.MEDIUM and worst() == Risk.LOW


def test_level_names_rank_and_highest() -> None:
    assert RISK_LEVELS == ("LOW", "MEDIUM", "HIGH") == tuple(Risk)
    assert [rank(x) for x in (None, "low", Risk.MEDIUM, "HIGH", "bogus")] == [0, 1, 2, 3, 0]
    assert highest(["LOW", None, "HIGH", "MEDIUM"]) == "HIGH"
    assert highest([None, "bogus"]) is None
    assert str(Risk.HIGH) == "HIGH" and f"{Risk.LOW}" == "LOW"
