"""`sre-agent scorecard` through the real CLI entry point."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sre_agent.cli.main import main

DATA = Path(__file__).parents[1] / "data" / "traces"
MIXED = str(DATA / "mixed.jsonl")


@pytest.fixture(autouse=True)
def _artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SRE_AGENT_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"


def test_table_shows_groups_and_skip_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", "--trace-log", str(DATA / "malformed.jsonl")]) == 0
    out, err = capsys.readouterr()
    assert "port-mismatch" in out and "simulated" in out
    assert "3 malformed, 1 torn last line, 2 unknown schema, 1 invalid fields" in err


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", "--trace-log", MIXED, "--format", "json", "--group-by",
                 "scenario"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["group_by"] == "scenario" and data["total_runs"] == 11
    assert data["read"]["skipped_malformed"] == 0
    assert {(g["group"], g["kind"]) for g in data["groups"]} >= {("healthy_noop", "real"),
                                                                 ("stale_lockfile", "simulated")}


def test_csv_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", "--trace-log", MIXED, "--format", "csv", "--exclude-simulated"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["kind"] for r in rows} == {"real"} and len(rows) == 3
    assert main(["scorecard", "--trace-log", MIXED, "--format", "markdown", "--mix-models"]) == 0
    out = capsys.readouterr().out
    assert "| stale-lockfile | mixed | 8 | 5 |" in out


def test_html_default_path(_artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", "--trace-log", MIXED, "--format", "html"]) == 0
    target = _artifacts / "reports" / "scorecard.html"
    assert str(target) in capsys.readouterr().err
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_html_to_output_with_comparison(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "r" / "card.html"
    assert main(["scorecard", "--trace-log", str(DATA / "compare.jsonl"), "--format", "html",
                 "-o", str(out_file), "--compare", "mode"]) == 0
    html = out_file.read_text()
    assert "<svg" in html and "Comparison by mode" in html
    capsys.readouterr()


def test_compare_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    compare_log = str(DATA / "compare.jsonl")
    assert main(["scorecard", "--trace-log", compare_log, "--format", "json",
                 "--compare", "mode"]) == 0
    comp = json.loads(capsys.readouterr().out)["comparison"]
    real = next(g for g in comp["groups"] if g["kind"] == "real")
    assert real["diff"] == pytest.approx(0.4)
    assert main(["scorecard", "--trace-log", compare_log, "--format", "csv",
                 "--compare", "mode"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["kind"] for r in rows] == ["real", "simulated"]


def test_run_id_and_since_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", "--trace-log", MIXED, "--format", "json",
                 "--run-id", "real-1", "--run-id", "real-2"]) == 0
    assert json.loads(capsys.readouterr().out)["total_runs"] == 2
    # all fixture runs started in Nov 2023; 2024 onwards keeps none
    assert main(["scorecard", "--trace-log", MIXED, "--format", "json",
                 "--since", "2024-01-01T00:00:00+00:00"]) == 0
    assert json.loads(capsys.readouterr().out)["total_runs"] == 0


@pytest.mark.parametrize("argv, message", [
    (["--trace-log", "/nonexistent/trace.jsonl"], "trace log not found"),
    (["--trace-log", MIXED, "--since", "last tuesday"], "cannot parse --since"),
    (["--trace-log", MIXED, "--group-by", "colour"], "unknown group-by"),
    (["--trace-log", MIXED, "--compare", "colour"], "unknown compare field"),
    (["--trace-log", MIXED, "-o", "x.txt"], "--output needs"),
])
def test_bad_input_exits_2(argv: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_modules_do_not_import_the_sdk() -> None:
    code = ("import sys, sre_agent.cli.scorecard, sre_agent.cli.trace, sre_agent.scoring.html; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('openhands', 'litellm')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
