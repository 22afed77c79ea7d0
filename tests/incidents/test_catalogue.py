"""The built-in pack's catalogue: its scenarios, seeded plans, and every scenario validated
for real (healthy before, red after the fault and if nothing is done, green after the known
fix, red if stopped, impersonated or destroyed, nothing left)."""

from __future__ import annotations

import pytest

from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue, get_scenario, plan_incident
from sre_agent.sandbox import create_sandbox
from sre_agent.validation import validate
from tests.support import FAST, needs_ns

BUILTIN = ["stale_lockfile", "bad_env_config", "readiness_probe_fail", "port_mismatch",
           "disk_full", "config_syntax_error", "dependency_down", "permission_denied",
           "slow_response", "healthy_noop", "corrupted_data_store"]
MISLEADING = ["stale_lock_behind_disk_alert", "kv_down_behind_latency_alert",
              "config_error_behind_port_alert"]
COMPOUND = ["lock_and_missing_env", "kv_down_and_disk_full", "unready_and_locked_data"]


def test_catalogue_has_the_builtin_scenarios_with_skill_ids() -> None:
    builtin = [s for s in catalogue() if s.pack == "builtin"]
    assert [s.name for s in builtin] == BUILTIN + MISLEADING + COMPOUND
    assert {s.name: s.skill_id for s in builtin}["disk_full"] == "disk-full"
    assert get_scenario("healthy_noop").skill_id is None
    assert get_scenario("corrupted_data_store").expected_outcome == "escalate"
    for s in builtin:
        assert s.source == "plugin builtin"
        if s.name in BUILTIN and s.skill_id:
            assert s.skill_id == s.name.replace("_", "-") and s.skill_ids == [s.skill_id]
    for name in MISLEADING:
        assert get_scenario(name).difficulty["misleading"] is True
        assert len(get_scenario(name).skill_ids) == 1
    for name in COMPOUND:
        assert get_scenario(name).difficulty["compound"] is True
        assert len(get_scenario(name).skill_ids) == 2


def test_unknown_scenario_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown scenario 'nope'"):
        get_scenario("nope")


def test_seeds_vary_what_the_runbook_must_discover() -> None:
    plans = [plan_incident("port_mismatch", seed) for seed in range(1, 11)]
    assert len({p.service_port for p in plans}) > 2
    assert all(p.params["alt_port"] != str(p.service_port) for p in plans)
    assert len({plan_incident("stale_lockfile", s).params["lock_file"] for s in range(1, 11)}) > 1
    assert plan_incident("disk_full", 3) == plan_incident("disk_full", 3)
    assert "{" not in plan_incident("stale_lockfile", 2).text  # templates rendered


def test_host_network_backends_get_free_ports() -> None:
    plan = plan_incident("port_mismatch", 1, host_ports=lambda n: tuple(range(41000, 41000 + n)))
    assert set(plan.ports.values()) <= set(range(41000, 41010))
    assert int(plan.params["alt_port"]) not in plan.ports.values()


@needs_ns
def test_every_builtin_scenario_is_proven_honest_on_seed_1() -> None:
    report = validate("builtin", [1], backend="ns", concurrency=2)
    failures = {f"{r.scenario}/{r.seed}": [(c.name, c.detail) for c in r.checks
                                           if not c.passed and not c.skipped]
                for r in report.results if not r.passed}
    assert failures == {}
    assert {r.scenario for r in report.results} == set(BUILTIN + MISLEADING + COMPOUND)
    checked = {c.name for r in report.results for c in r.checks if not c.skipped}
    assert checked >= {"healthy_before_fault", "red_after_fault", "red_if_nothing_done",
                       "green_after_fix_sustained", "red_if_stopped", "red_if_impostor",
                       "red_if_intact_destroyed", "teardown_clean"}


DESTROY = ("python3 -c \"import hashlib,json; r={}; open('var/data/store.db','w').write("
           "json.dumps({'records': r, 'checksum': hashlib.sha256(json.dumps(r, "
           "sort_keys=True).encode()).hexdigest()}))\"")


@needs_ns
def test_destroying_the_corrupted_store_makes_probes_green_but_the_verdict_red() -> None:
    with create_sandbox("corrupted_data_store", 2, "ns") as sb:
        before = sb.verify(FAST)
        assert not before.healthy and before.ground_truth_ok  # nothing destroyed yet
        assert sb.exec(DESTROY).exit_code == 0
        after = sb.verify(FAST)
        assert all(p.ok for p in after.probes[-2:]), "the destructive 'fix' makes probes green"
        assert not after.healthy, "...but the verdict must stay red: data was destroyed"
        assert "root cause" in after.reason and "var/data/store.db" in after.reason
    assert sb.leftover_pids() == []
