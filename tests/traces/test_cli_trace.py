"""`sre-agent trace list|show` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.cli.main import main
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    VerifierProbe,
)

DATA = Path(__file__).parents[1] / "data" / "traces"
MIXED = str(DATA / "mixed.jsonl")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "trace_log.jsonl"
    verdict = TraceVerdict(
        healthy=False, reason="0 of 3 probes ok",
        probes=[VerifierProbe(attempt=1, at=1700000010.0, url="http://127.0.0.1:18080/health",
                              status=503, latency_ms=4.0, ok=False, error="HTTP 503")],
        ground_truth_ok=False, ground_truth_detail="lock file still held",
    )
    TraceWriter(path).append(TraceRow(
        run_id="run-42", started_at=1700000000.0, scenario="stale_lockfile", seed=3,
        skill_id="stale-lockfile", model="runbook", simulated=True, steps=2,
        actions=[
            TraceAction(step=1, tool="terminal", command="svc status", risk="LOW",
                        observation="app FATAL " + "x" * 900 + " END-OF-OUTPUT", exit_code=0),
            TraceAction(step=2, tool="terminal", command="rm -rf var/data", risk="HIGH",
                        model_risk="LOW", decision="block", reasons=["deletes the data store"],
                        mutating=True),
        ],
        claimed_fixed=True, claim_text="Removed the lock; service restarted.", service_up=False,
        verdict=verdict, status="not_fixed", reason="verifier red",
    ))
    return path


def test_list_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "list", "--trace-log", MIXED, "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "esc-1" in out and "noop-2" in out and "noop-1" in out and "real-2" not in out
    assert main(["trace", "list", "--trace-log", MIXED, "--json", "--limit", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in data["runs"]] == ["esc-1", "noop-2"]  # newest first
    assert data["runs"][0]["status"] == "escalated"


def test_list_reports_skipped_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "list", "--trace-log", str(DATA / "malformed.jsonl")]) == 0
    captured = capsys.readouterr()
    assert "ok-2" in captured.out
    assert "skipped 3 malformed, 1 torn last line, 2 unknown-schema" in captured.err


def test_show_timeline_flags_disagreement(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", "run-42", "--trace-log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "svc status" in out and "rm -rf var/data" in out
    assert "block" in out and "deletes the data store" in out and "model said LOW" in out
    assert "chars truncated" in out and "END-OF-OUTPUT" in out  # display truncation keeps tail
    assert "http://127.0.0.1:18080/health -> 503" in out
    assert "lock file still held" in out
    assert "DISAGREE: claimed healthy, verifier red" in out


def test_show_json(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", "run-42", "--trace-log", str(log), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["run_id"] == "run-42" and row["actions"][1]["decision"] == "block"


def test_show_unknown_run_and_missing_log(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", "nope", "--trace-log", str(log)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["trace", "list", "--trace-log", str(log.parent / "missing.jsonl")]) == 2
    assert "trace log not found" in capsys.readouterr().err


def test_show_prints_how_the_skill_was_chosen(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from sre_agent.triage import Evidence, SkillFit, TriageReport

    report = TriageReport(healthy=False, ranked=[SkillFit(
        skill="stale-lockfile", score=1, checks=2,
        supports=[Evidence(check="app-log", kind="supports", excerpt="lock file x is held")])])
    path = tmp_path / "t.jsonl"
    TraceWriter(path).append(TraceRow(
        run_id="run-7", started_at=1.0, scenario="stale_lock_behind_disk_alert",
        skill_id="stale-lockfile", route_source="evidence", route_overruled=True,
        extra={"route": "evidence: the evidence overrules the text's disk-full",
               "triage": {"report": report.model_dump(mode="json")}}))
    assert main(["trace", "show", "run-7", "--trace-log", str(path)]) == 0
    out = capsys.readouterr().out
    assert "routing: source evidence, overruled the text: evidence: the evidence overrules" in out
    assert "  triage     + app-log: lock file x is held" in out
