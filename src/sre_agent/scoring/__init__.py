"""Scoring: per-skill/scenario/model numbers from trace rows, and their renderings."""

from sre_agent.scoring.html import to_html
from sre_agent.scoring.models import ArmStats, Comparison, ComparisonGroup, GroupScore, Scorecard
from sre_agent.scoring.render import (
    COMPARISON_HEADERS,
    TABLE_HEADERS,
    comparison_rows,
    read_note,
    table_rows,
    to_csv,
    to_json,
    to_markdown,
)
from sre_agent.scoring.scorecard import (
    COMPARE_BY_CHOICES,
    GROUP_BY_CHOICES,
    build_scorecard,
    compare,
    scorecard_from_log,
)
from sre_agent.scoring.stats import (
    newcombe_diff_interval,
    pass_hat_k,
    percentile,
    wilson_interval,
)

__all__ = [
    "COMPARE_BY_CHOICES", "COMPARISON_HEADERS", "GROUP_BY_CHOICES", "TABLE_HEADERS", "ArmStats",
    "Comparison", "ComparisonGroup", "GroupScore", "Scorecard", "build_scorecard", "compare",
    "comparison_rows", "newcombe_diff_interval", "pass_hat_k", "percentile", "read_note",
    "scorecard_from_log", "table_rows", "to_csv", "to_html", "to_json", "to_markdown",
    "wilson_interval",
]
