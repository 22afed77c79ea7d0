"""The web UI's data: what a job is started with, and the job, incident and confirmation
records the pages and the JSON API show. The field caps come from `sre_agent.web.limits`."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sre_agent.errors import SreAgentError, UsageError
from sre_agent.safety.levels import RiskName
from sre_agent.web.limits import (
    MAX_INCIDENT_TEXT,
    MAX_INCIDENTS_PER_JOB,
    MAX_JOB_CONCURRENCY,
    MAX_MODEL_NAME,
    MAX_NAME,
    MAX_SCENARIOS,
    MAX_SEED,
)

Risk = RiskName


class UnknownId(LookupError):
    """No job, incident or confirmation with this id (the API answers 404)."""


class Busy(SreAgentError):
    """The server is at one of its capacity limits (the API answers 429); retry later."""


class TooLarge(UsageError):
    """A request over a size or count limit (the API answers 413)."""


class JobStart(BaseModel):
    """What to start (the body of `POST /api/jobs`): one incident or a fan-out of many."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=list, max_length=MAX_SCENARIOS)  # empty: the whole catalogue
    incidents: int = Field(1, ge=1, le=MAX_INCIDENTS_PER_JOB)
    concurrency: int = Field(2, ge=1, le=MAX_JOB_CONCURRENCY)  # also capped by max_in_flight
    seed: int = Field(1, ge=-MAX_SEED, le=MAX_SEED)  # incident i gets seed + i
    incident_text: str | None = Field(None, max_length=MAX_INCIDENT_TEXT)  # routed instead
    model: str | None = Field(None, max_length=MAX_MODEL_NAME)
    simulate: bool = False  # the offline runbook policy
    mode: Literal["baseline", "optimized"] = "optimized"
    max_risk: Risk = "MEDIUM"
    confirm_risk: Risk | None = None
    max_steps: int = Field(30, ge=1, le=500)
    timeout_s: float = Field(300.0, gt=0, le=7200)


class IncidentRecord(BaseModel):
    """One incident as the table shows it (also the `incident` event's data)."""

    id: str
    job_id: str | None = None
    index: int | None = None
    source: Literal["api", "alert"] = "api"
    scenario: str | None = None
    seed: int | None = None
    run_id: str | None = None
    state: str = "queued"
    status: str | None = None  # the trace row's status once done
    reason: str | None = None  # the trace row's reason, or why a human is needed
    skill: str | None = None
    model: str | None = None
    steps: int = 0
    highest_risk: str | None = None
    service_up: bool | None = None  # the verifier's verdict once done
    expected: str | None = None
    correct: bool | None = None
    ttm_s: float | None = None
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    pending: int = 0  # confirmations waiting for an answer
    incident_text: str | None = None
    alert: dict[str, Any] | None = None  # fingerprint, alertname, receiver, route


class JobView(BaseModel):
    """One job: a run, a fan-out or an alert's run."""

    id: str
    kind: Literal["run", "fanout", "alert"]
    state: Literal["running", "stopping", "finished", "stopped", "error"] = "running"
    created_at: float = Field(default_factory=time.time)
    ended_at: float | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    incident_ids: list[str] = Field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None


class Confirmation(BaseModel):
    """A risky action waiting for (or answered by) an operator."""

    id: str
    incident_id: str
    run_id: str | None = None
    tool: str
    command: str
    risk: str
    reasons: list[str] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)
    expires_at: float
    state: Literal["pending", "approved", "rejected", "expired", "cancelled"] = "pending"
    answer_reason: str = ""
    answered_at: float | None = None
