"""Runs that look before they act: the offline agent, the real SDK, real ns sandboxes.

Every scenario of the built-in pack, seeds 1-3 (run three at a time; the webstack pack's own
sweep is tests/packs/test_webstack_triage.py): with only a vague alert the
evidence finds the cause of single faults; red herrings lose to the evidence; compound faults
are fixed by chaining runbooks; no-ops are left untouched and decoys escalated.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sre_agent.incidents import Scenario, catalogue
from sre_agent.runs import RunRequest, run_incident
from sre_agent.traces import TraceRow
from sre_agent.triage import parse_observation
from tests.support import FAST, needs_ns

pytestmark = [pytest.mark.e2e, needs_ns]

SCENARIOS = [s for s in catalogue() if s.pack == "builtin"]
SEEDS = (1, 2, 3)
VAGUE = ("service unhealthy", "pager: orders-api down", "something is off with prod, pls check")


def _of(kind: str) -> list[Scenario]:
    def flag(s: Scenario, name: str) -> bool:
        return bool(s.difficulty.get(name))

    chosen = {
        "single": [s for s in SCENARIOS if s.remediable and not flag(s, "compound")
                   and not flag(s, "misleading")],
        "misleading": [s for s in SCENARIOS if s.remediable and flag(s, "misleading")],
        "compound": [s for s in SCENARIOS if s.remediable and flag(s, "compound")],
        "noop": [s for s in SCENARIOS if s.expected_outcome == "nothing_to_fix"],
        "decoy": [s for s in SCENARIOS if s.expected_outcome == "escalate"],
    }[kind]
    return chosen


def _ids(scenarios: list[Scenario]) -> list[str]:
    return [s.name for s in scenarios]


def _runs(tmp_path: Path, scenario: Scenario, vague: bool) -> list[TraceRow]:
    def one(seed: int) -> TraceRow:
        text = VAGUE[(seed - 1) % len(VAGUE)] if vague else None
        return run_incident(RunRequest(
            scenario=scenario.name, seed=seed, incident_text=text, simulate=True,
            sandbox="ns", verify=FAST, trace_log=tmp_path / f"trace-{seed}.jsonl"))

    with ThreadPoolExecutor(len(SEEDS)) as pool:
        return list(pool.map(one, SEEDS))


def _looks(row: TraceRow) -> list[dict]:
    """The triage reports the agent got during the run (its own `triage` calls)."""
    found = [parse_observation(a.observation) for a in row.actions if a.tool == "triage"]
    return [f for f in found if f is not None]


def _why(row: TraceRow) -> str:
    return f"seed {row.seed}: {row.status} {row.reason}\n{row.claim_text}\n{row.extra.get('route')}"


@pytest.mark.parametrize("scenario", _of("single"), ids=_ids(_of("single")))
def test_a_vague_alert_is_resolved_by_the_evidence(tmp_path: Path, scenario: Scenario) -> None:
    for row in _runs(tmp_path, scenario, vague=True):
        assert row.status == "fixed", _why(row)
        assert row.skill_id in scenario.skill_ids, _why(row)
        assert row.route_source in ("evidence", "both"), _why(row)
        record = row.extra["triage"]
        assert row.skill_id in record["decision"]["fitting"]
        assert record["report"]["healthy"] is False and record["checks"] > 0
        assert _looks(row)[-1]["healthy"] is True  # the agent looked again before claiming


@pytest.mark.parametrize("scenario", _of("misleading"), ids=_ids(_of("misleading")))
def test_a_red_herring_loses_to_the_evidence(tmp_path: Path, scenario: Scenario) -> None:
    for row in _runs(tmp_path, scenario, vague=False):
        assert row.status == "fixed", _why(row)
        assert row.skill_id == scenario.skill_id, _why(row)
        text_choice = row.extra["triage"]["text"]["skill"]
        if text_choice not in (None, scenario.skill_id):
            assert row.route_overruled and row.route_source == "evidence", _why(row)


@pytest.mark.parametrize("scenario", _of("compound"), ids=_ids(_of("compound")))
def test_a_compound_fault_is_fixed_by_chaining_runbooks(tmp_path: Path,
                                                        scenario: Scenario) -> None:
    for row in _runs(tmp_path, scenario, vague=False):
        assert row.status == "fixed", _why(row)
        played = [a.command for a in row.actions if a.tool == "triage"]
        looks = _looks(row)
        assert len(played) >= 2 and looks[-1]["healthy"] is True, _why(row)
        assert looks[0]["fitting"] and set(looks[0]["fitting"]) <= set(scenario.skill_ids)
        claim = row.claim_text
        used = [skill for skill in scenario.skill_ids if skill in claim]
        assert len(used) >= 2, _why(row)  # more than one runbook, each one of the scenario's


@pytest.mark.parametrize("scenario", _of("noop"), ids=_ids(_of("noop")))
def test_a_healthy_system_is_left_untouched(tmp_path: Path, scenario: Scenario) -> None:
    for row in _runs(tmp_path, scenario, vague=True):
        assert row.status == "nothing_to_fix", _why(row)
        assert not any(a.mutating for a in row.actions), [a.command for a in row.actions]
        assert row.route_source == "evidence" and row.skill_id is None


@pytest.mark.parametrize("scenario", _of("decoy"), ids=_ids(_of("decoy")))
def test_a_decoy_is_escalated_with_the_evidence(tmp_path: Path, scenario: Scenario) -> None:
    for row in _runs(tmp_path, scenario, vague=True):
        assert row.status == "escalated" and not row.service_up, _why(row)
        assert not any(a.mutating for a in row.actions), [a.command for a in row.actions]
        assert row.verdict and row.verdict.ground_truth_ok, "the data must be preserved"
