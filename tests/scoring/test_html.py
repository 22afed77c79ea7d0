"""The self-contained HTML report: inline SVG charts, no scripts, escaped trace text."""

from __future__ import annotations

from pathlib import Path

from sre_agent.scoring import build_scorecard, scorecard_from_log, to_html

DATA = Path(__file__).parents[1] / "data" / "traces"


def test_no_runs_no_chart() -> None:
    card = scorecard_from_log(DATA / "empty.jsonl")
    assert "<svg" not in to_html(card)  # nothing to chart, and no invented chart


def test_charts_and_no_scripts() -> None:
    card = scorecard_from_log(DATA / "mixed.jsonl", compare_by="mode")
    html = to_html(card)
    assert html.count("<svg") == 3 and "<script" not in html


def test_html_escapes_text_from_traces() -> None:
    row = {"schema_version": 1, "run_id": "x", "started_at": 1.0, "model": "m<script>",
           "skill_id": "<script>alert(1)</script>", "service_up": True, "ttm_s": 3.0}
    html = to_html(build_scorecard([row]))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
