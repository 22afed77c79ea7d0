"""`RemoteExecutor`: one incident end to end on a remote OpenHands agent-server worker.

The same steps as the local runner (`sre_agent.runs.runner.run_incident`), with the incident's
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
import os
import shlex
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sre_agent.agent import resolve_model
from sre_agent.errors import SreAgentError, UsageError
from sre_agent.fleet.executor import WorkerLost
from sre_agent.incidents import Verdict
from sre_agent.incidents.packs import search_paths
from sre_agent.runs import (
    RunHooks,
    RunRequest,
    apply_routing,
    check_request,
    choose_strategy,
    fill_row,
    finish_row,
    new_row,
    progress,
    run_conversation,
    triaged_strategy,
)
from sre_agent.safety import Risk, judge_action
from sre_agent.sdk import prepare_environment
from sre_agent.traces import TraceRow
from sre_agent.triage import Triage

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

    scenario: str = ""

    def __post_init__(self) -> None:  # what runner.fill_row and the router read of a sandbox
        self.incident = SimpleNamespace(expected_outcome=self.expected_outcome,
                                        params=self.params, scenario=self.scenario)

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
        import httpx  # lazy: ~0.25 s, paid only by a fan-out that talks to workers

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

    def _gone(self, exc: BaseException) -> WorkerLost | None:
        """`WorkerLost` for a network failure (`exc` or its cause) while the worker no longer
        answers: the incident runs again elsewhere instead of ending as an error."""
        if _transport_error(exc) and not self.alive():
            return self._lost("running the incident", exc)
        return None

    # ---- harness commands on the worker ---------------------------------------------------
    def _workspace(self, working_dir: str) -> Any:
        prepare_environment()
        from openhands.sdk.workspace import RemoteWorkspace  # lazy: the SDK takes seconds

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
        """Run one incident on this worker; returns its trace row (also appended to the log).

        A network failure at any step (creating the sandbox included) while the worker no
        longer answers is `WorkerLost`, never an error result: the incident runs again
        elsewhere."""
        with self._slots:
            try:
                return self._run(req, hooks or RunHooks())
            except WorkerLost:
                raise
            except Exception as exc:
                lost = self._gone(exc)
                if lost is not None:
                    raise lost from exc
                raise

    def _run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
        check_request(req)
        if not self.alive():
            raise self._lost("starting an incident")
        started = time.time()
        model_cfg = resolve_model(req.model, req.simulate or hooks.model is not None,
                                  os.environ)
        control = self._workspace("/")
        try:
            t = time.perf_counter()
            packs = _pack_args()
            sandbox = RemoteSandbox.from_json({**self._sandbox_command(
                control, ["create", "--scenario", req.scenario, "--seed", str(req.seed),
                          "--backend", req.sandbox, *packs, "--json"], "creating the sandbox"),
                "scenario": req.scenario})
            create_s = time.perf_counter() - t
            incident_text = req.incident_text or sandbox.incident_text
            strategy = choose_strategy(incident_text=incident_text, mode=req.mode,
                                       source=req.strategy_source, skill_id=req.skill_id,
                                       skill_file=req.skill_file, incident=sandbox.incident)
            row = new_row(req, hooks, started=started, incident_id=sandbox.id,
                          backend=sandbox.backend, backend_reason=sandbox.choice_reason,
                          strategy=strategy, model_cfg=model_cfg,
                          incident_text=incident_text, worker=self.url)
            row.incident_started_at = sandbox.ready_at
            outcome, verdict, phases, failure = self._drive(
                req, hooks, control, sandbox, strategy, model_cfg, row, incident_text)
            phases["sandbox_start_s"] = create_s
        finally:
            control.reset_client()
        if isinstance(failure, WorkerLost):
            raise failure
        fill_row(row, outcome, verdict, failure, phases, sandbox, req)  # type: ignore[arg-type]
        row.extra["kept_sandbox"] = f"{self.url}#{sandbox.root}" if req.keep_sandbox else None
        row.extra["sandbox_start_remote_s"] = sandbox.start_s
        return finish_row(row, req, hooks, failure)

    def _drive(self, req: RunRequest, hooks: RunHooks, control: Any, sandbox: RemoteSandbox,
               strategy: Any, model_cfg: Any, row: TraceRow, incident_text: str) -> tuple[
                   Any, Any, dict[str, float], BaseException | None]:
        """Agent, verifier, teardown on the worker; (outcome, verdict, phases, failure)."""
        outcome = verdict = None
        phases: dict[str, float] = {}
        failure: BaseException | None = None
        try:
            progress(hooks, "sandbox_ready", sandbox=sandbox.id, workdir=sandbox.workdir,
                     worker=self.url)
            if req.triage and strategy.routed:  # the look runs on the worker, in the sandbox
                t = time.perf_counter()
                found = Triage.from_data(self._sandbox_command(
                    control, ["triage", sandbox.id, "--text", incident_text,
                              *_pack_args(), "--json"], "triaging"))
                strategy = triaged_strategy(strategy, found)
                phases["triage_s"] = time.perf_counter() - t
                apply_routing(row, strategy)
                progress(hooks, "triaged", skill=strategy.skill_id,
                         source=strategy.route_source, route=strategy.route_reason)
            outcome = self._run_agent(req, hooks, sandbox, strategy, model_cfg, row,
                                      incident_text)
            phases.update(outcome.timings)
            if outcome.end == "error":  # a dead worker looks like a conversation error
                self._check("running the agent", outcome.reason)
            if outcome.end != "cancelled":
                progress(hooks, "verifying")
                t = time.perf_counter()
                policy = req.verify
                data = self._sandbox_command(control, [
                    "verify", sandbox.id, "--json", *_pack_args(),
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
            if not isinstance(exc, WorkerLost | KeyboardInterrupt):
                failure = self._gone(exc) or exc
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
        """The conversation on the worker: the local one, on the worker's workspace."""
        watchdog = _Watchdog(self, hooks.cancel)
        workspace = self._workspace(sandbox.workdir)
        try:
            outcome = run_conversation(
                req, hooks, workdir=Path(sandbox.workdir), strategy=strategy,
                model_cfg=model_cfg, row=row, incident_text=incident_text,
                remote_workspace=workspace, cancel=watchdog.cancel)
        finally:
            watchdog.stop()
            workspace.reset_client()
        if watchdog.lost:
            raise self._lost("running the agent", "GET /alive failed")
        _explain_risks(outcome.actions, sandbox.workdir)
        return outcome


