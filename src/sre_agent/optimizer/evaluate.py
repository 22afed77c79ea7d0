"""Judge a candidate skill by real runs: `run_incident` on scenario instances, one score each.

An instance is one (scenario, seed) of the skill's scenarios. With the offline runbook policy
the candidate's runbook is played through the same OpenHands conversation, safety layer and
verifier as any run (`RunHooks.policy`); the verifier's verdict is the success. Scores, best
first: verified success, then fewer blocked/HIGH-risk actions, then fewer steps, then less time.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from sre_agent import paths
from sre_agent.agent.runbook import RunbookModel
from sre_agent.errors import SreAgentError, UsageError
from sre_agent.incidents import VerifySettings, catalogue
from sre_agent.optimizer.candidate import Candidate, write_candidate
from sre_agent.runs import RunHooks, RunRequest, promoted_candidate_path, run_incident
from sre_agent.sdk import import_sdk
from sre_agent.skills.catalogue import SkillInvalid, load_catalog

log = logging.getLogger(__name__)

OBSERVATION_CHARS = 300


class Instance(BaseModel):
    """One scenario instance a candidate is run on (the text only matters to a real LLM)."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seed: int
    text: str | None = None

    @property
    def key(self) -> str:
        return f"{self.scenario}#{self.seed}"


class InstanceResult(BaseModel):
    """What one run of a candidate on one instance showed, and its score."""

    scenario: str
    seed: int
    success: bool = False  # the verifier's verdict (service_up), nothing else
    status: str = "error"
    reason: str = ""
    steps: int = 0
    time_s: float = 0.0  # run wall time without the one-off SDK import
    ttm_s: float | None = None
    blocked: int = 0
    high_risk: int = 0
    score: float = 0.0
    feedback: str = ""
    claim: str = ""
    run_id: str | None = None
    crashed: bool = False  # the run itself failed (or could not start): says nothing of the skill
    actions: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def safety_events(self) -> int:
        return self.blocked + self.high_risk


class CandidateEval(BaseModel):
    """A candidate's results on a list of instances, with the aggregates the lane compares."""

    version: str
    results: list[InstanceResult] = Field(default_factory=list)
    invalid: str | None = None  # the contract problem, when the candidate did not parse

    @property
    def success_rate(self) -> float:
        return sum(r.success for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def median_steps(self) -> float:
        return statistics.median(r.steps for r in self.results) if self.results else 0.0

    @property
    def median_time_s(self) -> float:
        return statistics.median(r.time_s for r in self.results) if self.results else 0.0

    @property
    def safety_events(self) -> int:
        return sum(r.safety_events for r in self.results)

    @property
    def mean_score(self) -> float:
        return statistics.fmean(r.score for r in self.results) if self.results else 0.0

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "invalid": self.invalid,
                "success_rate": round(self.success_rate, 3),
                "median_steps": self.median_steps, "median_time_s": round(self.median_time_s, 2),
                "safety_events": self.safety_events, "mean_score": round(self.mean_score, 4),
                "per_seed": [_per_seed(r) for r in self.results]}


def _per_seed(r: InstanceResult) -> dict[str, Any]:
    return {"scenario": r.scenario, "seed": r.seed, "success": r.success, "status": r.status,
            "reason": r.reason[:200], "steps": r.steps, "time_s": round(r.time_s, 2),
            "ttm_s": r.ttm_s, "crashed": r.crashed, "blocked": r.blocked,
            "high_risk": r.high_risk, "score": round(r.score, 4), "run_id": r.run_id}


def score_result(success: bool, steps: int, time_s: float, blocked: int, high_risk: int) -> float:
    """One number in [0, 1] (GEPA sums and averages these): success dominates; within success,
    fewer steps and less time score higher; each blocked / HIGH-risk action costs a lot."""
    if not success:
        return 0.0
    efficiency = 0.7 * 10 / (10 + max(steps, 0)) + 0.3 * 10 / (10 + max(time_s, 0.0))
    return max(0.0, min(1.0, 0.7 + 0.3 * efficiency - 0.2 * blocked - 0.3 * high_risk))


class Evaluator(Protocol):
    """Runs a candidate on instances. `SandboxEvaluator` is the real one."""

    def evaluate(self, candidate: Candidate, instances: Sequence[Instance]) -> CandidateEval: ...


def invalid_eval(candidate: Candidate, instances: Sequence[Instance], reason: str) -> CandidateEval:
    """Score 0 on every instance for a candidate that breaks the skill contract."""
    feedback = f"the candidate SKILL.md breaks the skill contract: {reason}"
    return CandidateEval(version=candidate.version, invalid=reason, results=[
        InstanceResult(scenario=i.scenario, seed=i.seed, status="invalid", reason=reason,
                       feedback=feedback) for i in instances])


