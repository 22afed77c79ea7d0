"""Asking an operator about a risky action: what is pending, the answer, who answers.

A `Confirmer` is called for each action the policy says needs a human (see
`sre_agent.safety.SecurityPolicy`); the CLI asks on a terminal, the web UI queues the
question, fan-out and the optimizer decide by flag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class PendingAction:
    """A risky action waiting for an operator's yes/no."""

    tool: str
    command: str
    risk: str
    reasons: list[str]


@dataclass
class ConfirmAnswer:
    approve: bool
    reason: str = ""


Confirmer = Callable[[PendingAction], ConfirmAnswer]


def fixed_answer(approve: bool, reason: str) -> Confirmer:
    """A confirmer that gives the same answer to every question (`--auto-confirm`, or a
    non-interactive run that must reject)."""

    def answer(_pending: PendingAction) -> ConfirmAnswer:
        return ConfirmAnswer(approve, reason)

    return answer
