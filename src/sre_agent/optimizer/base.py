"""The optimizer interface: what a search gets (`SearchContext`) and returns (`SearchOutcome`).

An optimizer proposes candidates and judges them on the training instances only; the lane
(`sre_agent.optimizer.lane`) then chooses on the validation instances and runs the regression
gate. An optimizer never promotes anything itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sre_agent.optimizer.candidate import Candidate
from sre_agent.optimizer.evaluate import CandidateEval, Evaluator, Instance


@dataclass
class SearchContext:
    """Everything a search may use. `record` appends one event to the optimization trace."""

    skill_id: str
    seed: Candidate
    train: Sequence[Instance]
    val: Sequence[Instance]
    evaluator: Evaluator
    budget: int  # candidate evaluations on the training instances (the seed's not counted)
    record: Callable[[dict[str, Any]], None] = lambda event: None
    reflection_model: str | None = None
    reflection_lm: Callable[[str], str] | None = None  # overrides reflection_model (tests)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchOutcome:
    """The best candidate found (possibly the seed itself) and how it did on training."""

    best: Candidate
    train_eval: CandidateEval | None
    evaluated: int  # candidate evaluations spent
    notes: list[str] = field(default_factory=list)


class Optimizer(Protocol):
    """A search strategy, registered by name (see `sre_agent.optimizer.get_optimizer`).

    It may also define `preflight(*, reflection_model)`, raising UsageError before any run
    when the search could not start (e.g. gepa without a reflection model).
    """

    name: str
    description: str

    def search(self, ctx: SearchContext) -> SearchOutcome: ...


def candidate_event(candidate: Candidate, evaluation: CandidateEval | None, *, phase: str,
                    decision: str, reason: str) -> dict[str, Any]:
    """One optimization-trace record for a candidate."""
    return {"event": "candidate", "phase": phase, "version": candidate.version,
            "parent": candidate.parent, "origin": candidate.origin, "decision": decision,
            "reason": reason, "scores": evaluation.summary() if evaluation else None}
