"""`gepa`: reflective evolution of the whole SKILL.md text with the `gepa` library.

The candidate has one component, `skill_md` (the full SKILL.md). `SkillAdapter.evaluate` runs
it on (scenario, seed) instances through the lane's evaluator (real sandboxes) and returns the
verifier's verdict, steps, time and safety events as score and feedback; a text that is not a
valid skill scores 0 with the contract problem as feedback. `make_reflective_dataset` turns the
run traces (actions, observations, verdict reason) into the records the reflection model reads.

The reflection model is any litellm model (`litellm_reflection_lm`, imported lazily, with a
timeout), or `StandInReflectionLM`: a DETERMINISTIC STAND-IN, not a model, that proposes the
current SKILL.md with its first redundant step removed (for tests and offline runs).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from sre_agent.errors import UsageError
from sre_agent.optimizer.base import SearchContext, SearchOutcome, candidate_event
from sre_agent.optimizer.candidate import Candidate
from sre_agent.optimizer.evaluate import CandidateEval, Evaluator, Instance, InstanceResult
from sre_agent.optimizer.iterative import SAFE_CUTS, propose_edits
from sre_agent.sdk import prepare_environment

log = logging.getLogger(__name__)

COMPONENT = "skill_md"
STAND_IN = "stand-in"  # --reflection-model value selecting the deterministic stand-in
_BEGIN, _END = "=== BEGIN SKILL.md ===", "=== END SKILL.md ==="
REFLECTION_TEMPLATE = f"""You maintain a runbook skill of an SRE agent that repairs a broken \
service inside a sandbox. This is the current SKILL.md:

{_BEGIN}
<curr_param>
{_END}

