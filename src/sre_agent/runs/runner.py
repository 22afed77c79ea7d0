"""`run_incident`: one incident end to end.

Sandbox up (fault live) -> strategy (router / skill / hint) -> the OpenHands agent in the
sandbox (a real LLM, or the offline runbook policy served on loopback) -> the verifier gate ->
one trace row -> teardown. Every run that got as far as creating its sandbox writes its row,
whatever happened; a failure of our own code is recorded and then re-raised.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

from sre_agent import paths, settings
from sre_agent.agent.driver import AgentOutcome, AgentSetup, Confirmer, run_agent
from sre_agent.agent.llm import ModelConfig, resolve_model
from sre_agent.errors import UsageError
from sre_agent.incidents.catalogue import get_scenario
from sre_agent.incidents.verifier import Verdict, VerifyPolicy, verify
from sre_agent.runs.strategy import Mode, Strategy, StrategySource, choose_strategy, task_text
from sre_agent.sandbox import create_sandbox
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    check_trace_log,
    summarize_actions,
    time_to_mitigate,
)

RISKS = ("LOW", "MEDIUM", "HIGH")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
logger = logging.getLogger(__name__)


class RunRequest(BaseModel):
    """What to run; mirrors the flags of `sre-agent run`."""

    scenario: str
    seed: int = 1
    incident_text: str | None = None
    mode: Mode = "optimized"
    strategy_source: StrategySource = "skills"
    skill_id: str | None = None
    skill_file: Path | None = None  # a candidate SKILL.md to use instead of the catalogue's
    model: str | None = None
    simulate: bool = False
    sandbox: str = "auto"
    keep_sandbox: bool = False
    max_steps: int = Field(30, ge=1)
    timeout_s: float = Field(300.0, gt=0)
    verify: VerifyPolicy = Field(default_factory=VerifyPolicy)
    max_risk: str = "MEDIUM"
    confirm_risk: str | None = None
    trace_log: Path | None = Field(default_factory=paths.default_trace_log)
    run_id: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RunRequest:
        """Rules between fields, checked wherever a request is built (CLI, web, fan-out)."""
        from sre_agent.safety import Risk

        self.max_risk = Risk.parse(self.max_risk).value
        if self.confirm_risk is not None:
            self.confirm_risk = Risk.parse(self.confirm_risk).value
            if Risk(self.confirm_risk) > Risk(self.max_risk):
                raise UsageError(
                    f"--require-confirmation-for-risk {self.confirm_risk} is above "
                    f"--max-security-risk {self.max_risk}: such actions are blocked, never "
                    "asked about", "lower the confirmation level or raise the maximum")
        if self.run_id is not None and not RUN_ID.fullmatch(self.run_id):
            raise UsageError(f"--run-id {self.run_id!r} is not a valid run id",
                             "use 1-128 letters, digits, '.', '_', ':' or '-', starting with "
                             "a letter or digit")
        return self


@dataclass
class RunHooks:
    """Live plumbing that is not part of the request (not serialisable)."""

    confirmer: Confirmer | None = None
    cancel: threading.Event | None = None
    on_progress: Callable[[str, dict[str, Any]], None] | None = None
    model_server: Any = None  # a started ModelServer to share (fan-out); else one per process
    policy: Any = None  # a test double (e.g. ScriptedPolicy) served instead of the runbook
    policy_name: str = "scripted"


_server_lock = threading.Lock()
_shared_server: Any = None


def shared_model_server() -> Any:
    """The process's loopback model server for the runbook policy (started on first use)."""
    global _shared_server
    with _server_lock:
        if _shared_server is None:
            from sre_agent.agent.model_server import ModelServer

            _shared_server = ModelServer().start()
        return _shared_server


def progress(hooks: RunHooks, stage: str, **info: Any) -> None:
    """Tell the caller's UI; a broken UI callback is logged, never allowed to abort a run.

    What leaves here (to a dashboard, the web UI's events and API) is redacted first.
    """
    if hooks.on_progress:
        try:
            hooks.on_progress(stage, redact_info(info))
        except Exception:
            logger.exception("progress callback failed at stage %s", stage)


