"""Risk levels: LOW < MEDIUM < HIGH. The one home of their names, order and parsing.

Everything that stores, compares or validates a risk level (trace rows, skill contracts,
request models, the policy, the CLI) uses `Risk` (a `str` enum: it serialises as "LOW", ...)
or the helpers here; nothing else spells the levels out.
"""

from __future__ import annotations

import enum
from typing import Literal, get_args

from sre_agent.errors import UsageError

_ORDER = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}


class Risk(enum.StrEnum):
    """Risk of one action: LOW < MEDIUM < HIGH."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return _ORDER[self.value] < _ORDER[other.value]

    # str's comparisons would otherwise win through the MRO (alphabetical order).
    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return _ORDER[self.value] > _ORDER[other.value]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return _ORDER[self.value] <= _ORDER[other.value]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return _ORDER[self.value] >= _ORDER[other.value]

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Risk) -> Risk:
        """Parse `low`/`Medium`/`HIGH` case-insensitively; UsageError on anything else."""
        if isinstance(value, Risk):
            return value
        name = str(value).strip().upper()
        if name not in _ORDER:
            raise UsageError(
                f"unknown risk level {value!r}", hint="use one of LOW, MEDIUM, HIGH"
            )
        return cls(name)


def worst(*risks: Risk | None) -> Risk:
    """The highest of the given risks (None ignored); LOW when none is given."""
    present = [r for r in risks if r is not None]
    return max(present) if present else Risk.LOW


RISK_LEVELS: tuple[str, ...] = tuple(level.value for level in Risk)
"""("LOW", "MEDIUM", "HIGH"), in order."""

RiskName = Literal["LOW", "MEDIUM", "HIGH"]
"""The levels as a type for JSON schemas (request models, skill contracts)."""
assert get_args(RiskName) == RISK_LEVELS, "RiskName must list the Risk levels in order"


def rank(value: str | Risk | None) -> int:
    """1, 2, 3 for LOW, MEDIUM, HIGH; 0 for none or anything unknown (for max/sorting)."""
    if value is None:
        return 0
    return _ORDER.get(str(value).strip().upper(), -1) + 1


def highest(values: list[str | None]) -> str | None:
    """The highest level among `values` (None when none is a level)."""
    best = max(values, key=rank, default=None)
    return str(best) if rank(best) > 0 else None


__all__ = ["RISK_LEVELS", "Risk", "RiskName", "highest", "rank", "worst"]