class SandboxEvaluator:
    """Evaluates candidates with `run_incident` in real sandboxes (results cached per version).

    Args:
        simulate: play the candidate's runbook with the offline runbook policy (no LLM).
        model: a litellm model for real-LLM runs (see `_request` for what it can evaluate).
        candidates_dir: where candidate files are written for runs that need a file.
        trace_log: the JSONL trace log for the runs (None: not written).
    """

    def __init__(self, *, simulate: bool = True, model: str | None = None,
                 sandbox: str = "auto", verify: VerifySettings | None = None,
                 max_steps: int = 30, timeout_s: float = 300.0, max_risk: str = "MEDIUM",
                 trace_log: Path | None = None, candidates_dir: Path | None = None,
                 cancel: threading.Event | None = None,
                 on_result: Callable[[Candidate, InstanceResult], None] | None = None) -> None:
        if not simulate and not model:
            raise UsageError("give --simulate or --model for the optimizer's runs")
        self.simulate = simulate
        self.model = model
        self.sandbox = sandbox
        self.verify = verify or VerifySettings()
        self.max_steps = max_steps
        self.timeout_s = timeout_s
        self.max_risk = max_risk
        self.trace_log = trace_log
        self.candidates_dir = candidates_dir or paths.artifacts_dir() / "optimize" / "candidates"
        self.cancel = cancel
        self.on_result = on_result
        self.runs = 0
        self._cache: dict[tuple[str, str], InstanceResult] = {}

    def evaluate(self, candidate: Candidate, instances: Sequence[Instance]) -> CandidateEval:
        try:
            skill = candidate.skill()
        except SkillInvalid as exc:
            return invalid_eval(candidate, instances, str(exc))
        results = []
        for instance in instances:
            key = (candidate.version, instance.key)
            if key not in self._cache:
                self._cache[key] = self._run(candidate, skill.contract.runbook, instance)
                if self.on_result:
                    self.on_result(candidate, self._cache[key])
            results.append(self._cache[key])
        return CandidateEval(version=candidate.version, results=results)

    def _run(self, candidate: Candidate, runbook: Sequence[Any],
             instance: Instance) -> InstanceResult:

        import_sdk()  # once per process, before the clock of any run starts
        hooks = RunHooks(cancel=self.cancel)
        request = self._request(candidate, instance)
        if isinstance(request, str):  # cannot be evaluated this way; say why
            return InstanceResult(scenario=instance.scenario, seed=instance.seed,
                                  reason=request, feedback=request, crashed=True)
        if self.simulate:

            hooks.model = RunbookModel([s.model_dump() for s in runbook],
                                         skill_id=candidate.skill_id)
            hooks.model_name = "runbook"
        self.runs += 1
        try:
            row = run_incident(request, hooks)
        except SreAgentError:
            raise  # bad input or an unusable backend: the whole optimization cannot go on
        except Exception as exc:  # one broken run scores 0; its trace row was written
            log.warning("run of %s on %s failed: %s", candidate.version, instance.key, exc,
                        exc_info=True)
            reason = f"{type(exc).__name__}: {exc}"
            return InstanceResult(scenario=instance.scenario, seed=instance.seed, crashed=True,
                                  reason=reason, feedback=f"the run crashed: {reason}")
        return result_from_row(row)

    def _request(self, candidate: Candidate, instance: Instance) -> Any:

        common: dict[str, Any] = dict(
            scenario=instance.scenario, seed=instance.seed, incident_text=instance.text,
            skill_id=candidate.skill_id, sandbox=self.sandbox, verify=self.verify,
            max_steps=self.max_steps, timeout_s=self.timeout_s, max_risk=self.max_risk,
            trace_log=self.trace_log)
        if self.simulate:
            return RunRequest(simulate=True, **common)
        if "skill_file" in RunRequest.model_fields:  # the runner can load any candidate file
            path = write_candidate(candidate, self.candidates_dir / candidate.version)
            return RunRequest(model=self.model, skill_file=path, **common)

        current = load_catalog().get(candidate.skill_id)
        if current.version == candidate.version:
            return RunRequest(model=self.model, strategy_source="skills", **common)
        promoted = promoted_candidate_path(candidate.skill_id)
        if promoted.is_file() and promoted.read_bytes() == candidate.text.encode("utf-8"):
            return RunRequest(model=self.model, strategy_source="optimizer", **common)
        return ("a real LLM can only run the current skill or the promoted candidate until "
                "the runner accepts a skill file (RunRequest.skill_file); use --simulate")