def redact_info(info: dict[str, Any]) -> dict[str, Any]:
    """A copy of a progress payload with secrets redacted (models stay models)."""
    from pydantic import BaseModel

    from sre_agent.safety import Redactor

    redactor = Redactor.from_environment()
    clean: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, BaseModel):
            clean[key] = type(value).model_validate(redactor.redact_obj(value))
        else:
            clean[key] = redactor.redact_obj(value)
    return clean


def runbook_policy(strategy: Strategy) -> Any:
    from sre_agent.agent.runbook import RunbookPolicy

    if strategy.skill is None:
        return RunbookPolicy.no_skill()
    steps = [step.model_dump() for step in strategy.skill.contract.runbook]
    return RunbookPolicy(steps, skill_id=strategy.skill.id)


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


def run_incident(req: RunRequest, hooks: RunHooks | None = None) -> TraceRow:
    """Run one incident; returns its trace row (also appended to `req.trace_log`)."""
    hooks = hooks or RunHooks()
    check_request(req)
    started = time.time()
    model_cfg = resolve_model(req.model, req.simulate or hooks.policy is not None, os.environ)
    sandbox = create_sandbox(req.scenario, req.seed, req.sandbox, keep=req.keep_sandbox)
    incident_text = req.incident_text or sandbox.incident.text
    strategy = choose_strategy(incident_text=incident_text, mode=req.mode,
                               source=req.strategy_source, skill_id=req.skill_id,
                               skill_file=req.skill_file)
    row = new_row(req, hooks, started=started, incident_id=sandbox.id, backend=sandbox.backend,
                  backend_reason=getattr(sandbox, "choice_reason", ""), strategy=strategy,
                  model_cfg=model_cfg, incident_text=incident_text)
    outcome: AgentOutcome | None = None
    verdict: Verdict | None = None
    phases: dict[str, float] = {}
    failure: BaseException | None = None
    # The SDK import (seconds, once a process) overlaps the sandbox start instead of
    # following it: the fault is live from `sandbox.start()`, so this is time to mitigate.
    sdk_import: list[float] = []
    sdk_loader = threading.Thread(target=_import_sdk_quietly, args=(sdk_import,),
                                  name="sdk-import", daemon=True)
    sdk_loader.start()
    try:
        t = time.perf_counter()
        sandbox.start()
        phases["sandbox_start_s"] = time.perf_counter() - t
        sdk_loader.join()
        phases["sdk_import_overlapped_s"] = sdk_import[0] if sdk_import else 0.0
        row.incident_started_at = sandbox.timings.ready_at
        progress(hooks, "sandbox_ready", sandbox=sandbox.id, workdir=str(sandbox.workdir))
        outcome = run_conversation(req, hooks, workdir=sandbox.workdir, strategy=strategy,
                                   model_cfg=model_cfg, row=row, incident_text=incident_text)
        phases.update(outcome.timings)
        if outcome.end != "cancelled":
            progress(hooks, "verifying")
            t = time.perf_counter()
            verdict = verify(sandbox, sandbox.incident.service_port, req.verify)
            phases["verify_s"] = time.perf_counter() - t
    except BaseException as exc:  # recorded, then re-raised below
        failure = exc
    finally:
        t = time.perf_counter()
        if not req.keep_sandbox:
            try:
                sandbox.teardown()
            except Exception as exc:  # the row is still written; the failure is re-raised
                logger.exception("teardown of %s failed", sandbox.id)
                failure = failure or exc
        phases["teardown_s"] = time.perf_counter() - t
    fill_row(row, outcome, verdict, failure, phases, sandbox, req)
    return finish_row(row, req, hooks, failure)


def finish_row(row: TraceRow, req: RunRequest, hooks: RunHooks,
               failure: BaseException | None) -> TraceRow:
    """Append the (redacted) row to the trace log, announce "done", re-raise a failure."""
    t = time.perf_counter()
    clean = redacted(row)
    if req.trace_log is not None:
        TraceWriter(req.trace_log).append(clean)
    clean.extra.setdefault("phases", {})["trace_write_s"] = round(time.perf_counter() - t, 4)
    progress(hooks, "done", status=row.status, service_up=row.service_up)
    if failure is not None:
        raise failure
    return clean


