"""The optimizer lane: better skills from runs, promoted only through a regression gate.

Optimizers are plugins: entry points in the `sre_agent.optimizers` group name a class with
`name`, `description` and `search(ctx) -> SearchOutcome`; the built-ins (`gepa`, `iterative`,
`manual`) are registered in the same name -> "module:Class" form. `optimize(req)` runs the lane.
"""

from __future__ import annotations

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
from sre_agent.optimizer.registry import ENTRY_POINT_GROUP, get_optimizer, optimizer_names

__all__ = [
    "ENTRY_POINT_GROUP", "Candidate", "CandidateEval", "Evaluator", "GateCheck", "GateVerdict",
    "Instance", "InstanceResult", "OptimizeRequest", "OptimizeResult", "Optimizer",
    "SandboxEvaluator", "SearchContext", "SearchOutcome", "get_optimizer", "instances_for",
    "optimize", "optimizer_names", "parse_candidate_text", "regression_gate", "score_result",
    "unified_diff",
]
