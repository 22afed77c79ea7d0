"""`manual`: the baseline. The generic SRE hint prepended as guidance, the runbook unchanged.

It spends one evaluation on the training instances and goes through the same validation and
regression gate as any other optimizer, so its numbers are directly comparable.
"""

from __future__ import annotations

from sre_agent.optimizer.base import SearchContext, SearchOutcome, candidate_event
from sre_agent.optimizer.candidate import with_guidance
from sre_agent.runs import MANUAL_HINT

GUIDANCE_TITLE = "General guidance"


class ManualOptimizer:
    """A fixed hint as a baseline candidate (no search)."""

    name = "manual"
    description = "baseline: the generic SRE hint prepended, runbook unchanged"

    def search(self, ctx: SearchContext) -> SearchOutcome:

        seed_eval = ctx.evaluator.evaluate(ctx.seed, ctx.train)
        ctx.record(candidate_event(ctx.seed, seed_eval, phase="train", decision="baseline",
                                   reason="the seed skill"))
        candidate = ctx.seed.derive(with_guidance(ctx.seed.text, GUIDANCE_TITLE, MANUAL_HINT),
                                    "manual-hint")
        if ctx.budget < 1:
            return SearchOutcome(best=ctx.seed, train_eval=seed_eval, evaluated=0,
                                 notes=["budget 0: the hint was not evaluated"])
        evaluation = ctx.evaluator.evaluate(candidate, ctx.train)
        ctx.record(candidate_event(candidate, evaluation, phase="train", decision="proposed",
                                   reason="fixed hint; judged on validation and the gate"))
        return SearchOutcome(best=candidate, train_eval=evaluation, evaluated=1,
                             notes=["the manual hint is a baseline: it is always proposed"])
