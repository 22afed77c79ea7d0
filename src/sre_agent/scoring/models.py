"""The scorecard's result models: what `build_scorecard` and `compare` return, what every
renderer reads. The definitions of the numbers are in `scorecard.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from sre_agent.traces import TraceReadStats

Kind = Literal["real", "simulated", "mixed"]
MIN_ARM_RUNS = 5


class GroupScore(BaseModel):
    """One group's numbers (how each is computed: `scorecard.py`)."""

    group: str
    kind: Kind
    models: list[str]
    runs: int
    fixed: int
    success_rate: float
    pass_hat_k: dict[int, float | None]
    pass_k_tasks: int
    claimed_healthy: int
    false_claims: int
    unclaimed_fixes: int
    escalations: int
    statuses: dict[str, int]
    steps_mean: float
    steps_p50: int | None
    ttm_count: int
    ttm_min_s: float | None
    ttm_p25_s: float | None
    ttm_p50_s: float | None
    ttm_p75_s: float | None
    ttm_p95_s: float | None
    ttm_max_s: float | None
    tokens_in_mean: float
    tokens_out_mean: float
    cost_usd_mean: float
    cost_usd_total: float
    duration_s_mean: float
    highest_risk: str | None
    blocked_actions: int
    confirmed_actions: int
    rejected_actions: int
    healthy_noop_runs: int
    healthy_noop_mutations: int
    overrules: int = 0  # runs where the evidence replaced the text's runbook


class ArmStats(BaseModel):
    """One arm of a comparison, within one model kind."""

    label: str
    runs: int
    fixed: int
    success_rate: float | None
    steps_p50: int | None
    ttm_p50_s: float | None


class ComparisonGroup(BaseModel):
    """Arm b against arm a for one model kind; no difference below `MIN_ARM_RUNS`."""

    kind: Kind
    a: ArmStats
    b: ArmStats
    diff: float | None  # success rate b - a
    ci_low: float | None
    ci_high: float | None
    steps_p50_diff: int | None
    ttm_p50_diff_s: float | None
    note: str | None = None


class Comparison(BaseModel):
    """An A/B comparison of two values of one field, per model kind."""

    by: str
    a: str
    b: str
    method: str = "Newcombe hybrid score interval (Wilson), 95%"
    min_runs_per_arm: int = MIN_ARM_RUNS
    groups: list[ComparisonGroup]
    note: str | None = None


class Scorecard(BaseModel):
    """Per-group scores of a set of runs, what the read skipped, an optional comparison."""

    group_by: str
    mixed_models: bool
    include_simulated: bool
    percentile_method: str = "nearest-rank"
    total_runs: int
    groups: list[GroupScore]
    skipped_invalid: int = 0  # rows the reader accepted but whose fields had the wrong types
    read: TraceReadStats | None = None
    comparison: Comparison | None = None
