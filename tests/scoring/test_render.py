"""Text renderers: JSON, CSV, markdown (and they depend on the models, never the reverse)."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

from sre_agent import scoring
from sre_agent.scoring import scorecard_from_log, to_csv, to_json, to_markdown

DATA = Path(__file__).parents[1] / "data" / "traces"


def test_renderers() -> None:
    card = scorecard_from_log(DATA / "mixed.jsonl", compare_by="mode")
    data = json.loads(to_json(card))
    assert data["group_by"] == "skill" and data["read"]["rows_read"] == 11
    assert data["comparison"]["by"] == "mode"
    rows = list(csv.DictReader(io.StringIO(to_csv(card))))
    assert len(rows) == 4
    sim = next(r for r in rows if r["kind"] == "simulated")
    assert (sim["skill"], sim["runs"], sim["fixed"], sim["pass_3"]) == ("stale-lockfile", "6",
                                                                         "4", "")
    md = to_markdown(card)
    assert "| stale-lockfile | simulated | 6 | 4 | 66.7% | 66.7% | - |" in md
    assert "## Comparison by mode" in md


def test_no_runs_markdown() -> None:
    assert "No runs match" in to_markdown(scorecard_from_log(DATA / "empty.jsonl"))


def test_renderers_never_import_the_scorecard_builder() -> None:
    package = Path(scoring.__file__).parent
    for name in ("models.py", "render.py", "html.py", "stats.py"):
        tree = ast.parse((package / name).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "sre_agent.scoring.scorecard" not in imported, name
        assert "sre_agent.scoring" not in imported, name  # the face imports them
