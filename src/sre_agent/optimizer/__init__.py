"""The optimizer lane: better skills from runs, promoted only through a regression gate.

Optimizers are plugins: entry points in the `sre_agent.optimizers` group name a class with
`name`, `description` and `search(ctx) -> SearchOutcome`; the built-ins (`gepa`, `iterative`,
`manual`) are registered in the same name -> "module:Class" form. `optimize(req)` runs the lane.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from sre_agent.errors import UsageError
from sre_agent.optimizer.base import Optimizer, SearchContext, SearchOutcome
from sre_agent.optimizer.candidate import Candidate, parse_candidate_text, unified_diff
from sre_agent.optimizer.evaluate import (
    CandidateEval,
    Evaluator,
    Instance,
    InstanceResult,
    SandboxEvaluator,
    instances_for,
    score_result,
)
from sre_agent.optimizer.gate import GateCheck, GateVerdict, regression_gate
from sre_agent.optimizer.lane import OptimizeRequest, OptimizeResult, optimize

ENTRY_POINT_GROUP = "sre_agent.optimizers"


def _targets() -> dict[str, str]:
    """Name -> "module:Class" of every installed one: built-ins are declared as entry points
    in pyproject.toml exactly as a plugin would declare its own."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def optimizer_names() -> list[str]:
    return list(_targets())


def get_optimizer(name: str) -> Optimizer:
    """A new instance of the optimizer registered as `name`; UsageError listing the others."""
    targets = _targets()
    if name not in targets:
        raise UsageError(f"unknown optimizer {name!r}", f"choose one of: {', '.join(targets)}")
    module_name, _, attr = targets[name].partition(":")
    optimizer: Optimizer = getattr(importlib.import_module(module_name), attr)()
    return optimizer


__all__ = [
    "ENTRY_POINT_GROUP", "Candidate", "CandidateEval", "Evaluator", "GateCheck", "GateVerdict",
    "Instance", "InstanceResult", "OptimizeRequest", "OptimizeResult", "Optimizer",
    "SandboxEvaluator", "SearchContext", "SearchOutcome", "get_optimizer", "instances_for",
    "optimize", "optimizer_names", "parse_candidate_text", "regression_gate", "score_result",
    "unified_diff",
]
