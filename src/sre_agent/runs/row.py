"""The trace row of one run: announced when it starts (`new_row`), completed from what
happened (`fill_row`), redacted and appended to the trace log (`finish_row`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sre_agent import settings
from sre_agent.agent.driver import AgentOutcome
from sre_agent.agent.llm import ModelConfig
from sre_agent.agent.model_server import take_simulated_latency
from sre_agent.incidents import Verdict
from sre_agent.runs.progress import progress
from sre_agent.runs.request import RunHooks, RunRequest
from sre_agent.runs.strategy import Strategy
from sre_agent.safety import Redactor
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    count_mutations,
    summarize_actions,
    time_to_mitigate,
)


def observability(row: TraceRow) -> dict[str, str]:
    if not settings.configured(settings.OBSERVABILITY_VARS):
        return {}
    return {"incident_id": row.incident_id, "scenario": row.scenario,
            "skill": row.skill_id or "none", "run_id": row.run_id}


def _status(outcome: AgentOutcome | None, verdict: Verdict | None) -> tuple[str, str]:
    if outcome is None:
        return "error", "the agent did not run"
    if outcome.end in ("timeout", "limit", "stuck"):
        return "limit", outcome.reason
    if outcome.end == "cancelled":
        return "cancelled", outcome.reason
    if outcome.claim_kind == "ESCALATE":
        return "escalated", f"the agent escalated: {outcome.claim_text[:300]}"
    if outcome.end == "error":
        return "error", outcome.reason
    if verdict is not None and verdict.healthy:
        if outcome.claim_kind == "NOTHING_TO_FIX":
            return "nothing_to_fix", "verified healthy; the agent found nothing to fix"
        return "fixed", verdict.reason
    reason = verdict.reason if verdict else "not verified"
    return "not_fixed", reason


def finish_row(row: TraceRow, req: RunRequest, hooks: RunHooks,
               failure: BaseException | None) -> TraceRow:
    """Append the (redacted) row to the trace log, announce "done", re-raise a failure."""
    t = time.perf_counter()
    waited = take_simulated_latency(hooks.model_server, row.run_id)
    if waited is not None:  # the offline model's simulated LLM latency, not real time
        row.extra["simulated_latency"] = waited
    clean = redacted(row)
    if req.trace_log is not None:
        TraceWriter(req.trace_log).append(clean)
    clean.extra.setdefault("phases", {})["trace_write_s"] = round(time.perf_counter() - t, 4)
    progress(hooks, "done", status=row.status, service_up=row.service_up)
    if failure is not None:
        raise failure
    return clean


def new_row(req: RunRequest, hooks: RunHooks, *, started: float, incident_id: str,
            backend: str, backend_reason: str, strategy: Strategy, model_cfg: ModelConfig,
            incident_text: str, worker: str | None = None) -> TraceRow:
    """The trace row of a run that is starting (announced to the caller as "planned")."""
    row = TraceRow(
        run_id=req.run_id or f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
        started_at=started, scenario=req.scenario, seed=req.seed, incident_id=incident_id,
        incident_text=incident_text, mode=req.mode, strategy_source=strategy.source,
        skill_id=strategy.skill_id, skill_version=strategy.skill.version if strategy.skill
        else None, route_confidence=strategy.route_confidence,
        route_source=strategy.route_source,
        model=(hooks.model_name if hooks.model is not None else "runbook")
        if model_cfg.simulated else model_cfg.model,
        simulated=model_cfg.simulated, sandbox_backend=backend, worker=worker,
    )
    row.extra.update({"route": strategy.route_reason, "model_origin": origin(model_cfg),
                      "sandbox_reason": backend_reason})
    progress(hooks, "planned", run_id=row.run_id, scenario=req.scenario,
             skill=strategy.skill_id, model=row.model, sandbox=backend, worker=worker,
             sandbox_reason=backend_reason, route=strategy.route_reason)
    return row


def apply_routing(row: TraceRow, strategy: Strategy) -> None:
    """Record a choice made after the row was announced (triage): the skill, both sources
    (text score, checks run, what matched) and why."""
    row.skill_id = strategy.skill_id
    row.skill_version = strategy.skill.version if strategy.skill else None
    row.route_confidence = strategy.route_confidence
    row.route_source = strategy.route_source  # type: ignore[assignment]
    row.extra["route"] = strategy.route_reason
    if strategy.triage is not None:
        row.route_overruled = strategy.triage.decision.overruled
        row.extra["triage"] = strategy.triage.trace_record()


def origin(cfg: ModelConfig) -> str:
    return "runbook policy (offline)" if cfg.simulated else "litellm"


def fill_row(row: TraceRow, outcome: AgentOutcome | None, verdict: Verdict | None,
             failure: BaseException | None, phases: dict[str, float], sandbox: Any,
             req: RunRequest) -> None:
    """Complete the row from what happened (`sandbox` needs `root` and `incident`)."""
    row.ended_at = time.time()
    row.duration_s = round(row.ended_at - row.started_at, 3)
    actions: list[TraceAction] = outcome.actions if outcome else []
    row.actions = actions
    row.steps = outcome.steps if outcome else 0
    if outcome:
        row.tokens_in, row.tokens_out = outcome.tokens_in, outcome.tokens_out
        row.cost_usd = outcome.cost_usd
        row.claim_text = outcome.claim_text
        row.claimed_fixed = outcome.claim_kind == "FIXED"
        row.escalated = outcome.claim_kind == "ESCALATE"
    if verdict is not None:
        row.verdict = TraceVerdict(
            healthy=verdict.healthy, probes=verdict.probes,
            ground_truth_ok=verdict.ground_truth_ok,
            ground_truth_detail=verdict.ground_truth_detail, reason=verdict.reason)
        row.service_up = verdict.healthy
        row.ttm_s = time_to_mitigate(row.incident_started_at, row.verdict)
    row.status, row.reason = _status(outcome, verdict)
    if failure is not None:
        row.status = "cancelled" if isinstance(failure, KeyboardInterrupt) else "error"
        row.reason = f"{type(failure).__name__}: {' '.join(str(failure).split())[:300]}"
    row.extra["claim_disagrees"] = bool(outcome) and row.claimed_fixed != row.service_up \
        and row.status not in ("nothing_to_fix",)
    row.extra["phases"] = {k: round(v, 4) for k, v in phases.items()}
    row.extra["kept_sandbox"] = str(sandbox.root) if req.keep_sandbox else None
    row.extra["expected_outcome"] = sandbox.incident.expected_outcome
    row.extra["end"] = outcome.end if outcome else None
    row.extra["mutating_actions"] = count_mutations(actions)
    row.extra["params"] = sandbox.incident.params
    row.extra["limits"] = {"agent_s": req.timeout_s, "verify_s": round(req.verify.budget_s(), 1)}
    for name, value in summarize_actions(actions).items():
        setattr(row, name, value)


def redacted(row: TraceRow) -> TraceRow:
    redactor = Redactor.from_environment()
    return TraceRow.model_validate(redactor.redact_obj(row.model_dump(mode="json")))
