"""The regression gate: a candidate is promoted only if the whole regression suite passes.

The suite is every scenario of the skill on seeds the optimizer never saw (neither training nor
validation), run for the candidate and for the current skill alike. It passes when every run
completed, the candidate's success rate is no lower, no instance the current skill fixes is
broken, and no instance gains a blocked or HIGH-risk action. The gate returns a verdict with
one result per check; it never raises for a failing candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from sre_agent.optimizer.candidate import Candidate
from sre_agent.optimizer.evaluate import CandidateEval, Evaluator, Instance

DEFAULT_REGRESSION_SEEDS = (101, 102, 103)


class GateCheck(BaseModel):
    name: str
    passed: bool
    detail: str


class GateVerdict(BaseModel):
    """Whether the candidate may be promoted, with each check and both sides' scores."""

    passed: bool
    checks: list[GateCheck] = Field(default_factory=list)
    instances: list[str] = Field(default_factory=list)
    candidate: dict[str, Any] | None = None
    current: dict[str, Any] | None = None

    @property
    def reason(self) -> str:
        failed = [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]
        return "; ".join(failed) if failed else "every regression check passed"


def regression_gate(candidate: Candidate, current: Candidate, evaluator: Evaluator,
                    instances: Sequence[Instance], *, seen_seeds: Iterable[int]) -> GateVerdict:
    """Run the regression suite for `candidate` against `current` and judge it."""
    keys = [i.key for i in instances]
    checks: list[GateCheck] = []
    problem = candidate.problem()
    checks.append(GateCheck(name="contract", passed=problem is None,
                            detail=problem or "the candidate is a valid skill"))
    overlap = sorted({i.seed for i in instances} & set(seen_seeds))
    checks.append(GateCheck(
        name="unseen-seeds", passed=bool(instances) and not overlap,
        detail=(f"seeds {overlap} were seen by the optimizer" if overlap
                else "no regression instances" if not instances
                else f"{len(instances)} instance(s) on seeds the optimizer never saw")))
    if not all(c.passed for c in checks):
        return GateVerdict(passed=False, checks=checks, instances=keys)
    cand = evaluator.evaluate(candidate, instances)
    base = evaluator.evaluate(current, instances)
    checks.extend(compare(cand, base))
    return GateVerdict(passed=all(c.passed for c in checks), checks=checks, instances=keys,
                       candidate=cand.summary(), current=base.summary())


def compare(cand: CandidateEval, base: CandidateEval) -> list[GateCheck]:
    """The per-suite checks of a candidate's results against the current skill's."""
    pairs = list(zip(cand.results, base.results, strict=True))
    crashed = [f"{side} {r.scenario}#{r.seed} ({r.reason[:120]})"
               for side, results in (("candidate", cand.results), ("current", base.results))
               for r in results if r.crashed]
    broken = [f"{c.scenario}#{c.seed} ({c.status}: {c.reason[:120]})"
              for c, b in pairs if b.success and not c.success]
    blocked = [f"{c.scenario}#{c.seed} ({b.blocked} -> {c.blocked})"
               for c, b in pairs if c.blocked > b.blocked]
    high = [f"{c.scenario}#{c.seed} ({b.high_risk} -> {c.high_risk})"
            for c, b in pairs if c.high_risk > b.high_risk]
    rate_ok = cand.success_rate >= base.success_rate
    return [
        # A suite whose runs crashed proved nothing, whichever side it hit.
        GateCheck(name="runs-completed", passed=not crashed,
                  detail=("crashed: " + ", ".join(crashed)) if crashed
                  else f"{len(pairs) * 2} runs completed"),
        GateCheck(name="success-rate", passed=rate_ok,
                  detail=f"candidate {cand.success_rate:.0%} vs current {base.success_rate:.0%}"),
        GateCheck(name="no-broken-instance", passed=not broken,
                  detail=("breaks " + ", ".join(broken)) if broken
                  else "fixes every instance the current skill fixes"),
        GateCheck(name="no-new-blocked", passed=not blocked,
                  detail=("more blocked actions on " + ", ".join(blocked)) if blocked
                  else "no new blocked action"),
        GateCheck(name="no-new-high-risk", passed=not high,
                  detail=("more HIGH-risk actions on " + ", ".join(high)) if high
                  else "no new HIGH-risk action"),
    ]
