"""Triage on the webstack pack: every skill's read-only checks, the decision they lead to on
every scenario, and the offline agent that acts on it (real ns sandboxes, the real SDK).

Texts: single faults, no-ops and decoys get only a vague alert (the evidence must find the
cause, or that there is none); red herrings (`misleading`, cascades included) and compound
faults get the scenario's own alert, which points elsewhere or names one fault of two.

Default run: the triage decision on every scenario once (seed rotated, 3 at a time) and the
offline agent end to end on a small sample; `SRE_AGENT_FULL_SWEEP=1`: the agent end to end on
every scenario, seeds 1-3.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sre_agent.incidents import Scenario, catalogue, plan_incident, values_for
from sre_agent.runs import RunRequest, run_incident
from sre_agent.sandbox import create_sandbox
from sre_agent.skills.catalogue import load_catalog
from sre_agent.traces import TraceRow
from sre_agent.triage import Triage, build_plan, parse_observation, triage_sandbox
from tests.support import FAST, needs_ns

PREFIX = "ws_"
SEEDS = (1, 2, 3)
VAGUE = ("service unhealthy", "pager: orders-api down", "something is off with prod, pls check")
FULL_SWEEP = os.environ.get("SRE_AGENT_FULL_SWEEP") == "1"
PARALLEL = 3
# The verifier gate of tests/support.FAST (the same rules: consecutive healthy probes and the
# ground truth) with the pack's 5 s probe time-out, as tests/packs/test_webstack.py: the deep
# probes (/ready writes to redis and SQLite, the order POST) took over 1.5 s on this 2-core
# machine under load (load average 30-45) after correct fixes.
VERIFY = FAST.model_copy(update={"probe_timeout_s": 5.0})


def _scenarios() -> list[Scenario]:
    return [s for s in catalogue() if s.name.startswith(PREFIX)]


def kind_of(s: Scenario) -> str:
    if s.expected_outcome == "nothing_to_fix":
        return "noop"
    if s.expected_outcome == "escalate":
        return "decoy"
    if s.difficulty.get("misleading"):
        return "herring"
    if s.difficulty.get("compound"):
        return "compound"
    return "single"


def _text(s: Scenario, seed: int) -> str | None:
    """A vague alert, or None for the scenario's own (misleading or partial) alert."""
    return None if kind_of(s) in ("herring", "compound") else VAGUE[(seed - 1) % len(VAGUE)]


def _rotated() -> list[tuple[Scenario, int]]:
    return [(s, SEEDS[i % len(SEEDS)]) for i, s in enumerate(_scenarios())]


def _ids(pairs: list[tuple[Scenario, int]]) -> list[str]:
    return [f"{s.name}-{seed}" for s, seed in pairs]


# -- the checks themselves (no sandbox) ----------------------------------------------------------

def test_every_webstack_skill_has_read_only_checks_that_can_support_its_fault() -> None:
    catalog = load_catalog()
    named = {skill for s in _scenarios() for skill in s.skill_ids}
    ours = {s.id: s for s in catalog.skills if s.id in named}
    assert named and set(ours) == named
    for skill in ours.values():
        checks = skill.contract.triage
        assert any(c.supports for c in checks), skill.id
    incident = plan_incident(_scenarios()[0].name, 1)
    values = values_for(incident, workdir=Path("/nonexistent/work"), python=sys.executable,
                        instance="0" * 16)
    plan = build_plan(catalog, incident, values)
    assert plan.skipped == []  # every command is rated LOW by the safety layer
    assert named <= set(plan.skills)
    assert {c.skill for c in plan.checks} >= named
    # looks shared by several checks run once
    assert len(plan.commands()) < len(plan.checks) + len(plan.health)


# -- the decision on every scenario (triage only) -----------------------------------------------

def _triage(pair: tuple[Scenario, int]) -> Triage:
    scenario, seed = pair
    with create_sandbox(scenario.name, seed, "ns") as sb:
        text = _text(scenario, seed)
        return triage_sandbox(sb, sb.incident.text if text is None else text)


def _wrong_decision(scenario: Scenario, seed: int, found: Triage) -> str | None:
    d, report = found.decision, found.report
    kind = kind_of(scenario)
    fitting = set(report.fitting)
    wanted = set(scenario.skill_ids)
    ok = {
        "noop": d.outcome == "nothing_to_fix" and report.healthy is True,
        "decoy": d.outcome == "escalate" and report.healthy is False and not fitting,
        "single": d.outcome == "play" and d.skill in wanted and d.source in ("evidence", "both"),
        "herring": d.outcome == "play" and d.skill in wanted and d.source in ("evidence", "both")
        and (d.text_skill in (None, *wanted) or d.overruled),
        "compound": d.outcome == "play" and d.skill in wanted and fitting <= wanted,
    }[kind]
    if ok:
        return None
    why = "; ".join(f"{f.skill} {f.score:+g} [{', '.join(e.check for e in f.supports)}]"
                    for f in report.ranked if f.supports)
    return (f"{scenario.name}/{seed} ({kind}): {d.outcome} {d.skill} ({d.source}, "
            f"fitting {sorted(fitting)}; healthy {report.healthy}): {d.reason[:200]} | {why}")