class _Watchdog:
    """Polls the worker during a conversation and cancels it when the worker is gone.

    A `RemoteConversation` whose server died keeps retrying instead of failing; cancelling
    (the driver pauses and returns) turns that into a prompt `WorkerLost`. The operator's own
    cancel event is forwarded too.
    """

    def __init__(self, executor: RemoteExecutor, outer: threading.Event | None,
                 period_s: float = 1.0, misses: int = 2) -> None:
        self.cancel = threading.Event()
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(executor, outer, period_s,
                                                                  misses),
                                        name="worker-watchdog", daemon=True)
        self._thread.start()

    def _watch(self, executor: RemoteExecutor, outer: threading.Event | None,
               period_s: float, misses: int) -> None:
        missed, next_probe = 0, time.monotonic() + period_s
        while not self._done.wait(0.1):
            if outer is not None and outer.is_set():
                self.cancel.set()
                return
            if time.monotonic() < next_probe:
                continue
            missed = 0 if executor.alive() else missed + 1
            next_probe = time.monotonic() + period_s
            if missed >= misses:
                self.lost = True
                self.cancel.set()
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join(10)


def _explain_risks(actions: list[Any], workspace: str) -> None:
    """Fill in the reasons of each judged action.

    The analyzer judged every action on the worker (its risk is in the event stream), but its
    `on_verdict` hook cannot cross the network, so the reasons (and whether a terminal command
    mutates) are recomputed here with the same deterministic analysis.
    """
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


def _pack_args() -> list[str]:
    """Packs found here by path are looked for at the same paths on the worker."""
    return [arg for path in search_paths() for arg in ("--scenario-path", str(path))]


def _transport_error(exc: BaseException) -> bool:
    """Whether an exception (or its cause) is a network failure talking to the worker."""
    import httpx  # lazy: see `RemoteExecutor.alive`

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["RemoteExecutor", "RemoteSandbox", "WorkerLost"]
