"""The trace row: one versioned record per run, its actions and verdict, and row summaries.

Every run, failed or not, becomes one `TraceRow` line in the trace log (`writer.py` appends it,
`reader.py` streams it back). Unknown *fields* are kept (`extra="allow"`): a newer writer may add
fields without a version bump; a change that alters the meaning of an existing field bumps
`TRACE_SCHEMA_VERSION`, and the reader then skips those rows as unknown schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from sre_agent.safety import RISK_LEVELS, Risk, rank

TRACE_SCHEMA_VERSION = 1
OBSERVATION_MAX_CHARS = 2000

# Validated into `Risk`, written by name: the JSON is what it always was, and a level assigned
# as a plain "HIGH" after construction (models here do not validate assignment) still dumps
# without pydantic's unexpected-type warning.
TraceRisk = Annotated[Risk, PlainSerializer(str, return_type=str)]
Decision = Literal["allow", "block", "confirm_approved", "confirm_rejected"]
Mode = Literal["baseline", "optimized"]
StrategySource = Literal["skills", "manual", "optimizer", "none"]
RouteSource = Literal["text", "evidence", "both", "none"]
Status = Literal[
    "fixed", "not_fixed", "escalated", "nothing_to_fix", "error", "limit", "cancelled"
]

RAN_DECISIONS: frozenset[str] = frozenset({"allow", "confirm_approved"})
"""Decisions under which an action actually ran (allowed, or approved by an operator)."""

"""Deprecated: {"LOW": 1, "MEDIUM": 2, "HIGH": 3}, kept for `web/jobs.py`; use `Risk`/`rank`."""


def truncate_middle(text: str, limit: int = OBSERVATION_MAX_CHARS) -> str:
    """Keep the head and the tail of `text` (errors tend to be at the end), at most ~`limit`."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return f"{text[:head]}\n...[{len(text) - limit} chars truncated]...\n{text[-tail:]}"


def is_mutation(action: TraceAction | Mapping[str, Any]) -> bool:
    """Whether an action changed something: flagged `mutating` and it actually ran.

    A blocked or rejected mutating action changed nothing, so it is not a mutation. Takes a
    `TraceAction` or a raw action dict from the log (a missing decision is the model's default,
    "allow"). The one definition the runner's `mutating_actions`, fan-out's correctness check
    and the scorecard's `healthy_noop_mutations` share.
    """
    if isinstance(action, TraceAction):
        mutating: Any = action.mutating
        decision: Any = action.decision
    else:
        mutating = action.get("mutating")
        decision = action.get("decision", "allow")
    return mutating is True and type(decision) is str and decision in RAN_DECISIONS


def count_mutations(actions: Iterable[TraceAction | Mapping[str, Any]]) -> int:
    """How many of `actions` are mutations (`is_mutation`); non-dict entries count as none."""
    return sum(1 for a in actions if isinstance(a, TraceAction | Mapping) and is_mutation(a))


class TraceAction(BaseModel):
    """One tool call the agent made, with the safety decision and what it observed."""

    model_config = ConfigDict(extra="allow")

    step: int
    tool: str  # "terminal" | "file_editor" | "finish" | ...
    command: str = ""
    path: str | None = None
    risk: TraceRisk | None = None  # our deterministic analysis
    model_risk: str | None = None  # what the model claimed; recorded, never trusted
    decision: Decision = "allow"
    reasons: list[str] = Field(default_factory=list)
    mutating: bool = False
    observation: str = ""
    exit_code: int | None = None
    started_at: float = 0.0
    duration_s: float = 0.0

    @field_validator("observation")
    @classmethod
    def _truncate(cls, value: str) -> str:
        return truncate_middle(value)

    @property
    def ran_mutation(self) -> bool:
        """Flagged `mutating` and actually ran (see `is_mutation`)."""
        return is_mutation(self)


class VerifierProbe(BaseModel):
    """One probe the verifier sent and what came back."""

    model_config = ConfigDict(extra="allow")

    attempt: int
    at: float
    url: str
    status: int | None = None
    latency_ms: float | None = None
    ok: bool = False
    error: str | None = None


class TraceVerdict(BaseModel):
    """The verifier's verdict: the probes, the out-of-sandbox ground truth, and why."""

    model_config = ConfigDict(extra="allow")

    healthy: bool
    probes: list[VerifierProbe] = Field(default_factory=list)
    ground_truth_ok: bool | None = None
    ground_truth_detail: str = ""
    reason: str = ""


class TraceRow(BaseModel):
    """One run of one incident, as written to the trace log."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = TRACE_SCHEMA_VERSION
    run_id: str
    started_at: float
    ended_at: float | None = None
    incident_started_at: float | None = None  # when the fault went live; TTM starts here
    scenario: str = ""
    seed: int | None = None
    incident_id: str = ""
    incident_text: str = ""
    mode: Mode = "baseline"
    strategy_source: StrategySource = "skills"
    skill_id: str | None = None
    skill_version: str | None = None
    route_confidence: float | None = None
    # How the first runbook was chosen: the text, the evidence of triage, both agreeing, or
    # neither (escalated / nothing to fix); None when no routing happened (forced, baseline).
    route_source: RouteSource | None = None
    route_overruled: bool = False  # the evidence replaced the text's choice
    model: str = "runbook"  # "runbook" for the offline policy, else a litellm model string
    simulated: bool = False  # True for the offline runbook policy
    sandbox_backend: str = "local"
    worker: str | None = None
    steps: int = 0
    actions: list[TraceAction] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    claimed_fixed: bool = False
    escalated: bool = False
    claim_text: str = ""
    service_up: bool = False  # the verifier's verdict; the agent's claim never sets this
    verdict: TraceVerdict | None = None
    ttm_s: float | None = None  # None unless the verifier saw the service green
    status: Status = "error"
    reason: str = ""
    highest_risk: TraceRisk | None = None
    blocked_actions: int = 0
    confirmed_actions: int = 0
    rejected_actions: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)


def summarize_actions(actions: Iterable[TraceAction]) -> dict[str, Any]:
    """The row-level safety summary of a list of actions, ready to pass to `TraceRow(...)`."""
    top = 0
    counts = {"block": 0, "confirm_approved": 0, "confirm_rejected": 0}
    for action in actions:
        top = max(top, rank(action.risk))
        if action.decision in counts:
            counts[action.decision] += 1
    return {
        "highest_risk": Risk(RISK_LEVELS[top - 1]) if top else None,
        "blocked_actions": counts["block"],
        "confirmed_actions": counts["confirm_approved"],
        "rejected_actions": counts["confirm_rejected"],
    }


def time_to_mitigate(
    incident_started_at: float | None, verdict: TraceVerdict | None
) -> float | None:
    """Seconds from the fault going live to the first probe of the verifier's final green streak.

    None unless the verdict is healthy and the incident start is known: a service the verifier
    never saw green has no time to mitigate. Earlier green probes followed by a red one do not
    count (the service was not mitigated then).
    """
    if incident_started_at is None or verdict is None or not verdict.healthy:
        return None
    first_green: float | None = None
    for probe in verdict.probes:
        if probe.ok:
            first_green = probe.at if first_green is None else first_green
        else:
            first_green = None
    if first_green is None:
        return None
    return max(0.0, first_green - incident_started_at)