def _import_sdk_quietly(took: list[float]) -> None:
    from sre_agent.agent.sdk import import_sdk

    try:
        took.append(import_sdk())
    except Exception:  # the conversation's own import will raise it with its traceback
        logger.debug("background SDK import failed", exc_info=True)


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
        model=(hooks.policy_name if hooks.policy is not None else "runbook")
        if model_cfg.simulated else model_cfg.model,
        simulated=model_cfg.simulated, sandbox_backend=backend, worker=worker,
    )
    row.extra.update({"route": strategy.route_reason, "model_origin": origin(model_cfg),
                      "sandbox_reason": backend_reason})
    progress(hooks, "planned", run_id=row.run_id, scenario=req.scenario,
             skill=strategy.skill_id, model=row.model, sandbox=backend, worker=worker,
             sandbox_reason=backend_reason, route=strategy.route_reason)
    return row


def check_request(req: RunRequest) -> None:
    """Bad input fails before anything starts (what needs the catalogue or the disk)."""
    get_scenario(req.scenario)
    if req.trace_log is not None:
        check_trace_log(req.trace_log)


def origin(cfg: ModelConfig) -> str:
    return "runbook policy (offline)" if cfg.simulated else "litellm"


def run_conversation(req: RunRequest, hooks: RunHooks, *, workdir: Path, strategy: Strategy,
                     model_cfg: ModelConfig, row: TraceRow, incident_text: str,
                     remote_workspace: Any = None,
                     cancel: threading.Event | None = None) -> AgentOutcome:
    """The OpenHands conversation for one incident (local, or on a worker's workspace)."""
    from sre_agent.agent.llm import build_llm

    session = None
    server = None
    base_url = None
    if model_cfg.simulated:
        server = hooks.model_server or shared_model_server()
        session = row.run_id
        policy = hooks.policy if hooks.policy is not None else runbook_policy(strategy)
        base_url = server.register(session, policy)
    try:
        from sre_agent.agent.sdk import import_sdk

        sdk_import_s = import_sdk()
        t = time.perf_counter()
        llm = build_llm(model_cfg, usage_id=f"agent-{row.run_id}", base_url_override=base_url)
        skills = sdk_skills(strategy)
        setup = AgentSetup(
            workspace=workdir, task=task_text(incident_text, workdir),
            llm=llm, max_risk=req.max_risk, confirm_risk=req.confirm_risk,
            confirmer=hooks.confirmer, max_steps=req.max_steps, timeout_s=req.timeout_s,
            system_suffix=strategy.system_suffix, skills=skills,
            cancel=cancel or hooks.cancel,
            on_action=lambda a: progress(hooks, "action", action=a),
            observability=observability(row), remote_workspace=remote_workspace,
        )
        setup_s = time.perf_counter() - t
        outcome = run_agent(setup)
        outcome.timings["sdk_import_s"] = sdk_import_s
        outcome.timings["llm_setup_s"] = setup_s
        return outcome
    finally:
        if server is not None and session is not None:
            server.unregister(session)


def sdk_skills(strategy: Strategy) -> list[Any]:
    """The other valid skills as SDK objects, so the agent may invoke them (guidance)."""
    if not strategy.available_skills:
        return []
    from openhands.sdk.skills import Skill as SdkSkill

    return [SdkSkill.load(s.path) for s in strategy.available_skills]


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
    row.extra["mutating_actions"] = sum(1 for a in actions if a.mutating
                                        and a.decision in ("allow", "confirm_approved"))
    row.extra["params"] = sandbox.incident.params
    row.extra["limits"] = {"agent_s": req.timeout_s, "verify_s": round(req.verify.budget_s(), 1)}
    for name, value in summarize_actions(actions).items():
        setattr(row, name, value)


def redacted(row: TraceRow) -> TraceRow:
    from sre_agent.safety import Redactor

    redactor = Redactor.from_environment()
    return TraceRow.model_validate(redactor.redact_obj(row.model_dump(mode="json")))