@pytest.mark.e2e
@pytest.mark.timeout(900)
@needs_ns
def test_triage_finds_the_cause_of_every_webstack_scenario_once() -> None:
    pairs = _rotated()
    with ThreadPoolExecutor(PARALLEL) as pool:
        found = list(pool.map(_triage, pairs))
    wrong = [w for (s, seed), t in zip(pairs, found, strict=True)
             if (w := _wrong_decision(s, seed, t))]
    assert wrong == []
    assert {kind_of(s) for s, _ in pairs} == {"single", "herring", "compound", "noop", "decoy"}
    for t in found:
        assert t.report.commands_run > 20 and t.report.skipped == []


# -- the offline agent end to end ------------------------------------------------------------------

def _looks(row: TraceRow) -> list[dict]:
    """The triage reports the agent got during the run (its own `triage` calls)."""
    found = [parse_observation(a.observation) for a in row.actions if a.tool == "triage"]
    return [f for f in found if f is not None]


def _wrong_run(scenario: Scenario, row: TraceRow) -> str | None:
    kind = kind_of(scenario)
    mutated = [a.command for a in row.actions if a.mutating]
    looks = _looks(row)
    record = row.extra.get("triage") or {}
    first = set((record.get("decision") or {}).get("fitting") or [])
    wanted = set(scenario.skill_ids)
    problem = None
    if kind == "noop":
        if row.status != "nothing_to_fix" or mutated or row.skill_id is not None:
            problem = "a healthy system was not left alone"
    elif kind == "decoy":
        if row.status != "escalated" or row.service_up or mutated or \
                not (row.verdict and row.verdict.ground_truth_ok):
            problem = "a decoy was not escalated with its data intact"
    elif row.status != "fixed" or row.skill_id not in wanted:
        problem = "not fixed by its own runbook"
    elif not looks or looks[-1].get("healthy") is not True:
        problem = "the agent did not look again before claiming the fix"
    elif kind == "single" and row.route_source not in ("evidence", "both"):
        problem = f"routed by {row.route_source}, not by the evidence"
    elif kind == "herring" and record.get("text", {}).get("skill") not in (None, *wanted) \
            and not row.route_overruled:
        problem = "the misleading text was not overruled"
    elif kind == "compound":
        played = [s for s in scenario.skill_ids if s in row.claim_text]
        if not first <= wanted or (len(wanted) > 1 and len(played) < 2):
            problem = f"not chained through its runbooks (first look fitting {sorted(first)})"
    if problem is None:
        return None
    return (f"{row.scenario}/{row.seed} ({kind}): {problem}: {row.status} {row.skill_id} "
            f"({row.route_source}) {row.reason[:200]}; claim {row.claim_text[:300]!r}; "
            f"mutations {mutated[:6]}")


def _play(pairs: list[tuple[Scenario, int]], trace: Path) -> list[str]:
    def one(pair: tuple[Scenario, int]) -> str | None:
        scenario, seed = pair
        row = run_incident(RunRequest(
            scenario=scenario.name, seed=seed, incident_text=_text(scenario, seed),
            simulate=True, sandbox="ns", verify=VERIFY, trace_log=trace))
        return _wrong_run(scenario, row)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return [w for w in pool.map(one, pairs) if w]


# one of each thing the policy must do beyond a single runbook: chain two runbooks, overrule a
# misleading alert, find a cause from a vague alert (the whole pack: the full sweep below)
SAMPLE = ("ws_compound_flag_and_maxmemory", "ws_herring_varlog_cache_auth", "ws_fd_exhaustion")


@pytest.mark.e2e
@pytest.mark.timeout(900)
@needs_ns
def test_the_offline_agent_acts_on_the_evidence_on_a_sample(tmp_path: Path) -> None:
    by_name = {s.name: s for s in _scenarios()}
    pairs = [(by_name[name], SEEDS[i % len(SEEDS)]) for i, name in enumerate(SAMPLE)]
    assert _play(pairs, tmp_path / "trace.jsonl") == []


@pytest.mark.e2e
@pytest.mark.timeout(7200)
@needs_ns
@pytest.mark.skipif(not FULL_SWEEP, reason="the exhaustive sweep (every webstack scenario on "
                    "seeds 1-3 end to end, 132 runs, about an hour on 2 cores) runs with "
                    "SRE_AGENT_FULL_SWEEP=1")
def test_the_offline_agent_answers_every_webstack_scenario_on_seeds_1_to_3(
        tmp_path: Path) -> None:
    trace = Path(os.environ.get("SRE_AGENT_SWEEP_TRACE") or tmp_path / "trace.jsonl")
    pairs = [(s, seed) for s in _scenarios() for seed in SEEDS]
    assert _play(pairs, trace) == []
