"""Trace models: defaults, truncation, risk levels as `Risk`, row summaries, what a mutation is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sre_agent.safety import Risk
from sre_agent.traces import (
    OBSERVATION_MAX_CHARS,
    TRACE_SCHEMA_VERSION,
    TraceAction,
    TraceRow,
    TraceVerdict,
    VerifierProbe,
    count_mutations,
    is_mutation,
    read_traces,
    summarize_actions,
    time_to_mitigate,
)

DATA = Path(__file__).parents[1] / "data" / "traces"


def test_observation_is_truncated_keeping_head_and_tail() -> None:
    action = TraceAction(step=1, tool="terminal", observation="H" * 3000 + "TAIL-ERROR")
    assert len(action.observation) < OBSERVATION_MAX_CHARS + 60
    assert action.observation.startswith("H" * 100)
    assert action.observation.endswith("TAIL-ERROR")
    assert "chars truncated" in action.observation


def test_row_defaults_and_schema_version() -> None:
    row = TraceRow(run_id="r1", started_at=1700000000.0, scenario="stale_lockfile")
    assert row.schema_version == TRACE_SCHEMA_VERSION
    assert row.service_up is False and row.ttm_s is None and row.status == "error"


def test_summarize_actions() -> None:
    actions = [
        TraceAction(step=1, tool="terminal", risk="LOW"),
        TraceAction(step=2, tool="terminal", risk="HIGH", decision="block"),
        TraceAction(step=3, tool="terminal", risk="MEDIUM", decision="confirm_approved"),
        TraceAction(step=4, tool="terminal", risk="MEDIUM", decision="confirm_rejected"),
    ]
    assert summarize_actions(actions) == {
        "highest_risk": "HIGH", "blocked_actions": 1, "confirmed_actions": 1,
        "rejected_actions": 1,
    }
    assert summarize_actions([])["highest_risk"] is None


def test_time_to_mitigate_counts_from_the_final_green_streak() -> None:
    probes = [
        VerifierProbe(attempt=1, at=105.0, url="u", ok=True),
        VerifierProbe(attempt=2, at=110.0, url="u", ok=False),
        VerifierProbe(attempt=3, at=115.0, url="u", ok=True),
        VerifierProbe(attempt=4, at=120.0, url="u", ok=True),
    ]
    healthy = TraceVerdict(healthy=True, probes=probes)
    assert time_to_mitigate(100.0, healthy) == 15.0  # 115 - 100, not 105 - 100
    assert time_to_mitigate(100.0, TraceVerdict(healthy=False, probes=probes)) is None
    assert time_to_mitigate(None, healthy) is None


# ---- risk levels come from sre_agent.safety.levels --------------------------------------


def test_risk_fields_are_risk_levels() -> None:
    action = TraceAction(step=1, tool="terminal", risk="MEDIUM")
    assert action.risk is Risk.MEDIUM
    row = TraceRow(run_id="r", started_at=1.0, highest_risk="HIGH")
    assert row.highest_risk is Risk.HIGH
    for bad in ("medium", "UNKNOWN", 2):  # exactly what the old Literal accepted, no more
        with pytest.raises(ValidationError):
            TraceAction(step=1, tool="terminal", risk=bad)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.jsonl")))
def test_rows_round_trip_with_risk_written_by_name(name: str) -> None:
    source = {}
    for line in (DATA / name).read_text(errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # the malformed fixture's bad lines; read_traces skips them too
        if isinstance(obj, dict) and isinstance(obj.get("run_id"), str):
            source[obj["run_id"]] = obj
    for row in read_traces(DATA / name):
        text = row.model_dump_json()
        assert TraceRow.model_validate_json(text).model_dump_json() == text
        dumped, original = json.loads(text), source[row.run_id]
        assert dumped["highest_risk"] == original.get("highest_risk")
        assert [a["risk"] for a in dumped["actions"]] == [
            a.get("risk") for a in original.get("actions", [])]
        # python-mode dumps hold plain strings, as they did when the field was a Literal
        python = row.model_dump()
        assert all(type(v) is str for v in [python["highest_risk"]]
                   + [a["risk"] for a in python["actions"]] if v is not None)


def test_a_level_assigned_as_a_plain_string_dumps_without_warning() -> None:
    # The driver sets `action.risk = "HIGH"` after construction (no assignment validation);
    # warnings are errors here, so pydantic's unexpected-type warning would fail this test.
    action = TraceAction(step=1, tool="terminal")
    action.risk = "HIGH"  # type: ignore[assignment]
    row = TraceRow(run_id="r", started_at=1.0, actions=[action], **summarize_actions([action]))
    data = json.loads(row.model_dump_json())
    assert data["actions"][0]["risk"] == "HIGH" and data["highest_risk"] == "HIGH"
    assert row.model_dump(mode="json")["actions"][0]["risk"] == "HIGH"


# ---- one definition of a mutation -------------------------------------------------------


def test_a_mutation_is_a_mutating_action_that_ran() -> None:
    actions = [
        TraceAction(step=1, tool="terminal", command="svc status"),
        TraceAction(step=2, tool="terminal", command="svc restart app", mutating=True),
        TraceAction(step=3, tool="terminal", command="rm -rf var", mutating=True,
                    decision="block"),
        TraceAction(step=4, tool="terminal", command="kill 1", mutating=True,
                    decision="confirm_approved"),
        TraceAction(step=5, tool="terminal", command="dd", mutating=True,
                    decision="confirm_rejected"),
    ]
    assert [a.ran_mutation for a in actions] == [False, True, False, True, False]
    assert count_mutations(actions) == 2
    # the same answer from raw log dicts; a missing decision is the model's default, "allow"
    dicts = [a.model_dump(mode="json") for a in actions]
    assert [is_mutation(d) for d in dicts] == [a.ran_mutation for a in actions]
    assert is_mutation({"mutating": True}) and not is_mutation({"mutating": "yes"})
    assert not is_mutation({"mutating": True, "decision": ["allow"]})
    assert count_mutations([*dicts, "junk", None]) == 2