These runs used it (incident, the commands with their risk and output, the independent \
verifier's verdict, and feedback):

<side_info>

Write an improved SKILL.md. Keep the contract: YAML frontmatter with the same name, a \
description, triggers, and metadata with max-risk, verify and runbook (steps with name, run, \
optional expect/capture/mutates); the first step must not mutate; every step that mutates comes \
after a diagnostic step with an expect or capture; every {{var}} in a run is captured by an \
earlier step; ports, paths and pids are discovered, never hard-coded; no inline !`cmd`. Keep \
diagnose-first order and every safety check before a change. Remove what does not help \
(redundant diagnostics, needless sleeps, repeated checks) and fix what made a run fail. Return \
the complete new SKILL.md inside one ``` block."""


class SkillAdapter:
    """A `gepa.GEPAAdapter` over SKILL.md candidates of one skill (DataInst = `Instance`)."""

    propose_new_texts = None  # gepa's reflective proposer, with our template, proposes

    def __init__(self, skill_id: str, evaluator: Evaluator, *,
                 on_evaluated: Callable[[Candidate, CandidateEval], None] | None = None,
                 parent_of: Callable[[str], str | None] | None = None) -> None:
        self.skill_id = skill_id
        self.evaluator = evaluator
        self.on_evaluated = on_evaluated
        self.parent_of = parent_of or (lambda text: None)

    def candidate(self, components: Mapping[str, str]) -> Candidate:
        text = components.get(COMPONENT, "")
        return Candidate(skill_id=self.skill_id, text=text, origin="gepa",
                         parent=self.parent_of(text))

    def evaluate(self, batch: list[Instance], candidate: dict[str, str],
                 capture_traces: bool = False) -> Any:
        from gepa import EvaluationBatch

        cand = self.candidate(candidate)
        evaluation = self.evaluator.evaluate(cand, batch)
        if self.on_evaluated:
            self.on_evaluated(cand, evaluation)
        results = evaluation.results
        return EvaluationBatch(
            outputs=[r.model_dump(exclude={"actions"}) for r in results],
            scores=[r.score for r in results],
            trajectories=list(results) if capture_traces else None)

    def make_reflective_dataset(self, candidate: dict[str, str], eval_batch: Any,
                                components_to_update: list[str]) -> dict[str, list[dict]]:
        records = [reflective_record(r) for r in (eval_batch.trajectories or [])]
        return {name: records for name in components_to_update}


def reflective_record(result: InstanceResult) -> dict[str, Any]:
    """What the reflection model reads about one run."""
    commands = "\n".join(
        f"$ {a['command']}  [{a.get('risk') or '-'}, {a['decision']}]\n"
        f"{(a.get('observation') or '').strip()[:300]}"
        for a in result.actions if a.get("tool") == "terminal") or "(no command ran)"
    return {
        "Inputs": {"scenario": result.scenario, "seed": str(result.seed)},
        "Generated Outputs": {"commands": commands, "claim": result.claim or "(none)"},
        "Feedback": f"score {result.score:.3f}: {result.feedback}",
    }


class StandInReflectionLM:
    """DETERMINISTIC STAND-IN for a reflection LLM; it is not a model and reads no feedback.

    It takes the SKILL.md between the template's markers and returns it, in a ``` block, with
    its first redundant step removed (the iterative optimizer's first valid safe cut), or
    unchanged when there is none. `calls` counts the prompts it answered.
    """

    def __init__(self, skill_id: str) -> None:
        self.skill_id = skill_id
        self.calls = 0

    def __call__(self, prompt: str | list[dict[str, Any]]) -> str:
        self.calls += 1
        text = prompt if isinstance(prompt, str) else str(prompt[-1].get("content", ""))
        match = re.search(re.escape(_BEGIN) + r"\n(.*)\n" + re.escape(_END), text, re.DOTALL)
        if not match:
            return "```\n\n```"
        current = Candidate(skill_id=self.skill_id, text=match.group(1))
        try:
            edits = propose_edits(current)
        except ValueError:  # SkillInvalid: nothing to cut in an invalid file
            edits = []
        edit = next((e for e in edits if e.kind in SAFE_CUTS and e.valid), None)
        return f"```markdown\n{edit.text if edit else current.text}```"


def litellm_reflection_lm(model: str, *, timeout_s: float = 120.0,
                          num_retries: int = 2) -> Callable[[str], str]:
    """A reflection LM over litellm (lazy import; credentials from the environment)."""
    def complete(prompt: str | list[dict[str, Any]]) -> str:

        prepare_environment()
        import litellm

        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        response = litellm.completion(model=model, messages=messages, timeout=timeout_s,
                                      num_retries=num_retries, drop_params=True)
        return response.choices[0].message.content or ""

    return complete


class _GepaLog:
    """gepa's logger protocol onto `logging` (the core never prints)."""

    def log(self, message: str) -> None:
        log.info("gepa: %s", message)


class GepaOptimizer:
    """GEPA over the SKILL.md text; budget = candidate evaluations (turned into metric calls)."""

    name = "gepa"
    description = "GEPA reflective evolution of the SKILL.md text (reflection via litellm)"

    def preflight(self, *, reflection_model: str | None) -> None:
        """Fail before any run when the search could not start."""
        if not reflection_model:
            _reflection_lm_missing()

    def search(self, ctx: SearchContext) -> SearchOutcome:

        lm = ctx.reflection_lm or _reflection_lm(ctx)
        prepare_environment()  # gepa may import litellm
        import gepa

        parents: dict[str, str | None] = {ctx.seed.text: None}
        evaluations: list[tuple[Candidate, CandidateEval]] = []

        def evaluated(cand: Candidate, evaluation: CandidateEval) -> None:
            evaluations.append((cand, evaluation))
            phase = "val" if _keys(evaluation) <= {i.key for i in ctx.val} else "train"
            decision = "invalid" if evaluation.invalid else "evaluated"
            ctx.record(candidate_event(cand, evaluation, phase=phase, decision=decision,
                                       reason=evaluation.invalid or "gepa evaluation"))

        adapter = SkillAdapter(ctx.skill_id, ctx.evaluator, on_evaluated=evaluated,
                               parent_of=lambda text: parents.get(text, ctx.seed.version))
        train, val = list(ctx.train), list(ctx.val)
        minibatch = max(1, min(len(train), int(ctx.options.get("minibatch", 3))))
        metric_calls = len(val) + max(1, ctx.budget) * (2 * minibatch + len(val))
        result = gepa.optimize(
            seed_candidate={COMPONENT: ctx.seed.text}, trainset=train, valset=val,
            adapter=adapter, reflection_lm=lm, reflection_prompt_template=REFLECTION_TEMPLATE,
            candidate_selection_strategy="current_best", reflection_minibatch_size=minibatch,
            skip_perfect_score=False, max_metric_calls=metric_calls, logger=_GepaLog(),
            display_progress_bar=False, seed=int(ctx.options.get("seed", 0)),
            raise_on_exception=True)
        best_text = result.best_candidate[COMPONENT]
        best = ctx.seed if best_text == ctx.seed.text else ctx.seed.derive(best_text, "gepa")
        train_eval = next((e for c, e in evaluations if c.text == best_text
                           and _keys(e) == {i.key for i in train}), None)
        proposed = len({c.version for c, _ in evaluations} - {ctx.seed.version})
        notes = [f"gepa explored {len(result.candidates)} candidate(s) "
                 f"({proposed} new text(s) evaluated), {result.total_metric_calls} runs; "
                 f"best validation score {result.val_aggregate_scores[result.best_idx]:.3f}"]
        return SearchOutcome(best=best, train_eval=train_eval, evaluated=proposed, notes=notes)


def _keys(evaluation: CandidateEval) -> set[str]:
    return {f"{r.scenario}#{r.seed}" for r in evaluation.results}


def _reflection_lm_missing() -> NoReturn:
    raise UsageError("--optimizer gepa needs --reflection-model",
                     f"any litellm model, or {STAND_IN!r} for the deterministic offline stand-in")


def _reflection_lm(ctx: SearchContext) -> Callable[[str], str]:
    model = ctx.reflection_model
    if not model:
        _reflection_lm_missing()
    if model == STAND_IN:
        return StandInReflectionLM(ctx.skill_id)
    return litellm_reflection_lm(model)
