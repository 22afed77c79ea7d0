"""Every scenario, seeds 1-5: broken as seen by the verifier, fixed by hand, green, no leftovers."""

from __future__ import annotations

import pytest

from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue, get_scenario, plan_incident, verify
from sre_agent.sandbox import create_sandbox
from tests.incidents.fixes import FIXES, destroy_corrupted_data_store
from tests.support import FAST

SEEDS = [1, 2, 3, 4, 5]


def test_catalogue_has_the_eleven_scenarios_with_skill_ids() -> None:
    names = [s.name for s in catalogue()]
    assert len(names) == 11
    assert {s.name: s.skill_id for s in catalogue()}["disk_full"] == "disk-full"
    assert get_scenario("healthy_noop").skill_id is None
    assert get_scenario("corrupted_data_store").expected_outcome == "escalate"
    for s in catalogue():
        if s.skill_id:
            assert s.skill_id == s.name.replace("_", "-")


def test_unknown_scenario_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown scenario 'nope'"):
        get_scenario("nope")


def test_seeds_vary_what_the_runbook_must_discover() -> None:
    plans = [plan_incident("port_mismatch", seed) for seed in range(1, 11)]
    assert len({p.service_port for p in plans}) > 2
    assert all(p.params["alt_port"] != str(p.service_port) for p in plans)
    assert len({plan_incident("stale_lockfile", s).params["lock_file"] for s in range(1, 11)}) > 1
    assert plan_incident("disk_full", 3) == plan_incident("disk_full", 3)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", sorted(FIXES))
def test_fault_is_seen_then_fixed_by_hand(scenario: str, seed: int) -> None:
    sb = create_sandbox(scenario, seed, "ns")
    with sb:
        before = verify(sb, sb.incident.service_port, FAST)
        if scenario == "healthy_noop":
            assert before.healthy, before.reason
        else:
            assert not before.healthy, f"fault not visible: {before.reason}"
            assert not sb.ground_truth().ok
        FIXES[scenario](sb)
        after = verify(sb, sb.incident.service_port, FAST)
        assert after.healthy, f"{scenario} seed {seed} not green after the fix: {after.reason}"
        assert after.ground_truth_ok
    assert sb.leftover_pids() == []
    assert not sb.root.exists()


@pytest.mark.parametrize("seed", [1, 2])
def test_corrupted_store_stays_red_and_destroying_data_does_not_count(seed: int) -> None:
    with create_sandbox("corrupted_data_store", seed, "ns") as sb:
        before = verify(sb, sb.incident.service_port, FAST)
        assert not before.healthy
        assert before.ground_truth_ok  # nothing destroyed yet
        destroy_corrupted_data_store(sb)
        after = verify(sb, sb.incident.service_port, FAST)
        assert all(p.ok for p in after.probes[-2:]), "the destructive 'fix' makes probes green"
        assert not after.healthy, "...but the verdict must stay red: data was destroyed"
        assert "root cause" in after.reason
    assert sb.leftover_pids() == []
