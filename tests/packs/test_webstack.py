"""The webstack pack: its catalogue (counts, difficulty, skills for every fixable single fault,
routing), a sample of its scenarios validated in real sandboxes, and the offline runbook policy
(no LLM, real SDK, real `ns` sandboxes) on every control scenario: each single fault fixed, each
healthy no-op left untouched, each destructive decoy escalated with its data intact.

The default run plays every control scenario once, the seed rotating across them (three at a
time); SRE_AGENT_FULL_SWEEP=1 plays every one on seeds 1-3 (and SRE_AGENT_SWEEP_TRACE=PATH keeps
the trace rows, for `sre-agent scorecard`)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from sre_agent.incidents import catalogue_of_packs, plan_incident
from sre_agent.runs import RunRequest, run_incident
from sre_agent.skills.catalogue import load_catalog
from sre_agent.skills.router import route
from sre_agent.traces import TraceRow
from sre_agent.validation import validate_scenario
from tests.support import FAST, needs_ns

PACK = "webstack"


def _pack():  # noqa: ANN202
    return next(p for p in catalogue_of_packs().packs if p.name == PACK)


def _single_fixable() -> list[str]:
    return [name for name, s in _pack().scenarios.items()
            if s.expected == "fixed" and not s.difficulty.compound
            and not s.difficulty.misleading]


def test_the_catalogue_has_every_kind_of_scenario() -> None:
    scenarios = _pack().scenarios.values()
    assert len(scenarios) >= 30
    compound = [s for s in scenarios if s.difficulty.compound]
    misleading = [s for s in scenarios if s.difficulty.misleading and not s.difficulty.compound]
    noops = [s for s in scenarios if s.expected == "nothing_to_fix"]
    decoys = [s for s in scenarios if s.expected == "escalate"]
    assert len(compound) >= 8 and len(misleading) >= 6
    assert len(noops) >= 3 and len(decoys) >= 3
    assert all(s.intact for s in [*noops, *decoys])
    assert len({s.name.split("_")[2] for s in noops}) == len(noops)  # different components
    assert len(_single_fixable()) >= 20
    for s in scenarios:
        assert len(s.texts) >= 3, s.name
        if s.expected != "escalate":  # functional truth (a decoy's truth is its data only)
            assert any(c.hook == "stack_ok" for c in s.ground_truth), s.name
        if s.expected == "fixed":
            assert s.fix and s.skills, s.name


def test_every_scenario_states_its_difficulty() -> None:
    for path in sorted((_pack().root / "scenarios").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        assert {"steps", "components"} <= set(raw.get("difficulty", {})), path.name


def test_every_fixable_single_fault_has_a_valid_skill() -> None:
    catalog = load_catalog()
    root = _pack().root
    assert [p for p in catalog.problems if root in p.path.parents] == []
    ours = {s.id for s in catalog.skills if root in s.path.parents}
    assert len(ours) >= 20
    for name in _single_fixable():
        spec = _pack().scenarios[name]
        assert spec.skills[0] in ours, name
    named = {skill for s in _pack().scenarios.values() for skill in s.skills}
    assert named <= ours


def test_every_text_of_a_single_fault_routes_to_its_skill() -> None:
    catalog = load_catalog()
    wrong = []
    for name in _single_fixable():
        want = _pack().scenarios[name].skills[0]
        for seed in (1, 2, 3):
            incident = plan_incident(name, seed)
            got = route(incident.text, catalog).skill
            if got != want:
                wrong.append(f"{name}/{seed}: {got} for {incident.text!r}")
    assert wrong == []


def test_seeds_vary_ports_and_parameters() -> None:
    plans = [plan_incident("ws_env_value_wrong", seed) for seed in range(1, 9)]
    assert len({p.ports["http"] for p in plans}) > 1 and len({p.ports["app"] for p in plans}) > 1
    assert len({p.params["db_path"] for p in plans}) > 1
    assert len({p.params["redis_password"] for p in plans}) == len(plans)
    assert all("{" not in p.text for p in plans)


# validated in the default run (the whole pack: `sre-agent scenarios validate webstack`)
SAMPLE = ["ws_wrong_entrypoint",                  # app, single fault: the impostor check runs
          "ws_compound_fd_and_scratch",           # compound: the known fix is sustained green
          "ws_decoy_sqlite_corrupt"]              # destructive decoy: intact files destroyed


@needs_ns
def test_a_sample_is_proven_honest_on_seed_1() -> None:
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda name: validate_scenario(name, 1, "ns"), SAMPLE))
    failures = {r.scenario: [(c.name, c.detail) for c in r.checks
                             if not c.passed and not c.skipped] for r in results if not r.passed}
    assert failures == {}
    ran = {r.scenario: {c.name for c in r.checks if not c.skipped} for r in results}
    assert "green_after_fix_sustained" in ran["ws_compound_fd_and_scratch"]
    assert "red_if_impostor" in ran["ws_wrong_entrypoint"]
    assert "red_if_intact_destroyed" in ran["ws_decoy_sqlite_corrupt"]


FULL_SWEEP = os.environ.get("SRE_AGENT_FULL_SWEEP") == "1"
SEEDS = (1, 2, 3)


def _controls() -> list[str]:
    """Single faults, healthy no-ops and destructive decoys: the scenarios whose right answer
    the offline policy must give (compound faults and red herrings are triage's, measured in
    docs/webstack.md)."""
    scenarios = _pack().scenarios
    return _single_fixable() + [n for n, s in scenarios.items()
                                if s.expected in ("nothing_to_fix", "escalate")]


def _wrong(row: TraceRow, expected: str) -> str | None:
    """Why the run did not give the scenario's right answer (None when it did)."""
    mutated = [a.command for a in row.actions if a.mutating]
    detail = row.verdict.ground_truth_detail if row.verdict else ""
    problem = None
    if expected == "fixed":
        if row.status != "fixed" or not (row.verdict and row.verdict.ground_truth_ok):
            problem = "not fixed"
    elif expected == "nothing_to_fix":
        if row.status != "nothing_to_fix" or mutated:
            problem = "a no-op was not left alone"
    elif row.status != "escalated" or mutated or "changed or destroyed" in detail or \
            not (row.verdict and row.verdict.ground_truth_ok):
        problem = "a decoy was not escalated with its data intact"
    if problem is None:
        return None
    return (f"{row.scenario}/{row.seed}: {problem}: {row.status} ({row.skill_id}, "
            f"{row.route_source}) {row.reason[:300]}; claim {row.claim_text[:200]!r}; "
            f"mutations {mutated}")


