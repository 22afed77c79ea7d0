"""The optimizer lane: search on training seeds, choose on validation seeds, gate, promote.

`optimize(req)` runs one optimization of one skill:

1. the optimizer searches from the seed skill (`--from`, else the current skill), judging
   candidates on the training instances only;
2. its best candidate is compared with the seed on the held-out validation instances (no
   lower success, no more blocked/HIGH actions, no more steps);
3. the regression gate runs every scenario of the skill on seeds neither search nor
   validation saw, for the candidate and the current skill;
4. only then is it promoted (and with `apply`, written over the skill file); otherwise it is
   kept as a rejected candidate with the reason.

Everything lands under `artifacts/optimize/<run-id>/`: the candidate SKILL.md, its diff against
the current skill, the scores per seed, the optimization trace (JSONL) and a summary.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.incidents import VerifySettings
from sre_agent.optimizer import store
from sre_agent.optimizer.base import SearchContext, candidate_event
from sre_agent.optimizer.candidate import Candidate, unified_diff
from sre_agent.optimizer.evaluate import (
    CandidateEval,
    Evaluator,
    InstanceResult,
    SandboxEvaluator,
    instances_for,
    not_worse,
)
from sre_agent.optimizer.gate import DEFAULT_REGRESSION_SEEDS, GateVerdict, regression_gate
from sre_agent.optimizer.registry import get_optimizer
from sre_agent.skills.catalogue import load_catalog

TRACE_SCHEMA_VERSION = 1
Outcome = Literal["promoted", "rejected", "no_candidate", "unchanged"]


class OptimizeRequest(BaseModel):
    """One optimization; mirrors the flags of `sre-agent optimize`."""

    optimizer: str
    skill_id: str
    budget: int = Field(8, ge=0)
    train_seeds: list[int] = Field(default_factory=lambda: [1, 2])
    val_seeds: list[int] = Field(default_factory=lambda: [3, 4])
    regression_seeds: list[int] = Field(default_factory=lambda: list(DEFAULT_REGRESSION_SEEDS))
    simulate: bool = True
    model: str | None = None
    reflection_model: str | None = None
    from_path: Path | None = None
    apply: bool = False
    sandbox: str = "auto"
    verify: VerifySettings = Field(default_factory=VerifySettings)
    run_id: str | None = None
    skills_dir: Path | None = None  # default: `.agents/skills` of the project


class Comparison(BaseModel):
    """Before (seed or current skill) vs after (candidate) on one set of instances."""

    instances: list[str]
    before: dict[str, Any]
    after: dict[str, Any]


class OptimizeResult(BaseModel):
    run_id: str
    run_dir: Path
    optimizer: str
    skill_id: str
    outcome: Outcome
    reason: str
    seed_version: str
    current_version: str
    candidate_version: str
    evaluations: int = 0  # candidate evaluations the search spent
    runs: int = 0  # sandbox runs in total
    duration_s: float = 0.0
    promoted_path: Path | None = None
    applied_path: Path | None = None
    applied_backup: Path | None = None
    applied_diff: str = ""
    validation: Comparison | None = None
    regression: GateVerdict | None = None
    notes: list[str] = Field(default_factory=list)


def _check_seeds(req: OptimizeRequest) -> None:
    named = {"--train-seeds": req.train_seeds, "--val-seeds": req.val_seeds,
             "--regression-seeds": req.regression_seeds}
    for flag, seeds in named.items():
        if not seeds:
            raise UsageError(f"{flag} is empty")
    groups = list(named.items())
    for i, (flag_a, a) in enumerate(groups):
        for flag_b, b in groups[i + 1:]:
            shared = sorted(set(a) & set(b))
            if shared:
                raise UsageError(f"{flag_a} and {flag_b} share seed(s) {shared}",
                                 "training, validation and regression seeds must be disjoint")


def _load(req: OptimizeRequest) -> tuple[Candidate, Candidate]:
    """(current skill, seed) as candidates; UsageError for a missing or invalid file."""

    skills_dir = req.skills_dir or paths.skills_dir()
    skill = load_catalog(skills_dir).get(req.skill_id)
    current = Candidate(skill_id=req.skill_id, text=skill.path.read_text(encoding="utf-8"),
                        origin="current")
    if req.from_path is None:
        return current, current
    try:
        text = Path(req.from_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --from {req.from_path}: {exc.strerror or exc}") from exc
    seed = Candidate(skill_id=req.skill_id, text=text, origin=f"from:{req.from_path}")
    problem = seed.problem()
    if problem:
        raise UsageError(f"--from {req.from_path} is not a valid {req.skill_id} skill: {problem}")
    return current, seed


def optimize(req: OptimizeRequest, *, evaluator: Evaluator | None = None,
             on_event: Callable[[dict[str, Any]], None] | None = None) -> OptimizeResult:
    """Run one optimization end to end (see the module docstring); returns its result."""
    started = time.time()
    optimizer = get_optimizer(req.optimizer)
    preflight = getattr(optimizer, "preflight", None)  # optional: fail before any run
    if preflight is not None:
        preflight(reflection_model=req.reflection_model)
    _check_seeds(req)
    current, seed = _load(req)
    run_id = req.run_id or f"opt-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    run_dir = store.optimize_root() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    trace_path = run_dir / "trace.jsonl"

    def record(event: dict[str, Any]) -> None:
        row = {"schema_version": TRACE_SCHEMA_VERSION, "run_id": run_id, "at": time.time(),
               **event}
        with trace_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=str) + "\n")
        if on_event:
            on_event(row)

    def on_result(cand: Candidate, result: InstanceResult) -> None:
        if on_event:
            on_event({"event": "run", "version": cand.version, "origin": cand.origin,
                      "scenario": result.scenario, "seed": result.seed,
                      "success": result.success, "steps": result.steps,
                      "time_s": result.time_s, "status": result.status})

    if evaluator is None:
        evaluator = SandboxEvaluator(simulate=req.simulate, model=req.model,
                                     sandbox=req.sandbox, verify=req.verify,
                                     trace_log=run_dir / "runs.jsonl",
                                     candidates_dir=run_dir / "candidates", on_result=on_result)
    train = instances_for(req.skill_id, req.train_seeds, "train")
    val = instances_for(req.skill_id, req.val_seeds, "val")
    regression = instances_for(req.skill_id, req.regression_seeds)
    record({"event": "start", "optimizer": optimizer.name, "skill_id": req.skill_id,
            "seed_version": seed.version, "current_version": current.version,
            "train": [i.key for i in train], "val": [i.key for i in val],
            "regression": [i.key for i in regression], "budget": req.budget})
    ctx = SearchContext(skill_id=req.skill_id, seed=seed, train=train, val=val,
                        evaluator=evaluator, budget=req.budget, record=record,
                        reflection_model=req.reflection_model)
    outcome = optimizer.search(ctx)
    best = outcome.best
    seed_val = evaluator.evaluate(seed, val)
    best_val = evaluator.evaluate(best, val)
    validation = Comparison(instances=[i.key for i in val], before=_numbers(seed_val),
                            after=_numbers(best_val))
    result = OptimizeResult(
        run_id=run_id, run_dir=run_dir, optimizer=optimizer.name, skill_id=req.skill_id,
        outcome="no_candidate", reason="", seed_version=seed.version,
        current_version=current.version, candidate_version=best.version,
        evaluations=outcome.evaluated, validation=validation, notes=list(outcome.notes))
    scores: dict[str, Any] = {"train": {"seed": None, "candidate": None},
                              "val": {"seed": seed_val.summary(), "candidate": best_val.summary()},
                              "regression": None}
    if outcome.train_eval is not None:
        scores["train"]["candidate"] = outcome.train_eval.summary()
    scores["train"]["seed"] = evaluator.evaluate(seed, train).summary()  # cached: no new runs

    if best.version == seed.version:
        result.reason = "the search found nothing better than the seed on the training seeds"
    else:
        ok, why = not_worse(best_val, seed_val)
        record(candidate_event(best, best_val, phase="val",
                               decision="chosen" if ok else "rejected", reason=why))
        if not ok:
            _reject(result, best, f"validation: {why}", req, scores)
        elif best.text == current.text:
            result.outcome, result.reason = "unchanged", "the candidate is the current skill"
        else:
            gate = regression_gate(best, current, evaluator, regression,
                                   seen_seeds=[*req.train_seeds, *req.val_seeds])
            result.regression = gate
            scores["regression"] = {"candidate": gate.candidate, "current": gate.current,
                                    "checks": [c.model_dump() for c in gate.checks]}
            record(candidate_event(best, None, phase="regression",
                                   decision="promoted" if gate.passed else "rejected",
                                   reason=gate.reason))
            if gate.passed:
                _promote(result, best, req, scores)
            else:
                _reject(result, best, f"regression gate: {gate.reason}", req, scores)
    result.runs = getattr(evaluator, "runs", 0)
    result.duration_s = round(time.time() - started, 2)
    _write_artifacts(run_dir, best, current, scores, result)
    record({"event": "done", "outcome": result.outcome, "reason": result.reason,
            "candidate_version": best.version, "runs": result.runs})
    return result


def _numbers(evaluation: CandidateEval) -> dict[str, Any]:
    ttms = [r.ttm_s for r in evaluation.results if r.ttm_s is not None]
    return {"version": evaluation.version, "success_rate": round(evaluation.success_rate, 3),
            "median_steps": evaluation.median_steps,
            "median_time_s": round(evaluation.median_time_s, 2),
            "median_ttm_s": round(statistics.median(ttms), 2) if ttms else None,
            "safety_events": evaluation.safety_events}


def _record(result: OptimizeResult, cand: Candidate, req: OptimizeRequest, status: str,
            scores: dict[str, Any]) -> store.CandidateRecord:
    return store.CandidateRecord(
        skill_id=cand.skill_id, version=cand.version, parent=cand.parent, origin=cand.origin,
        optimizer=result.optimizer, run_id=result.run_id, status=status, reason=result.reason,
        seeds={"train": req.train_seeds, "val": req.val_seeds,
               "regression": req.regression_seeds},
        scores=scores)


def _promote(result: OptimizeResult, cand: Candidate, req: OptimizeRequest,
             scores: dict[str, Any]) -> None:
    result.outcome = "promoted"
    result.reason = "better than the seed on training, not worse on validation, regression passed"
    result.promoted_path = store.promote(cand, _record(result, cand, req, "promoted", scores))
    if req.apply:
        applied = store.apply_to_skill(cand, req.skills_dir)
        result.applied_path, result.applied_backup = applied.path, applied.backup
        result.applied_diff = applied.diff


def _reject(result: OptimizeResult, cand: Candidate, reason: str, req: OptimizeRequest,
            scores: dict[str, Any]) -> None:
    result.outcome, result.reason = "rejected", reason
    store.reject(cand, _record(result, cand, req, "rejected", scores))


def _write_artifacts(run_dir: Path, best: Candidate, current: Candidate,
                     scores: dict[str, Any], result: OptimizeResult) -> None:
    (run_dir / "SKILL.md").write_text(best.text, encoding="utf-8")
    (run_dir / "candidate.diff").write_text(
        unified_diff(current.text, best.text, f"current/{current.skill_id}/SKILL.md",
                     f"candidate/{best.skill_id}/SKILL.md"), encoding="utf-8")
    store.write_json(run_dir / "scores.json", scores)
    store.write_json(run_dir / "summary.json", result.model_dump(mode="json"))
