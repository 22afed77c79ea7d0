"""`RemoteExecutor`: one incident end to end on a remote OpenHands agent-server worker.

The same steps as the local runner (`sre_agent.runner.run_incident`), with the incident's
machinery on the worker: the orchestrator asks the worker (through the agent-server's command
API, as harness code) to start a kept sandbox, runs the conversation there as a
`RemoteConversation` whose workspace is the sandbox's workdir (the worker's `SHELL` guard puts
every terminal inside that sandbox; our analyzer judges every action on the server), then asks
the worker's verifier gate for the verdict and tears the sandbox down. Routing, the runbook
policy's model server, the trace row and the trace log stay with the orchestrator.

A worker that dies or stops answering raises `WorkerLost` (no trace row is written), so the
fan-out can run the incident again elsewhere.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sre_agent.errors import SreAgentError, UsageError
from sre_agent.fanout import WorkerLost
from sre_agent.runner import RISKS, RunHooks, RunRequest
from sre_agent.trace import TraceRow

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 120.0
_SANDBOX_CLI = 'exec "${SRE_AGENT_PYTHON:-python3}" -m sre_agent.cli.sandbox '


@dataclass
class RemoteSandbox:
    """A kept sandbox on a worker, as `sandbox create --json` described it."""

    id: str
    backend: str
    root: str
    workdir: str
    service_port: int
    incident_text: str
    ready_at: float
    expected_outcome: str | None
    params: dict[str, Any]
    choice_reason: str = ""
    start_s: float = 0.0
    shell_guard: str = ""
    incident: Any = field(init=False)

    def __post_init__(self) -> None:  # what runner._fill_row reads of a sandbox
        self.incident = SimpleNamespace(expected_outcome=self.expected_outcome,
                                        params=self.params)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteSandbox:
        names = {f for f in cls.__dataclass_fields__ if f != "incident"}
        return cls(**{k: v for k, v in data.items() if k in names})


class RemoteExecutor:
    """Runs incidents on one agent-server worker (`sre-agent worker`)."""

    def __init__(self, url: str, api_key: str | None = None, *, capacity: int = 2,
                 health_timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"worker URL {url!r} must start with http:// or https://")
        if capacity < 1:
            raise UsageError("a worker's capacity must be at least 1")
        self.url = url.rstrip("/")
        self.name = self.url
        self.api_key = api_key
        self.capacity = capacity
        self.health_timeout_s = health_timeout_s
        self._slots = threading.BoundedSemaphore(capacity)

    def __repr__(self) -> str:  # never shows the key
        return f"RemoteExecutor({self.url!r}, capacity={self.capacity})"

    # ---- health --------------------------------------------------------------------------
    def alive(self) -> bool:
        """Whether the worker answers `GET /alive` now."""
        import httpx

        try:
            return httpx.get(f"{self.url}/alive",
                             timeout=self.health_timeout_s).status_code == 200
        except httpx.HTTPError:
            return False

    def _lost(self, what: str, cause: object = None) -> WorkerLost:
        detail = f": {' '.join(str(cause).split())[:200]}" if cause else ""
        return WorkerLost(self.url, f"worker {self.url} stopped answering while {what}{detail}",
                          "the incident can be re-queued on another worker")

    def _check(self, what: str, cause: object = None) -> None:
        """Raise `WorkerLost` if the worker is gone (after a failed call)."""
        if not self.alive():
            raise self._lost(what, cause)

    # ---- harness commands on the worker ---------------------------------------------------
    def _workspace(self, working_dir: str) -> Any:
        from sre_agent.sdk import prepare_environment

        prepare_environment()
        from openhands.sdk.workspace import RemoteWorkspace

        return RemoteWorkspace(host=self.url, api_key=self.api_key, working_dir=working_dir,
                               read_timeout=60.0)

    def _sandbox_command(self, ws: Any, args: list[str], what: str,
                         ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
        result = ws.execute_command(_SANDBOX_CLI + shlex.join(args), cwd="/",
                                    timeout=COMMAND_TIMEOUT_S)
        stdout = (result.stdout or "").strip()
        if result.exit_code not in ok_codes or not stdout:
            self._check(what, result.stderr)
            err = " ".join((result.stderr or stdout or "no output").split())[:300]
            raise SreAgentError(f"worker {self.url}: {what} failed (exit {result.exit_code}): "
                                f"{err}")
        try:
            data = json.loads(stdout.splitlines()[-1])
        except ValueError as exc:
            raise SreAgentError(f"worker {self.url}: {what} printed no JSON: {stdout[:200]}") \
                from exc
        return data

    # ---- one incident --------------------------------------------------------------------
    def run(self, req: RunRequest, hooks: RunHooks | None = None) -> TraceRow:
        """Run one incident on this worker; returns its trace row (also appended to the log)."""
        with self._slots:
            return self._run(req, hooks or RunHooks())

    def _run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        import os

        from sre_agent import runner
        from sre_agent.models import resolve_model
        from sre_agent.scenarios import get_scenario
        from sre_agent.strategy import choose_strategy
        from sre_agent.trace import TraceWriter

        get_scenario(req.scenario)
        if req.max_risk not in RISKS or (req.confirm_risk and req.confirm_risk not in RISKS):
            raise UsageError("risk levels are LOW, MEDIUM or HIGH")
        if not self.alive():
            raise self._lost("starting an incident")
        started = time.time()
        model_cfg = resolve_model(req.model, req.simulate or hooks.policy is not None,
                                  os.environ)
        control = self._workspace("/")
        try:
            t = time.perf_counter()
            sandbox = RemoteSandbox.from_json(self._sandbox_command(
                control, ["create", "--scenario", req.scenario, "--seed", str(req.seed),
                          "--backend", req.sandbox, "--json"], "creating the sandbox"))
            create_s = time.perf_counter() - t
            self._check_guard(sandbox)
            incident_text = req.incident_text or sandbox.incident_text
            strategy = choose_strategy(incident_text=incident_text, mode=req.mode,
                                       source=req.strategy_source, skill_id=req.skill_id)
            row = self._new_row(req, hooks, started, sandbox, strategy, model_cfg,
                                incident_text)
            runner._progress(hooks, "planned", run_id=row.run_id, scenario=req.scenario,
                             skill=strategy.skill_id, model=row.model,
                             sandbox=sandbox.backend, worker=self.url)
            outcome, verdict, phases, failure = self._drive(
                req, hooks, control, sandbox, strategy, model_cfg, row, incident_text)
            phases["sandbox_start_s"] = create_s
        finally:
            control.reset_client()
        if isinstance(failure, WorkerLost):
            raise failure
        runner._fill_row(row, outcome, verdict, failure, phases, sandbox, req)  # type: ignore[arg-type]
        row.extra["kept_sandbox"] = f"{self.url}#{sandbox.root}" if req.keep_sandbox else None
        row.extra["sandbox_start_remote_s"] = sandbox.start_s
        t = time.perf_counter()
        if req.trace_log is not None:
            TraceWriter(req.trace_log).append(runner._redacted(row))
        row.extra["phases"]["trace_write_s"] = round(time.perf_counter() - t, 4)
        runner._progress(hooks, "done", status=row.status, service_up=row.service_up)
        if failure is not None:
            raise failure
        return runner._redacted(row)

    def _check_guard(self, sandbox: RemoteSandbox) -> None:
        """The agent driver sends its own guard path as the terminal's shell: it must match."""
        from sre_agent.agent_shell import universal_wrapper

        local = str(universal_wrapper())
        if sandbox.shell_guard and sandbox.shell_guard != local:
            raise SreAgentError(
                f"worker {self.url} keeps its sandbox shell guard at {sandbox.shell_guard}, "
                f"this orchestrator at {local}",
                "run both with the same SRE_AGENT_RUNTIME_DIR")

    def _new_row(self, req: RunRequest, hooks: RunHooks, started: float,
                 sandbox: RemoteSandbox, strategy: Any, model_cfg: Any,
                 incident_text: str) -> TraceRow:
        from sre_agent import runner

        row = TraceRow(
            run_id=req.run_id or f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
            started_at=started, scenario=req.scenario, seed=req.seed, incident_id=sandbox.id,
            incident_text=incident_text, mode=req.mode, strategy_source=strategy.source,
            skill_id=strategy.skill_id,
            skill_version=strategy.skill.version if strategy.skill else None,
            route_confidence=strategy.route_confidence,
            model=(hooks.policy_name if hooks.policy is not None else "runbook")
            if model_cfg.simulated else model_cfg.model,
            simulated=model_cfg.simulated, sandbox_backend=sandbox.backend, worker=self.url,
        )
        row.incident_started_at = sandbox.ready_at
        row.extra.update({"route": strategy.route_reason,
                          "model_origin": runner._origin(model_cfg),
                          "sandbox_reason": sandbox.choice_reason})
        return row

    def _drive(self, req: RunRequest, hooks: RunHooks, control: Any, sandbox: RemoteSandbox,
               strategy: Any, model_cfg: Any, row: TraceRow, incident_text: str) -> tuple[
                   Any, Any, dict[str, float], BaseException | None]:
        """Agent, verifier, teardown on the worker; (outcome, verdict, phases, failure)."""
        from sre_agent import runner
        from sre_agent.verifier import Verdict

        outcome = verdict = None
        phases: dict[str, float] = {}
        failure: BaseException | None = None
        try:
            runner._progress(hooks, "sandbox_ready", sandbox=sandbox.id,
                             workdir=sandbox.workdir, worker=self.url)
            outcome = self._run_agent(req, hooks, sandbox, strategy, model_cfg, row,
                                      incident_text)
            phases.update(outcome.timings)
            if outcome.end == "error":  # a dead worker looks like a conversation error
                self._check("running the agent", outcome.reason)
            if outcome.end != "cancelled":
                runner._progress(hooks, "verifying")
                t = time.perf_counter()
                policy = req.verify
                data = self._sandbox_command(control, [
                    "verify", sandbox.id, "--json",
                    "--verify-consecutive-successes", str(policy.consecutive_successes),
                    "--verify-max-attempts", str(policy.max_attempts),
                    "--verify-interval-s", str(policy.interval_s),
                    "--probe-timeout-s", str(policy.probe_timeout_s)],
                    "verifying", ok_codes=(0, 1))
                verdict = Verdict.model_validate(
                    {k: v for k, v in data.items() if k in Verdict.model_fields})
                phases["verify_s"] = time.perf_counter() - t
        except BaseException as exc:  # recorded (or re-raised as WorkerLost) by the caller
            failure = exc
            if not isinstance(exc, WorkerLost | KeyboardInterrupt) and _transport_error(exc):
                failure = self._lost("running the incident", exc) if not self.alive() else exc
        finally:
            t = time.perf_counter()
            if not req.keep_sandbox and not isinstance(failure, WorkerLost):
                try:
                    self._sandbox_command(control, ["destroy", sandbox.id, "--json"],
                                          "tearing down the sandbox")
                except WorkerLost as exc:
                    failure = failure or exc
                except SreAgentError as exc:
                    logger.warning("%s", exc)
            phases["teardown_s"] = time.perf_counter() - t
        return outcome, verdict, phases, failure

    def _run_agent(self, req: RunRequest, hooks: RunHooks, sandbox: RemoteSandbox,
                   strategy: Any, model_cfg: Any, row: TraceRow, incident_text: str) -> Any:
        """The conversation on the worker (mirrors `runner._run_agent`, remote workspace)."""
        from sre_agent import runner
        from sre_agent.agent import AgentSetup, run_agent
        from sre_agent.models import build_llm
        from sre_agent.sdk import import_sdk
        from sre_agent.strategy import task_text

        server = session = base_url = None
        if model_cfg.simulated:
            server = hooks.model_server or runner.shared_model_server()
            session = row.run_id
            policy = hooks.policy if hooks.policy is not None else runner._runbook_policy(
                strategy)
            base_url = server.register(session, policy)
        try:
            sdk_import_s = import_sdk()
            t = time.perf_counter()
            llm = build_llm(model_cfg, usage_id=f"agent-{row.run_id}",
                            base_url_override=base_url)
            workdir = Path(sandbox.workdir)
            setup = AgentSetup(
                workspace=workdir, task=task_text(incident_text, workdir), llm=llm,
                max_risk=req.max_risk, confirm_risk=req.confirm_risk,
                confirmer=hooks.confirmer, max_steps=req.max_steps, timeout_s=req.timeout_s,
                system_suffix=strategy.system_suffix, skills=runner._sdk_skills(strategy),
                cancel=hooks.cancel,
                on_action=lambda a: runner._progress(hooks, "action", action=a),
                observability=runner._observability(row),
                remote_workspace=self._workspace(sandbox.workdir),
            )
            setup_s = time.perf_counter() - t
            try:
                outcome = run_agent(setup)
            finally:
                setup.remote_workspace.reset_client()
            outcome.timings["sdk_import_s"] = sdk_import_s
            outcome.timings["llm_setup_s"] = setup_s
            _explain_risks(outcome.actions, sandbox.workdir)
            return outcome
        finally:
            if server is not None and session is not None:
                server.unregister(session)


def _explain_risks(actions: list[Any], workspace: str) -> None:
    """Fill in the reasons of each judged action.

    The analyzer judged every action on the worker (its risk is in the event stream), but its
    `on_verdict` hook cannot cross the network, so the reasons (and whether a terminal command
    mutates) are recomputed here with the same deterministic analysis.
    """
    from sre_agent.risk import Risk
    from sre_agent.security_analyzer import judge_action

    for action in actions:
        if action.reasons or action.tool not in ("terminal", "file_editor"):
            continue
        verb, _, path = action.command.partition(" ")
        obj = SimpleNamespace(command=action.command, is_input=False) \
            if action.tool == "terminal" else SimpleNamespace(command=verb, path=path)
        _text, verdict = judge_action(action.tool, obj, workspace)
        verdict = verdict.with_label(action.model_risk, source="model")
        action.reasons = list(verdict.reasons)
        if action.tool == "terminal" and verdict.risk != Risk.LOW:
            action.mutating = True


def _transport_error(exc: BaseException) -> bool:
    """Whether an exception (or its cause) is a network failure talking to the worker."""
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["RemoteExecutor", "RemoteSandbox", "WorkerLost"]