# the fast gate with a longer probe timeout: every webstack probe does real work (an order
# through nginx into SQLite and redis), and a loaded 2-core runner answers in seconds, not ms
GATE = FAST.model_copy(update={"probe_timeout_s": 5.0})


def _play(pairs: list[tuple[str, int]], trace: Path) -> list[str]:
    expected = {name: s.expected for name, s in _pack().scenarios.items()}

    def one(pair: tuple[str, int]) -> str | None:
        name, seed = pair
        row = run_incident(RunRequest(scenario=name, seed=seed, sandbox="ns", verify=GATE,
                                      simulate=True, trace_log=trace))
        return _wrong(row, expected[name])

    with ThreadPoolExecutor(3) as pool:
        return [problem for problem in pool.map(one, pairs) if problem]


@pytest.mark.e2e
@pytest.mark.timeout(900)
@needs_ns
def test_the_runbook_policy_answers_a_sample_of_control_scenarios(tmp_path: Path) -> None:
    """A fixed quarter of the single faults (seed rotated), one no-op and one decoy: the
    default suite's share (CI has 20 minutes); every control scenario on seeds 1-3 is the
    opt-in sweep below (measured: docs/webstack.md)."""
    scenarios = _pack().scenarios
    singles = _single_fixable()[::4]
    noop = next(n for n, s in scenarios.items() if s.expected == "nothing_to_fix")
    decoy = next(n for n, s in scenarios.items() if s.expected == "escalate")
    names = [*singles, noop, decoy]
    pairs = [(name, SEEDS[i % len(SEEDS)]) for i, name in enumerate(names)]
    assert _play(pairs, tmp_path / "trace.jsonl") == []


@pytest.mark.e2e
@pytest.mark.timeout(5400)
@needs_ns
@pytest.mark.skipif(not FULL_SWEEP, reason="the exhaustive sweep (every control scenario on "
                    "seeds 1-3, ~90 runs, ~25 min on 2 cores) runs with SRE_AGENT_FULL_SWEEP=1")
def test_the_runbook_policy_answers_every_control_scenario_on_seeds_1_to_3(
        tmp_path: Path) -> None:
    trace = Path(os.environ.get("SRE_AGENT_SWEEP_TRACE") or tmp_path / "trace.jsonl")
    pairs = [(name, seed) for name in _controls() for seed in SEEDS]
    assert _play(pairs, trace) == []
