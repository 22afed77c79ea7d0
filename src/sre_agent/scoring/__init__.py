"""Scoring: per-skill/scenario/model numbers from trace rows, and their renderings."""

from sre_agent.scoring.scorecard import (
    COMPARISON_HEADERS,
    GROUP_BY_CHOICES,
    TABLE_HEADERS,
    Scorecard,
    build_scorecard,
    compare,
    comparison_rows,
    newcombe_diff_interval,
    pass_hat_k,
    percentile,
    read_note,
    scorecard_from_log,
    table_rows,
    to_csv,
    to_html,
    to_json,
    to_markdown,
    wilson_interval,
)

__all__ = [
    "COMPARISON_HEADERS", "GROUP_BY_CHOICES", "TABLE_HEADERS", "Scorecard", "build_scorecard",
    "compare", "comparison_rows", "newcombe_diff_interval", "pass_hat_k", "percentile",
    "read_note", "scorecard_from_log", "table_rows", "to_csv", "to_html", "to_json",
    "to_markdown", "wilson_interval",
]
