"""Scorecard metrics against hand-computed values from the fixture logs in tests/data/traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.errors import UsageError
from sre_agent.scoring import build_scorecard, compare, scorecard_from_log
from sre_agent.traces import (
    TraceAction,
    TraceRow,
    TraceWriter,
    count_mutations,
    iter_trace_dicts,
    read_traces,
)

DATA = Path(__file__).parents[1] / "data" / "traces"


def _groups(card):
    return {(g.group, g.kind): g for g in card.groups}


def test_no_runs() -> None:
    card = scorecard_from_log(DATA / "empty.jsonl")
    assert card.total_runs == 0 and card.groups == []
    assert card.read is not None and card.read.rows_read == 0


def test_all_failed() -> None:
    card = scorecard_from_log(DATA / "all_failed.jsonl")
    (g,) = card.groups
    assert (g.group, g.kind, g.runs, g.fixed, g.success_rate) == ("disk-full", "simulated", 3, 0,
                                                                 0.0)
    # one task (disk_full, 1, disk-full, runbook, baseline) with n=3, c=0 -> all pass^k are 0
    assert g.pass_hat_k == {1: 0.0, 2: 0.0, 3: 0.0}
    assert g.false_claims == 1  # f-1 claimed fixed, verifier red
    assert g.unclaimed_fixes == 0
    assert (g.ttm_count, g.ttm_p50_s, g.ttm_p95_s) == (0, None, None)
    assert g.statuses == {"error": 1, "limit": 1, "not_fixed": 1}
    # steps 4, 6, 5: mean 5.0; sorted 4,5,6, nearest-rank p50 = rank ceil(1.5)=2 -> 5
    assert (g.steps_mean, g.steps_p50) == (5.0, 5)


def test_simulated_and_real_runs_are_kept_apart() -> None:
    card = scorecard_from_log(DATA / "mixed.jsonl", group_by="skill")
    groups = _groups(card)
    assert set(groups) == {("stale-lockfile", "real"), ("noop-check", "real"),
                           ("(no skill)", "real"), ("stale-lockfile", "simulated")}
    sim = groups[("stale-lockfile", "simulated")]
    real = groups[("stale-lockfile", "real")]
    assert (sim.runs, sim.fixed, sim.models) == (6, 4, ["runbook"])
    assert (real.runs, real.fixed, real.models) == (2, 1, ["openai/gpt-4o-mini"])
    assert card.total_runs == 11
    # real groups are listed before simulated ones
    assert card.groups[-1].kind == "simulated"


def test_mix_models_and_exclude_simulated() -> None:
    mixed = _groups(scorecard_from_log(DATA / "mixed.jsonl", mix_models=True))
    g = mixed[("stale-lockfile", "mixed")]
    assert (g.runs, g.fixed) == (8, 5)  # 6 simulated (4 up) + 2 real (1 up)
    assert sorted(g.models) == ["openai/gpt-4o-mini", "runbook"]
    real_only = scorecard_from_log(DATA / "mixed.jsonl", include_simulated=False)
    assert {g.kind for g in real_only.groups} == {"real"}
    assert real_only.total_runs == 5
    by_model = _groups(scorecard_from_log(DATA / "mixed.jsonl", group_by="model"))
    assert set(by_model) == {("runbook", "simulated"), ("openai/gpt-4o-mini", "real")}


def test_simulated_group_metrics() -> None:
    g = _groups(scorecard_from_log(DATA / "mixed.jsonl"))[("stale-lockfile", "simulated")]
    # runs sim-a1..a3 (seed 1: up, up, down), sim-b1..b2 (seed 2: up, up), sim-c1 (seed 3: down)
    assert g.success_rate == pytest.approx(4 / 6)
    # pass^k tasks with n >= 2: seed 1 (n=3, c=2) and seed 2 (n=2, c=2); seed 3 (n=1) excluded
    # pass^1 = (2/3 + 2/2) / 2 = 0.8333;  pass^2 = (C(2,2)/C(3,2) + C(2,2)/C(2,2)) / 2
    #        = (1/3 + 1) / 2 = 0.6667;   pass^3: min n = 2 -> None
    assert g.pass_k_tasks == 2
    assert g.pass_hat_k[1] == pytest.approx(5 / 6)
    assert g.pass_hat_k[2] == pytest.approx(2 / 3)
    assert g.pass_hat_k[3] is None
    # claims: a1 claimed+up, a2 up unclaimed, a3 claimed+down, b1/b2 claimed+up, c1 neither
    assert (g.claimed_healthy, g.false_claims, g.unclaimed_fixes) == (4, 1, 1)
    # steps 3,5,4,2,6,8: mean 28/6; sorted 2,3,4,5,6,8 -> p50 rank ceil(3)=3 -> 4
    assert g.steps_mean == pytest.approx(28 / 6)
    assert g.steps_p50 == 4
    # ttm of verified runs 10,30,20,40 -> sorted 10,20,30,40
    # p50 rank ceil(0.5*4)=2 -> 20; p95 rank ceil(0.95*4)=4 -> 40; p25 rank 1 -> 10; p75 -> 30
    assert (g.ttm_count, g.ttm_p50_s, g.ttm_p95_s) == (4, 20.0, 40.0)
    assert (g.ttm_min_s, g.ttm_p25_s, g.ttm_p75_s, g.ttm_max_s) == (10.0, 10.0, 30.0, 40.0)
    assert (g.cost_usd_mean, g.tokens_in_mean) == (0.0, 0.0)
    assert g.highest_risk == "MEDIUM"  # a2
    assert (g.blocked_actions, g.confirmed_actions, g.rejected_actions) == (1, 1, 0)
    assert g.escalations == 0


def test_real_group_cost_risk_and_pass_k() -> None:
    g = _groups(scorecard_from_log(DATA / "mixed.jsonl"))[("stale-lockfile", "real")]
    # real-1 (up, $0.02, 1000/100 tokens, 5 steps, ttm 15), real-2 (down, $0.04, 3000/300, 7)
    assert g.cost_usd_mean == pytest.approx(0.03)  # (0.02 + 0.04) / 2
    assert g.cost_usd_total == pytest.approx(0.06)
    assert (g.tokens_in_mean, g.tokens_out_mean) == (2000.0, 200.0)
    assert (g.steps_mean, g.steps_p50) == (6.0, 5)  # p50 rank ceil(1)=1 of [5, 7]
    assert (g.ttm_p50_s, g.ttm_p95_s) == (15.0, 15.0)
    # one task n=2, c=1: pass^1 = 1/2, pass^2 = C(1,2)/C(2,2) = 0
    assert g.pass_hat_k == {1: 0.5, 2: 0.0, 3: None}
    assert g.false_claims == 1  # real-2 claimed fixed, verifier red
    assert g.highest_risk == "HIGH"
    assert (g.blocked_actions, g.rejected_actions) == (2, 1)


def test_healthy_noop_unnecessary_mutations_and_escalations() -> None:
    groups = _groups(scorecard_from_log(DATA / "mixed.jsonl"))
    noop = groups[("noop-check", "real")]
    # noop-1: 2 read-only actions; noop-2: svc restart + a config edit = 2 mutating actions
    assert (noop.healthy_noop_runs, noop.healthy_noop_mutations) == (2, 2)
    # noop-1 said "nothing_to_fix" and the verifier agreed: not an unclaimed fix
    assert (noop.unclaimed_fixes, noop.false_claims) == (0, 0)
    assert noop.pass_hat_k[2] == 1.0  # both trials of (healthy_noop, 1, ...) passed
    esc = groups[("(no skill)", "real")]
    assert (esc.runs, esc.escalations, esc.fixed) == (1, 1, 0)
    assert groups[("stale-lockfile", "real")].healthy_noop_runs == 0


def test_a_blocked_mutation_is_no_mutation_for_scorecard_and_helper(tmp_path: Path) -> None:
    # A healthy service; the agent tried to restart it (blocked), and to delete data (rejected
    # by the operator): nothing changed. The runner's `mutating_actions` (count_mutations) and
    # the scorecard must agree, or fan-out calls the run correct while the scorecard flags it.
    actions = [
        TraceAction(step=1, tool="terminal", command="svc status"),
        TraceAction(step=2, tool="terminal", command="svc restart app", mutating=True,
                    risk="MEDIUM", decision="block"),
        TraceAction(step=3, tool="terminal", command="rm -rf var/data", mutating=True,
                    risk="HIGH", decision="confirm_rejected"),
    ]
    blocked = TraceRow(run_id="noop-blocked", started_at=1.0, scenario="healthy_noop",
                       model="m", service_up=True, status="nothing_to_fix", actions=actions)
    ran = blocked.model_copy(update={
        "run_id": "noop-ran",
        "actions": [*actions, TraceAction(step=4, tool="terminal", command="svc restart app",
                                          mutating=True, decision="confirm_approved")]})
    assert count_mutations(blocked.actions) == 0 and count_mutations(ran.actions) == 1
    log = tmp_path / "t.jsonl"
    for row in (blocked, ran):
        TraceWriter(log).append(row)
    for source in (iter_trace_dicts(log), read_traces(log), [blocked, ran]):
        (g,) = build_scorecard(source).groups
        assert (g.healthy_noop_runs, g.healthy_noop_mutations) == (2, 1)
    (g,) = build_scorecard(iter_trace_dicts(log, run_id="noop-blocked")).groups
    assert g.healthy_noop_mutations == count_mutations(blocked.actions) == 0


def test_group_by_scenario_and_skill_version() -> None:
    by_scenario = _groups(scorecard_from_log(DATA / "mixed.jsonl", group_by="scenario"))
    assert by_scenario[("healthy_noop", "real")].runs == 2
    assert by_scenario[("stale_lockfile", "real")].runs == 2
    by_version = _groups(scorecard_from_log(DATA / "mixed.jsonl", group_by="skill_version"))
    assert by_version[("stale-lockfile@1", "simulated")].runs == 3  # a1, a2, a3
    assert by_version[("stale-lockfile@2", "simulated")].runs == 3  # b1, b2, c1
    with pytest.raises(UsageError):
        build_scorecard([], group_by="colour")


def test_malformed_lines_are_counted_not_scored() -> None:
    card = scorecard_from_log(DATA / "malformed.jsonl")
    assert card.read is not None
    assert (card.read.skipped_malformed, card.read.skipped_unknown_schema,
            card.read.skipped_torn_last_line) == (3, 2, 1)
    assert card.skipped_invalid == 1  # bad-types: "steps": "three"
    (g,) = card.groups
    assert (g.runs, g.fixed) == (2, 1)  # ok-1 up, ok-2 down


def test_accepts_trace_rows_as_well_as_dicts() -> None:
    from_models = build_scorecard(read_traces(DATA / "mixed.jsonl"))
    from_dicts = build_scorecard(iter_trace_dicts(DATA / "mixed.jsonl"))
    assert from_models.groups == from_dicts.groups


def test_compare_with_newcombe_interval() -> None:
    comp = compare(iter_trace_dicts(DATA / "compare.jsonl"), "mode", "baseline", "optimized")
    real = next(c for c in comp.groups if c.kind == "real")
    assert (real.a.runs, real.a.fixed, real.b.runs, real.b.fixed) == (5, 2, 5, 4)
    # Wilson 2/5: centre (0.4 + 1.96^2/10) / (1 + 1.96^2/5) = 0.4435, half-width 0.3258
    #   -> (0.1176, 0.7693);  Wilson 4/5 -> (0.3755, 0.9638)
    # diff = 0.8 - 0.4 = 0.4; low = 0.4 - sqrt((0.8-0.3755)^2 + (0.7693-0.4)^2) = -0.1626
    #                        high = 0.4 + sqrt((0.9638-0.8)^2 + (0.4-0.1176)^2) = 0.7264
    assert real.diff == pytest.approx(0.4)
    assert real.ci_low == pytest.approx(-0.1626, abs=5e-4)
    assert real.ci_high == pytest.approx(0.7264, abs=5e-4)
    # steps baseline 6..10 -> p50 8; optimized 3..7 -> p50 5; diff -3
    assert real.steps_p50_diff == -3
    # ttm baseline [40, 60] -> p50 40; optimized [10, 20, 30, 50] -> p50 rank 2 = 20; diff -20
    assert real.ttm_p50_diff_s == -20.0
    assert real.note is None
    sim = next(c for c in comp.groups if c.kind == "simulated")
    assert (sim.a.runs, sim.b.runs) == (2, 2)
    assert sim.diff is None and sim.ci_low is None and "too little data" in (sim.note or "")


def test_compare_with_no_matching_runs_says_so() -> None:
    comp = compare(iter_trace_dicts(DATA / "mixed.jsonl"), "mode", "baseline", "optimized")
    (g,) = [c for c in comp.groups if c.kind == "real"]
    assert g.b.runs == 0 and g.diff is None and "too little data" in (g.note or "")
    empty = compare([], "mode")
    assert empty.groups == [] and "no runs" in (empty.note or "")


def _routed(run_id: str, source: str | None, overruled: bool, up: bool,
            scenario: str = "disk_full", expected: str = "fixed") -> TraceRow:
    return TraceRow(run_id=run_id, started_at=1.0, scenario=scenario, seed=1, mode="optimized",
                    skill_id="disk-full", model="runbook", simulated=True, route_source=source,
                    route_overruled=overruled, service_up=up, status="fixed" if up else
                    "not_fixed", extra={"expected_outcome": expected})


def test_group_by_route_source_counts_overrules() -> None:
    rows = [_routed("a", "evidence", True, True), _routed("b", "evidence", False, True),
            _routed("c", "both", False, True), _routed("d", "text", False, False),
            _routed("e", None, False, True)]
    card = build_scorecard(rows, group_by="route_source")
    groups = {g.group: g for g in card.groups}
    assert set(groups) == {"evidence", "both", "text", "(no route_source)"}
    assert (groups["evidence"].runs, groups["evidence"].overrules) == (2, 1)
    assert groups["text"].fixed == 0 and groups["both"].overrules == 0


def test_noop_mutations_count_for_every_no_op_scenario() -> None:
    mutation = TraceAction(step=1, tool="terminal", command="rm -f x", mutating=True,
                           decision="allow")
    row = _routed("n", "evidence", False, True, scenario="ws_healthy_nginx_notice",
                  expected="nothing_to_fix")
    row.actions = [mutation]
    (g,) = build_scorecard([row]).groups
    assert (g.healthy_noop_runs, g.healthy_noop_mutations) == (1, 1)
