"""`run_incident`: one incident end to end.

Sandbox up (fault live) -> strategy (router / skill / hint; a routed run then triages: the
evidence confirms, reorders or overrules the text) -> the OpenHands agent in the
sandbox (a real LLM, or the offline runbook model served on loopback) -> the verifier gate ->
one trace row -> teardown. Every run that got as far as creating its sandbox writes its row,
whatever happened; a failure of our own code is recorded and then re-raised.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from sre_agent.agent.chain import ChainedRunbookModel
from sre_agent.agent.driver import AgentOutcome, AgentSetup, run_agent
from sre_agent.agent.llm import ModelConfig, build_llm, resolve_model
from sre_agent.agent.model_server import ModelServer
from sre_agent.agent.runbook import RunbookModel
from sre_agent.incidents import Verdict
from sre_agent.runs.progress import progress
from sre_agent.runs.request import RunHooks, RunRequest, check_request
from sre_agent.runs.row import apply_routing, fill_row, finish_row, new_row, observability
from sre_agent.runs.strategy import Strategy, choose_strategy, task_text, triaged_strategy
from sre_agent.sandbox import create_sandbox
from sre_agent.sdk import import_sdk
from sre_agent.skills.catalogue import load_catalog
from sre_agent.traces import TraceRow
from sre_agent.triage import report_lines, triage_sandbox

logger = logging.getLogger(__name__)
_server_lock = threading.Lock()
_shared_server: ModelServer | None = None


def shared_model_server() -> Any:
    """The process's loopback model server for the offline models (started on first use)."""
    global _shared_server
    with _server_lock:
        if _shared_server is None:
            _shared_server = ModelServer().start()
        return _shared_server


def runbook_model(strategy: Strategy) -> Any:
    if strategy.triage is not None:
        catalog = load_catalog()
        runbooks = {skill.id: [step.model_dump() for step in skill.contract.runbook]
                    for skill in catalog.skills if skill.id in strategy.triage.plan.skills}
        return ChainedRunbookModel(runbooks, strategy.triage.decision.model_dump())
    if strategy.skill is None:
        return RunbookModel.no_skill()
    steps = [step.model_dump() for step in strategy.skill.contract.runbook]
    return RunbookModel(steps, skill_id=strategy.skill.id)


def run_incident(req: RunRequest, hooks: RunHooks | None = None) -> TraceRow:
    """Run one incident; returns its trace row (also appended to `req.trace_log`)."""
    hooks = hooks or RunHooks()
    check_request(req)
    started = time.time()
    model_cfg = resolve_model(req.model, req.simulate or hooks.model is not None, os.environ)
    sandbox = create_sandbox(req.scenario, req.seed, req.sandbox, keep=req.keep_sandbox)
    incident_text = req.incident_text or sandbox.incident.text
    strategy = choose_strategy(incident_text=incident_text, mode=req.mode,
                               source=req.strategy_source, skill_id=req.skill_id,
                               skill_file=req.skill_file, incident=sandbox.incident)
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
        if req.triage and strategy.routed:
            t = time.perf_counter()
            strategy = triaged_strategy(strategy, triage_sandbox(sandbox, incident_text))
            phases["triage_s"] = time.perf_counter() - t
            apply_routing(row, strategy)
            progress(hooks, "triaged", skill=strategy.skill_id, source=strategy.route_source,
                     route=strategy.route_reason)
        outcome = run_conversation(req, hooks, workdir=sandbox.workdir, strategy=strategy,
                                   model_cfg=model_cfg, row=row, incident_text=incident_text)
        phases.update(outcome.timings)
        if outcome.end != "cancelled":
            progress(hooks, "verifying")
            t = time.perf_counter()
            verdict = sandbox.verify(req.verify)
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


def _import_sdk_quietly(took: list[float]) -> None:
    try:
        took.append(import_sdk())
    except Exception:  # the conversation's own import will raise it with its traceback
        logger.debug("background SDK import failed", exc_info=True)


def run_conversation(req: RunRequest, hooks: RunHooks, *, workdir: Path, strategy: Strategy,
                     model_cfg: ModelConfig, row: TraceRow, incident_text: str,
                     remote_workspace: Any = None,
                     cancel: threading.Event | None = None) -> AgentOutcome:
    """The OpenHands conversation for one incident (local, or on a worker's workspace)."""
    session = None
    server = None
    base_url = None
    if model_cfg.simulated:
        server = hooks.model_server or shared_model_server()
        session = row.run_id
        model = hooks.model if hooks.model is not None else runbook_model(strategy)
        base_url = server.register(session, model)
    try:
        sdk_import_s = import_sdk()
        t = time.perf_counter()
        llm = build_llm(model_cfg, usage_id=f"agent-{row.run_id}", base_url_override=base_url)
        skills = sdk_skills(strategy)
        triage = strategy.triage
        setup = AgentSetup(
            workspace=workdir, task=task_text(
                incident_text, workdir,
                report_lines(triage.report, triage.decision) if triage else None),
            llm=llm, max_risk=req.max_risk, confirm_risk=req.confirm_risk,
            confirmer=hooks.confirmer, max_steps=req.max_steps, timeout_s=req.timeout_s,
            system_suffix=strategy.system_suffix, skills=skills,
            cancel=cancel or hooks.cancel,
            on_action=lambda a: progress(hooks, "action", action=a),
            observability=observability(row), remote_workspace=remote_workspace,
            triage_plan=triage.plan.model_dump(mode="json") if triage else None,
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
    return [_sdk_skill(Path(s.path)) for s in strategy.available_skills]


_SDK_SKILLS: dict[tuple[str, int, int], Any] = {}
_SDK_SKILLS_LOCK = threading.Lock()


def _sdk_skill(path: Path) -> Any:
    """One SKILL.md as an SDK skill, parsed once per version of the file (every incident of a
    fan-out loads the same few; parsing them was ~8% of the orchestrator's CPU). Each caller
    gets its own copy."""
    from openhands.sdk.skills import Skill as SdkSkill  # lazy: the SDK boundary

    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _SDK_SKILLS_LOCK:
        loaded = _SDK_SKILLS.get(key)
    if loaded is None:
        loaded = SdkSkill.load(path)
        with _SDK_SKILLS_LOCK:
            if len(_SDK_SKILLS) >= 256:
                _SDK_SKILLS.clear()
            _SDK_SKILLS[key] = loaded
    return loaded.model_copy(deep=True)
