"""The agent driver: one OpenHands `Agent` + `Conversation` in one incident's sandbox.

It wires the real `terminal` and `file_editor` tools (the terminal enters the sandbox through
the `SHELL` guard), our deterministic security analyzer and the block/confirm policy, runs the
conversation with hard limits (steps, wall-clock timeout, stuck detection, cancellation), and
records every action with its risk decision and observation. It never judges success: that is
the verifier's job. The SDK is imported only inside `run_agent`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sre_agent.agent.chat import parse_claim
from sre_agent.agent.confirm import Confirmer, PendingAction, fixed_answer
from sre_agent.agent.model_server import ModelServer
from sre_agent.agent.tools import tool_specs
from sre_agent.safety import Risk, RiskVerdict, SecurityPolicy, make_security_analyzer
from sre_agent.sandbox.guard import install_shell_guard
from sre_agent.sdk import prepare_environment
from sre_agent.traces import TraceAction

logger = logging.getLogger(__name__)

EndKind = Literal["finished", "limit", "stuck", "error", "timeout", "cancelled", "no_claim"]
MUTATING_FILE_COMMANDS = ("create", "str_replace", "insert", "undo_edit")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class AgentSetup:
    """Everything the driver needs; built by the runner."""

    workspace: Path
    task: str
    llm: Any  # openhands.sdk.LLM (built lazily by sre_agent.agent.llm.build_llm)
    max_risk: str = "MEDIUM"  # highest risk allowed to run
    confirm_risk: str | None = None  # at or above: ask the confirmer
    confirmer: Confirmer | None = None
    max_steps: int = 30
    timeout_s: float = 300.0
    system_suffix: str | None = None
    skills: list[Any] = field(default_factory=list)  # SDK Skill objects the agent may invoke
    cancel: threading.Event | None = None
    on_action: Callable[[TraceAction], None] | None = None
    observability: dict[str, str] = field(default_factory=dict)
    remote_workspace: Any = None  # an openhands RemoteWorkspace to run on a worker instead
    triage_plan: dict[str, Any] | None = None  # the incident's triage plan: the triage tool


@dataclass
class AgentOutcome:
    actions: list[TraceAction]
    claim_text: str = ""
    claim_kind: str | None = None
    end: EndKind = "finished"
    reason: str = ""
    steps: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class _Recorder:
    """Turns SDK events into trace actions (callbacks run under the state lock: stay fast)."""

    def __init__(self, on_action: Callable[[TraceAction], None] | None) -> None:
        self.on_action = on_action
        self.actions: dict[str, TraceAction] = {}
        self.order: list[str] = []
        self.verdicts: dict[str, RiskVerdict] = {}
        self.finish_message: str | None = None
        self.last_agent_text = ""
        self.error: str | None = None

    def __call__(self, event: Any) -> None:
        name = type(event).__name__
        if name == "ActionEvent":
            self._on_action(event)
        elif name == "ObservationEvent":
            self._on_observation(event)
        elif name == "UserRejectObservation":
            action = self.actions.get(event.action_id)
            if action is not None and action.decision == "allow":
                action.decision = "confirm_rejected"
                action.observation = f"rejected: {event.rejection_reason}"
        elif name == "SecurityAnalysisEvent":  # emitted after the ActionEvents it judges
            for action_id, risk in event.risks.items():
                action = self.actions.get(action_id)
                if action is None:
                    continue
                verdict = self.verdicts.get(action.command)
                if verdict is not None:
                    action.reasons = list(verdict.reasons)
                    action.mutating = action.mutating or (
                        action.tool == "terminal" and verdict.risk != Risk.LOW)
                action.risk = risk.value if risk.value != "UNKNOWN" else "HIGH"
        elif name == "MessageEvent" and getattr(event, "source", "") == "agent":
            self.last_agent_text = _text_of(event.llm_message)
        elif name in ("AgentErrorEvent", "ConversationErrorEvent"):
            self.error = str(getattr(event, "error", None) or getattr(event, "detail", ""))

    def _on_action(self, event: Any) -> None:
        tool = event.tool_name
        action_obj = event.action
        command, path, mutating = "", None, False
        if tool == "terminal" and action_obj is not None:
            command = getattr(action_obj, "command", "")
        elif tool == "file_editor" and action_obj is not None:
            sub = getattr(action_obj, "command", "")
            path = getattr(action_obj, "path", None)
            command = f"{sub} {path}"
            mutating = sub in MUTATING_FILE_COMMANDS
        elif tool == "triage":
            command = "triage (read-only checks)"
        elif tool == "finish" and action_obj is not None:
            self.finish_message = getattr(action_obj, "message", "") or ""
            command = self.finish_message
        model_risk = getattr(event.security_risk, "value", None)
        action = TraceAction(
            step=len(self.order) + 1, tool=tool, command=command, path=path,
            model_risk=model_risk if model_risk != "UNKNOWN" else None,
            mutating=mutating, started_at=time.time(),
        )
        self.actions[event.id] = action
        self.order.append(event.id)

    def _on_observation(self, event: Any) -> None:
        action = self.actions.get(event.action_id)
        if action is None:
            return
        observation = event.observation
        action.observation = _ANSI.sub("", _text_of(observation))
        action.exit_code = getattr(observation, "exit_code", None)
        action.duration_s = round(time.time() - action.started_at, 3)
        if self.on_action:
            self.on_action(action)

    def ordered(self) -> list[TraceAction]:
        return [self.actions[i] for i in self.order]


def _text_of(obj: Any) -> str:
    if obj is None:
        return ""
    text = getattr(obj, "text", None)
    if isinstance(text, str):
        return text
    content = getattr(obj, "content", None)
    if isinstance(content, list):
        return "\n".join(getattr(part, "text", "") for part in content)
    return str(content or obj)


def _risk_level(name: str) -> Any:
    from openhands.sdk.security.risk import SecurityRisk

    return SecurityRisk[name]


def _confirmation_policy(policy: SecurityPolicy) -> Any:
    """Make the SDK pause before anything the policy does not simply allow."""
    from openhands.sdk.security.confirmation_policy import ConfirmRisky, NeverConfirm

    threshold = policy.pause_threshold()
    if threshold is None:
        return NeverConfirm()
    return ConfirmRisky(threshold=_risk_level(threshold.value), confirm_unknown=True)


def _decide_pending(conv: Any, setup: AgentSetup, rec: _Recorder,
                    policy: SecurityPolicy) -> None:
    """Block, confirm or reject what the conversation is waiting on (`policy` decides)."""
    from openhands.sdk.conversation.state import ConversationState

    pending = ConversationState.get_unmatched_actions(conv.state.events)
    blocked: list[str] = []
    for event in pending:
        action = rec.actions.get(event.id)
        if action is None:
            continue
        risk = action.risk or "HIGH"  # an action we could not judge is treated as the worst
        decision = policy.decide(risk)
        if decision == "allow":
            continue
        if decision == "block":
            action.decision = "block"
            blocked.append(f"{action.command!r} is {risk} risk "
                           f"({'; '.join(action.reasons) or 'no reason'}); the policy allows "
                           f"at most {setup.max_risk}")
            continue
        confirmer = setup.confirmer or fixed_answer(False, "no operator to confirm")
        answer = confirmer(PendingAction(action.tool, action.command, risk, action.reasons))
        if not answer.approve:
            action.decision = "confirm_rejected"
            blocked.append(f"{action.command!r} was not approved by the operator"
                           f"{': ' + answer.reason if answer.reason else ''}")
        else:
            action.decision = "confirm_approved"
    if blocked:
        for event in pending:
            action = rec.actions.get(event.id)
            if action is not None and action.decision in ("allow", "confirm_approved"):
                action.decision = "confirm_rejected"  # the SDK rejects the whole batch
        reason = "BLOCKED by the safety policy, the action did not run: " + " | ".join(blocked)
        reason += ". Try a safer way, or finish with ESCALATE: if none exists."
        conv.reject_pending_actions(reason)
        for event in pending:
            action = rec.actions.get(event.id)
            if action is not None and action.decision == "block":
                action.observation = reason


def run_agent(setup: AgentSetup) -> AgentOutcome:
    """Run one conversation to its end (or a limit) and report what happened."""
    prepare_environment()
    t0 = time.perf_counter()
    # lazy: the OpenHands SDK boundary (seconds to import; only where a conversation runs)
    from openhands.sdk import Agent, AgentContext, Conversation
    from openhands.sdk.conversation.state import ConversationExecutionStatus as Status

    install_shell_guard()
    timings = {"sdk_import_s": time.perf_counter() - t0}
    rec = _Recorder(setup.on_action)

    def on_verdict(tool: str, command: str, verdict: RiskVerdict) -> None:
        rec.verdicts[command] = verdict

    # Both tools are bound to the sandbox: the terminal is one bash inside it over pipes
    # (`sandbox/terminal.py`; the SDK's tmux terminal started ~180 processes per incident),
    # the file editor's operations run inside it.
    terminal = {"no_change_timeout_seconds": 20}
    tools = tool_specs(str(setup.workspace.parent), terminal, setup.triage_plan)
    context = AgentContext(skills=setup.skills, system_message_suffix=setup.system_suffix)
    agent = Agent(llm=setup.llm, tools=tools, agent_context=context)
    workspace: Any = setup.remote_workspace or str(setup.workspace)
    kwargs: dict[str, Any] = {"callbacks": [rec], "max_iteration_per_run": setup.max_steps,
                              "stuck_detection": True, "visualizer": None}
    if setup.observability:
        kwargs["observability_metadata"] = setup.observability
    conv = Conversation(agent=agent, workspace=workspace, **kwargs)
    timings["conversation_setup_s"] = time.perf_counter() - t0 - timings["sdk_import_s"]
    conv.set_security_analyzer(make_security_analyzer(setup.workspace, on_verdict=on_verdict))
    policy = SecurityPolicy(max_risk=setup.max_risk, confirm_risk=setup.confirm_risk or None)
    conv.set_confirmation_policy(_confirmation_policy(policy))
    outcome = AgentOutcome(actions=[])
    deadline = time.monotonic() + setup.timeout_s
    t_run = time.perf_counter()
    try:
        conv.send_message(setup.task)
        outcome.end, outcome.reason = _drive(conv, setup, rec, policy, deadline, Status)
    finally:
        timings["agent_s"] = time.perf_counter() - t_run
        try:
            stats = conv.conversation_stats.get_combined_metrics()
            usage = stats.accumulated_token_usage
            outcome.tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            outcome.tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            outcome.cost_usd = float(stats.accumulated_cost or 0.0)
        except Exception:  # stats are best effort; never mask the run's own outcome
            pass
        try:
            conv.close()
        except Exception:
            pass
        release_http_clients(getattr(setup.llm, "base_url", None))
    outcome.actions = rec.ordered()
    outcome.steps = len([a for a in outcome.actions if a.tool != "finish"])
    claim = rec.finish_message if rec.finish_message is not None else rec.last_agent_text
    outcome.claim_text = claim or ""
    kind, _rest = parse_claim(outcome.claim_text)
    outcome.claim_kind = kind
    if outcome.end == "finished" and kind is None and rec.finish_message is None:
        outcome.end, outcome.reason = "no_claim", "the agent stopped without a finish claim"
    outcome.timings = timings
    return outcome


def _drive(conv: Any, setup: AgentSetup, rec: _Recorder, policy: SecurityPolicy,
           deadline: float, status_enum: Any) -> tuple[EndKind, str]:
    """Run until finished, handling confirmations, within the wall-clock limit."""
    while True:
        error: list[BaseException] = []

        def target(error: list[BaseException] = error) -> None:
            try:
                conv.run()
            except BaseException as exc:  # delivered to the driver thread
                error.append(exc)

        worker = threading.Thread(target=target, name="conversation", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if setup.cancel is not None and setup.cancel.is_set():
                conv.pause()
                worker.join(5)
                return "cancelled", "cancelled by the operator"
            if time.monotonic() > deadline:
                conv.pause()
                worker.join(5)
                return "timeout", f"timeout: no verdict-ready finish within {setup.timeout_s:g}s"
        if error:
            failure = error[0]
            detail = " ".join(str(failure).split())[:300]
            if "MaxIterations" in type(failure).__name__ or "max iteration" in detail.lower():
                return "limit", f"step limit reached ({setup.max_steps} steps)"
            return "error", f"conversation failed: {type(failure).__name__}: {detail}"
        status = conv.state.execution_status
        if status == status_enum.WAITING_FOR_CONFIRMATION:
            _decide_pending(conv, setup, rec, policy)
            continue
        if status == status_enum.FINISHED:
            return "finished", "the agent finished"
        if status == status_enum.STUCK:
            return "stuck", "stuck detection: the agent repeated the same action"
        if status == status_enum.ERROR:
            detail = rec.error or "the conversation ended in error"
            if "iteration" in detail.lower():
                return "limit", f"step limit reached ({setup.max_steps} steps)"
            return "error", detail[:300]
        if status == status_enum.PAUSED:
            return "cancelled", "paused"
        return "error", f"conversation ended with status {status}"


def release_http_clients(base_url: str | None) -> None:
    """Evict litellm's cached HTTP clients of one run's model session.

    litellm caches a client per base URL; the offline model has one URL per run
    (`/s/<session>/v1`), so each finished run left its client (and a socket the server had
    closed, in CLOSE_WAIT) in the cache: ~1 file descriptor per incident in a fan-out. The
    conversation is closed, so no request uses the client: it is evicted and closed now. A
    shared base URL (a real provider's) is left alone.
    """
    if not base_url or not ModelServer.is_session_url(base_url):
        return
    try:
        # lazy: litellm comes with the SDK, already imported when a conversation ran
        import litellm

        cache = litellm.in_memory_llm_clients_cache
        for key in [k for k in list(cache.cache_dict) if base_url in str(k)]:
            client = cache.cache_dict.get(key)
            cache.delete_cache(key)
            close = getattr(client, "close", None)
            if callable(close):  # the conversation is closed: no request uses it any more
                close()
    except Exception:  # clean-up only: never mask the run's own outcome
        logger.debug("could not release the HTTP clients of %s", base_url, exc_info=True)
