"""`iterative`: hill-climbing over a skill's runbook, no LLM needed.

Edits (each re-validated against the skill contract; one that breaks it is discarded with the
reason): drop a needless `sleep` step, tighten a command by removing an embedded `sleep`, drop a
step that repeats an earlier command, drop a diagnostic whose output nothing checks or uses,
move a precondition check earlier (fail fast). Mutating steps are never dropped, and a check
(`expect`) is dropped only when it repeats an earlier one, so diagnose-first order and the
guards stay.
The first proposal each round is all safe cuts at once (one evaluation when they all hold);
then single edits, first improvement wins. Every candidate is judged by real runs on the
training instances (`SearchContext.evaluator`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sre_agent.optimizer.base import SearchContext, SearchOutcome, candidate_event
from sre_agent.optimizer.candidate import Candidate, RunbookLayout, replace_run
from sre_agent.optimizer.evaluate import improves
from sre_agent.skills.catalogue import SkillInvalid, SkillStep

_SLEEP_ONLY = re.compile(r"^\s*sleep\s+\d+(?:\.\d+)?[smh]?\s*;?\s*$")
_EMBEDDED_SLEEP = (re.compile(r"^\s*sleep\s+\d+(?:\.\d+)?[smh]?\s*(?:&&|;)\s*"),
                   re.compile(r"\s*(?:&&|;)\s*sleep\s+\d+(?:\.\d+)?[smh]?\s*;?\s*$"))

# Lower runs first: the cheapest, surest wins before the speculative ones.
PRIORITY = {"drop-sleep": 0, "tighten": 1, "drop-duplicate": 2, "drop-diagnostic": 3,
            "reorder": 5}
SAFE_CUTS = ("drop-sleep", "tighten", "drop-duplicate", "drop-diagnostic")


@dataclass(frozen=True)
class Edit:
    """One proposed change: its kind, the step it touches, the new text or why it is invalid."""

    kind: str
    step: str
    text: str
    problem: str | None = None  # why the text breaks the skill contract

    @property
    def valid(self) -> bool:
        return self.problem is None

    @property
    def origin(self) -> str:
        return f"{self.kind}:{self.step}"


def propose_edits(candidate: Candidate) -> list[Edit]:
    """Every single edit of the runbook, best first; each says whether it breaks the contract."""
    layout = RunbookLayout.of(candidate.text, candidate.skill_id)
    steps = layout.steps
    edits: list[Edit] = []
    order = list(range(len(steps)))
    for i, step in enumerate(steps):
        kind = _drop_kind(steps, i)
        if kind:
            edits.append(_checked(candidate, kind, step.name,
                                  layout.compose([k for k in order if k != i])))
        tightened = _without_sleep(step.run)
        if tightened and tightened != step.run:
            span = replace_run(layout.spans[i], tightened)
            if span is not None:
                edits.append(_checked(candidate, "tighten", step.name,
                                      layout.compose(order, {i: span})))
        target = _earliest_slot(steps, i)
        if target is not None:
            moved = [k for k in order if k != i]
            moved.insert(target, i)
            edits.append(_checked(candidate, "reorder", step.name, layout.compose(moved)))
    edits.sort(key=lambda e: PRIORITY[e.kind])
    return edits


def all_safe_cuts(candidate: Candidate) -> Edit | None:
    """Every valid safe cut applied together (one edit), or None if fewer than two apply."""
    current, applied = candidate, []
    while True:
        edit = next((e for e in propose_edits(current)
                     if e.kind in SAFE_CUTS and e.valid), None)
        if edit is None:
            break
        applied.append(edit.origin)
        current = current.derive(edit.text, edit.origin)
    if len(applied) < 2:
        return None
    return Edit("cut-redundant", "+".join(applied), current.text)


def _checked(candidate: Candidate, kind: str, step: str, text: str) -> Edit:
    return Edit(kind, step, text, candidate.derive(text, kind).problem())


def _drop_kind(steps: tuple[SkillStep, ...], i: int) -> str | None:
    step = steps[i]
    if step.mutates or i == 0:
        return None
    if _SLEEP_ONLY.match(step.run):
        return "drop-sleep"
    if any(s.run == step.run and (s.expect == step.expect or not step.expect)
           for s in steps[:i]):
        return "drop-duplicate"
    if not step.expect:  # a diagnostic nothing checks (its captures may still be needed)
        return "drop-diagnostic"
    return None


def _without_sleep(run: str) -> str | None:
    if _SLEEP_ONLY.match(run):
        return None
    out = run
    for pattern in _EMBEDDED_SLEEP:
        out = pattern.sub("", out)
    return out.strip() or None


def _earliest_slot(steps: tuple[SkillStep, ...], i: int) -> int | None:
    """Move a precondition check (before any change, with expect) right after what it needs:
    a runbook that does not fit then stops before the extra diagnostics."""
    step = steps[i]
    if step.mutates or not step.expect or i == 0 or any(s.mutates for s in steps[:i]):
        return None
    needed = set(step.placeholders())
    slot = 1
    for k in range(i):
        if needed & set(steps[k].capture) or steps[k].mutates:
            slot = k + 1
    return slot if slot < i else None


class IterativeOptimizer:
    """Greedy hill-climbing over runbook edits, judged on the training instances."""

    name = "iterative"
    description = "hill-climbing over runbook edits (drop, tighten, reorder); no LLM"

    def search(self, ctx: SearchContext) -> SearchOutcome:
        current = ctx.seed
        current_eval = ctx.evaluator.evaluate(current, ctx.train)
        ctx.record(candidate_event(current, current_eval, phase="train", decision="baseline",
                                   reason="the seed skill"))
        if current_eval.invalid:
            raise SkillInvalid(f"the seed skill breaks the contract: {current_eval.invalid}")
        spent, seen, discarded_origins = 0, {current.version}, set()
        notes: list[str] = []
        combine = True  # once all cuts together fail, propose single edits only
        while spent < ctx.budget:
            accepted = False
            for edit in self._proposals(current, combine):
                if spent >= ctx.budget:
                    break
                if not edit.valid:
                    if edit.origin in discarded_origins:
                        continue
                    discarded_origins.add(edit.origin)
                    discarded = current.derive(edit.text, edit.origin)
                    ctx.record(candidate_event(discarded, None, phase="train",
                                               decision="discarded",
                                               reason=f"breaks the contract: {edit.problem}"))
                    continue
                candidate = current.derive(edit.text, edit.origin)
                if candidate.version in seen:
                    continue
                seen.add(candidate.version)
                evaluation = ctx.evaluator.evaluate(candidate, ctx.train)
                spent += 1
                better, why = improves(evaluation, current_eval)
                ctx.record(candidate_event(candidate, evaluation, phase="train",
                                           decision="accepted" if better else "rejected",
                                           reason=why))
                if edit.kind == "cut-redundant" and not better:
                    combine = False
                if better:
                    notes.append(f"{edit.origin}: {why}")
                    current, current_eval, accepted = candidate, evaluation, True
                    break
            if not accepted:
                break
        return SearchOutcome(best=current, train_eval=current_eval, evaluated=spent, notes=notes)

    def _proposals(self, candidate: Candidate, combine: bool) -> list[Edit]:
        singles = propose_edits(candidate)
        combined = all_safe_cuts(candidate) if combine else None
        return ([combined] if combined else []) + singles