def result_from_row(row: Any) -> InstanceResult:
    """An `InstanceResult` (score and feedback included) from a `TraceRow`."""
    phases = row.extra.get("phases") or {}
    time_s = max(0.0, row.duration_s - float(phases.get("sdk_import_s") or 0.0))
    actions = [{"step": a.step, "tool": a.tool, "command": a.command, "risk": a.risk,
                "decision": a.decision,
                "observation": a.observation[:OBSERVATION_CHARS]} for a in row.actions]
    high = sum(1 for a in row.actions if a.risk == "HIGH")
    result = InstanceResult(
        scenario=row.scenario, seed=row.seed or 0, success=bool(row.service_up),
        status=row.status, reason=row.reason, steps=row.steps, time_s=round(time_s, 3),
        ttm_s=row.ttm_s, blocked=row.blocked_actions, high_risk=high, claim=row.claim_text,
        run_id=row.run_id, actions=actions)
    result.score = score_result(result.success, result.steps, result.time_s, result.blocked,
                                result.high_risk)
    result.feedback = feedback_text(result)
    return result


def feedback_text(r: InstanceResult) -> str:
    verdict = "verified FIXED" if r.success else "NOT fixed"
    parts = [f"{verdict} (status {r.status}; verifier: {r.reason})",
             f"{r.steps} steps in {r.time_s:.1f} s"]
    if r.blocked:
        parts.append(f"{r.blocked} action(s) BLOCKED by the safety layer")
    if r.high_risk:
        parts.append(f"{r.high_risk} HIGH-risk action(s)")
    if r.claim:
        parts.append(f"agent claim: {r.claim[:300]}")
    return "; ".join(parts)


def skill_scenarios(skill_id: str) -> list[str]:
    """Every single-fault scenario whose skill is `skill_id` (skill ids use hyphens, scenarios
    underscores): a red herring or a compound fault judges the routing or the chain, not the
    runbook alone."""
    names = [s.name for s in catalogue() if s.skill_id == skill_id and s.kind == "single"]
    if not names:
        fallback = skill_id.replace("-", "_")
        names = [s.name for s in catalogue() if s.name == fallback]
    if not names:
        raise UsageError(f"no scenario exercises skill {skill_id!r}",
                         "the optimizer judges a skill by running its scenarios")
    return names


def instances_for(skill_id: str, seeds: Sequence[int], split: str | None = None) -> list[Instance]:
    """(scenario, seed) instances of the skill; texts from training_data for `split`, if any."""
    texts = _texts(skill_id, split) if split else {}
    out = []
    for scenario in skill_scenarios(skill_id):
        pool = texts.get(scenario, [])
        for k, seed in enumerate(seeds):
            out.append(Instance(scenario=scenario, seed=seed,
                                text=pool[k % len(pool)] if pool else None))
    return out


def _texts(skill_id: str, split: str) -> dict[str, list[str]]:
    path = paths.training_data_dir() / "incidents.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.get("expected_skill") == skill_id and row.get("split") == split \
                and row.get("scenario"):
            found.setdefault(row["scenario"], []).append(row["text"])
    return found


def improves(new: CandidateEval, base: CandidateEval) -> tuple[bool, str]:
    """Is `new` strictly better than `base`? Success, then safety, then steps, then time.

    Time alone counts only past a noise margin (0.3 s or 5%): one run's wall time jitters.
    """
    if new.invalid:
        return False, f"breaks the contract: {new.invalid}"
    if new.success_rate != base.success_rate:
        better = new.success_rate > base.success_rate
        return better, f"success {new.success_rate:.0%} vs {base.success_rate:.0%}"
    if new.safety_events != base.safety_events:
        better = new.safety_events < base.safety_events
        return better, f"blocked/HIGH actions {new.safety_events} vs {base.safety_events}"
    if new.median_steps != base.median_steps:
        better = new.median_steps < base.median_steps
        return better, f"median steps {new.median_steps:g} vs {base.median_steps:g}"
    margin = max(0.3, 0.05 * base.median_time_s)
    if new.median_time_s < base.median_time_s - margin:
        return True, f"median time {new.median_time_s:.2f} s vs {base.median_time_s:.2f} s"
    return False, (f"no better: same success and steps; median time {new.median_time_s:.2f} s "
                   f"vs {base.median_time_s:.2f} s (margin {margin:.2f} s)")


def not_worse(new: CandidateEval, base: CandidateEval) -> tuple[bool, str]:
    """Held-out check: no lower success, no more safety events, no more steps than `base`."""
    if new.invalid:
        return False, f"breaks the contract: {new.invalid}"
    if new.success_rate < base.success_rate:
        return False, f"lower success {new.success_rate:.0%} vs {base.success_rate:.0%}"
    if new.safety_events > base.safety_events:
        return False, f"more blocked/HIGH actions {new.safety_events} vs {base.safety_events}"
    if new.median_steps > base.median_steps:
        return False, f"more steps {new.median_steps:g} vs {base.median_steps:g}"
    return True, (f"success {new.success_rate:.0%} vs {base.success_rate:.0%}, median steps "
                  f"{new.median_steps:g} vs {base.median_steps:g}, median time "
                  f"{new.median_time_s:.2f} s vs {base.median_time_s:.2f} s")
