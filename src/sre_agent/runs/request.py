"""What to run (`RunRequest`, checked wherever it is built: CLI, web, fan-out, optimizer)
and the live plumbing of one run (`RunHooks`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from sre_agent import paths
from sre_agent.agent.driver import Confirmer
from sre_agent.agent.latency import LlmLatency
from sre_agent.errors import UsageError
from sre_agent.incidents import VerifySettings, get_scenario
from sre_agent.runs.strategy import MODES, STRATEGY_SOURCES, Mode, StrategySource
from sre_agent.safety import Risk
from sre_agent.sandbox import backend_names
from sre_agent.traces import check_trace_log
from sre_agent.validation import check_runnable

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class RunRequest(BaseModel):
    """What to run; mirrors the flags of `sre-agent run`."""

    scenario: str
    seed: int = 1
    incident_text: str | None = None
    mode: Mode = "optimized"
    strategy_source: StrategySource = "skills"
    skill_id: str | None = None
    skill_file: Path | None = None  # a candidate SKILL.md to use instead of the catalogue's
    triage: bool = True  # look at the system before choosing the runbook (routed runs only)
    model: str | None = None
    simulate: bool = False
    sandbox: str = "auto"
    keep_sandbox: bool = False
    max_steps: int = Field(30, ge=1)
    timeout_s: float = Field(300.0, gt=0)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    max_risk: str = "MEDIUM"
    confirm_risk: str | None = None
    trace_log: Path | None = Field(default_factory=paths.default_trace_log)
    run_id: str | None = None
    llm_latency: LlmLatency | None = None  # the offline model's simulated latency

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        if value not in MODES:
            raise UsageError(f"--mode {value!r} is not {' or '.join(MODES)}")
        return value

    @field_validator("strategy_source", mode="before")
    @classmethod
    def _source(cls, value: object) -> object:
        if value not in STRATEGY_SOURCES:
            raise UsageError(f"--strategy-source {value!r} is not "
                             f"{', '.join(STRATEGY_SOURCES[:-1])} or {STRATEGY_SOURCES[-1]}")
        return value

    @field_validator("sandbox")
    @classmethod
    def _sandbox(cls, value: str) -> str:
        known = backend_names()
        if value != "auto" and value not in known:
            raise UsageError(f"unknown sandbox backend {value!r}",
                             f"choose one of: auto, {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RunRequest:
        """Rules between fields (the same for every caller)."""
        if self.simulate and self.model:
            raise UsageError("--simulate and --model exclude each other",
                             "--simulate uses the offline runbook policy")
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


def check_request(req: RunRequest) -> None:
    """What needs the catalogue or the disk, checked before anything starts."""
    get_scenario(req.scenario)
    check_runnable(req.scenario)
    if req.trace_log is not None:
        check_trace_log(req.trace_log)


@dataclass
class RunHooks:
    """Live plumbing that is not part of the request (not serialisable)."""

    confirmer: Confirmer | None = None
    cancel: threading.Event | None = None
    on_progress: Callable[[str, dict[str, Any]], None] | None = None
    model_server: Any = None  # a started ModelServer to share (fan-out); else one per process
    model: Any = None  # an offline model (e.g. testing.ScriptedModel) served instead of the runbook
    model_name: str = "scripted"
