"""The optimizer lane: candidate edits, the regression gate, the store, the lane, GEPA.

Unit tests judge candidates with `RunbookJudge`, a deterministic evaluator double that scores a
runbook from its text. The few real-sandbox tests (marked e2e) share one `SandboxEvaluator`,
so the SDK is imported once and a run of the current skill is reused across them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sre_agent.cli.main import main
from sre_agent.errors import UsageError
from sre_agent.optimizer import (
    Candidate,
    CandidateEval,
    Instance,
    InstanceResult,
    OptimizeRequest,
    SandboxEvaluator,
    get_optimizer,
    optimize,
    optimizer_names,
    regression_gate,
    score_result,
    store,
)
from sre_agent.optimizer.base import SearchContext
from sre_agent.optimizer.candidate import RunbookLayout
from sre_agent.optimizer.gepa_adapter import (
    REFLECTION_TEMPLATE,
    SkillAdapter,
    StandInReflectionLM,
    reflective_record,
)
from sre_agent.optimizer.iterative import IterativeOptimizer, all_safe_cuts, propose_edits
from sre_agent.paths import skills_dir
from sre_agent.runs.strategy import MANUAL_HINT, choose_strategy, promoted_candidate_path
from sre_agent.skills.catalogue import Skill, SkillStep
from tests.support import DATA, FAST, needs_ns

SKILL = "stale-lockfile"
BLOATED = DATA / "skills" / "stale-lockfile-bloated" / "SKILL.md"
CURRENT = skills_dir() / SKILL / "SKILL.md"
_SLEEP = re.compile(r"sleep\s+(\d+)")


def _candidate(path: Path = BLOATED) -> Candidate:
    return Candidate(skill_id=SKILL, text=path.read_text(encoding="utf-8"))


def _trace(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines()]


def _names(candidate: Candidate) -> list[str]:
    return [s.name for s in candidate.skill().contract.runbook]


# --- a deterministic evaluator double ---------------------------------------------------------


def _default_fixes(steps: Sequence[SkillStep], instance: Instance) -> bool:
    names = {s.name for s in steps}
    return {"remove-lock", "restart"} <= names


class RunbookJudge:
    """Evaluator double: success if the runbook keeps the remediation (or `fixes` says so);
    steps = runbook length; time = 0.5 s a step plus every `sleep N` in it."""

    def __init__(self, fixes: Callable[[Sequence[SkillStep], Instance], bool] = _default_fixes,
                 high_risk: Callable[[Skill], int] = lambda skill: 0) -> None:
        self.fixes = fixes
        self.high_risk = high_risk
        self.calls: list[tuple[str, list[str]]] = []
        self.crash_seed: int | None = None  # runs on this seed crash (on both sides)

    def evaluate(self, candidate: Candidate, instances: Sequence[Instance]) -> CandidateEval:
        from sre_agent.optimizer.evaluate import invalid_eval

        self.calls.append((candidate.version, [i.key for i in instances]))
        problem = candidate.problem()
        if problem:
            return invalid_eval(candidate, instances, problem)
        skill = candidate.skill()
        steps = skill.contract.runbook
        time_s = 0.5 * len(steps) + sum(int(n) for s in steps for n in _SLEEP.findall(s.run))
        results = []
        for instance in instances:
            ok = self.fixes(steps, instance)
            high = self.high_risk(skill)
            if instance.seed == self.crash_seed:
                results.append(InstanceResult(scenario=instance.scenario, seed=instance.seed,
                                              crashed=True, reason="OSError: boom"))
                continue
            results.append(InstanceResult(
                scenario=instance.scenario, seed=instance.seed, success=ok,
                status="fixed" if ok else "escalated", steps=len(steps), time_s=time_s,
                high_risk=high, score=score_result(ok, len(steps), time_s, 0, high)))
        return CandidateEval(version=candidate.version, results=results)


# --- candidate edits ----------------------------------------------------------------------------


def test_every_edit_is_checked_against_the_contract_and_keeps_the_remediation() -> None:
    seed = _candidate()
    edits = propose_edits(seed)
    assert {e.kind for e in edits} >= {"drop-sleep", "tighten", "drop-duplicate",
                                       "drop-diagnostic", "reorder"}
    invalid = [e for e in edits if not e.valid]
    # Dropping a step whose capture a later step needs breaks the contract, with the reason.
    assert {e.step for e in invalid} == {"client-port", "find-lock"}
    assert all("not captured by an earlier step" in (e.problem or "") for e in invalid)
    for edit in (e for e in edits if e.valid):
        steps = seed.derive(edit.text, edit.origin).skill().contract.runbook
        assert not steps[0].mutates  # diagnose first
        assert [s.name for s in steps if s.mutates] == ["remove-lock", "restart"]
        assert "confirm-owner-dead" in [s.name for s in steps]  # the guard stays


def test_safe_cuts_remove_sleeps_duplicates_and_idle_diagnostics_only() -> None:
    seed = _candidate()
    cut = all_safe_cuts(seed)
    assert cut is not None
    result = seed.derive(cut.text, cut.origin)
    assert _names(result) == ["status", "client-port", "find-lock", "confirm-owner-dead",
                              "remove-lock", "restart", "check-health", "check-ready"]
    assert not any("sleep" in s.run for s in result.skill().contract.runbook)
    # Text-level edits: only lines of the runbook change; the rest is byte-identical.
    before, after = RunbookLayout.of(seed.text, SKILL), RunbookLayout.of(result.text, SKILL)
    assert (before.head, before.tail) == (after.head, after.tail)
    assert all(span in before.spans for span in after.spans
               if "svc restart" not in span)


def test_tighten_rewrites_only_the_run_line() -> None:
    edit = next(e for e in propose_edits(_candidate()) if e.kind == "tighten")
    step = next(s for s in Candidate(skill_id=SKILL, text=edit.text).skill().contract.runbook
                if s.name == "restart")
    assert step.run == "svc restart app" and step.mutates and step.expect


def test_manual_candidate_prepends_the_hint_and_keeps_the_runbook() -> None:
    judge = RunbookJudge()
    seed = _candidate(CURRENT)
    ctx = SearchContext(skill_id=SKILL, seed=seed, train=[Instance(scenario="stale_lockfile",
                        seed=1)], val=[], evaluator=judge, budget=1)
    outcome = get_optimizer("manual").search(ctx)
    assert MANUAL_HINT in outcome.best.text and outcome.best.parent == seed.version
    assert outcome.best.skill().contract == seed.skill().contract


def test_invalid_candidate_scores_zero_without_running_anything(tmp_path: Path) -> None:
    evaluator = SandboxEvaluator(simulate=True, trace_log=None, candidates_dir=tmp_path)
    broken = Candidate(skill_id=SKILL, text=CURRENT.read_text().replace("max-risk: MEDIUM",
                                                                        "max-risk: EXTREME"))
    evaluation = evaluator.evaluate(broken, [Instance(scenario="stale_lockfile", seed=1)])
    assert evaluation.invalid and "max-risk" in evaluation.invalid
    assert [r.score for r in evaluation.results] == [0.0] and evaluator.runs == 0
    assert "breaks the skill contract" in evaluation.results[0].feedback


def test_scores_put_success_first_then_steps_time_and_safety() -> None:
    assert score_result(False, 3, 1.0, 0, 0) == 0.0
    assert score_result(True, 8, 4.0, 0, 0) > score_result(True, 16, 11.0, 0, 0) > 0.7
    assert score_result(True, 8, 4.0, 0, 1) < score_result(True, 16, 11.0, 0, 0)


# --- the iterative search -----------------------------------------------------------------------


def test_iterative_search_cuts_the_bloated_runbook_and_records_every_candidate() -> None:
    events: list[dict] = []
    ctx = SearchContext(skill_id=SKILL, seed=_candidate(),
                        train=[Instance(scenario="stale_lockfile", seed=s) for s in (1, 2)],
                        val=[], evaluator=RunbookJudge(), budget=5, record=events.append)
    outcome = IterativeOptimizer().search(ctx)
    assert len(_names(outcome.best)) == 8 and outcome.evaluated <= 5
    decisions = [(e["decision"], e["origin"]) for e in events]
    assert decisions[0][0] == "baseline" and ("accepted", outcome.best.origin) in decisions
    discarded = [e for e in events if e["decision"] == "discarded"]
    assert discarded and all("breaks the contract" in e["reason"] for e in discarded)


def test_iterative_search_respects_the_budget_and_never_accepts_a_broken_runbook() -> None:
    # Only a runbook that still shows the lock before removing it counts as a fix here, so
    # the combined cut (which drops show-lock) fails and single edits are tried instead.
    judge = RunbookJudge(fixes=lambda steps, i: "show-lock" in {s.name for s in steps})
    ctx = SearchContext(skill_id=SKILL, seed=_candidate(),
                        train=[Instance(scenario="stale_lockfile", seed=1)], val=[],
                        evaluator=judge, budget=3)
    outcome = IterativeOptimizer().search(ctx)
    assert outcome.evaluated == 3 and len(judge.calls) == 4  # the seed's baseline + 3
    assert "show-lock" in _names(outcome.best) and len(_names(outcome.best)) == 14


# --- the regression gate ------------------------------------------------------------------------


REGRESSION = [Instance(scenario="stale_lockfile", seed=s) for s in (101, 102, 103)]


def test_gate_rejects_a_candidate_that_breaks_one_held_out_seed() -> None:
    def fixes(steps: Sequence[SkillStep], instance: Instance) -> bool:
        return "show-lock" in {s.name for s in steps} or instance.seed != 102

    current = _candidate(CURRENT)
    cut = all_safe_cuts(_candidate())
    assert cut is not None
    candidate = current.derive(cut.text, cut.origin)
    verdict = regression_gate(candidate, current, RunbookJudge(fixes), REGRESSION,
                              seen_seeds=[1, 2, 3, 4])
    assert not verdict.passed
    failed = {c.name for c in verdict.checks if not c.passed}
    assert failed == {"success-rate", "no-broken-instance"}
    assert "stale_lockfile#102" in verdict.reason
    ok = regression_gate(candidate, current, RunbookJudge(), REGRESSION, seen_seeds=[1, 2])
    assert ok.passed and ok.reason == "every regression check passed"


def test_gate_rejects_new_high_risk_and_seen_seeds_without_running() -> None:
    current = _candidate(CURRENT)
    candidate = current.derive(current.text + "\n", "whitespace")
    risky = RunbookJudge(high_risk=lambda skill: int(skill.version == candidate.version))
    verdict = regression_gate(candidate, current, risky, REGRESSION, seen_seeds=[])
    assert [c.name for c in verdict.checks if not c.passed] == ["no-new-high-risk"]
    crashing = RunbookJudge()
    crashing.crash_seed = 103
    crashed = regression_gate(candidate, current, crashing, REGRESSION, seen_seeds=[])
    assert [c.name for c in crashed.checks if not c.passed] == ["runs-completed"]
    judge = RunbookJudge()
    seen = regression_gate(candidate, current, judge, REGRESSION, seen_seeds=[102])
    assert not seen.passed and "seeds [102] were seen" in seen.reason and judge.calls == []


# --- the store ----------------------------------------------------------------------------------


def test_promoted_candidate_is_what_strategy_source_optimizer_runs(tmp_path: Path) -> None:
    current = _candidate(CURRENT)
    cut = all_safe_cuts(_candidate())
    assert cut is not None
    cand = current.derive(cut.text, cut.origin)
    record = store.CandidateRecord(skill_id=SKILL, version=cand.version, parent=cand.parent,
                                   status="promoted", seeds={"train": [1]}, scores={"x": 1})
    path = store.promote(cand, record)
    assert path == promoted_candidate_path(SKILL) and path.read_text() == cand.text
    strategy = choose_strategy(incident_text="lock file held", mode="optimized",
                               source="optimizer", skill_id=SKILL)
    assert strategy.skill is not None and strategy.skill.version == cand.version
    assert [r.version for r in store.history(SKILL)] == [cand.version]
    assert store.promoted_record(SKILL) == record
    store.reject(current.derive(current.text + "\n", "x"),
                 store.CandidateRecord(skill_id=SKILL, version="v", status="rejected",
                                       reason="regression gate: no"))
    assert [r.reason for r in store.history(SKILL, "rejected")] == ["regression gate: no"]


def test_apply_writes_the_skill_and_keeps_a_backup(tmp_path: Path) -> None:
    (tmp_path / SKILL).mkdir()
    (tmp_path / SKILL / "SKILL.md").write_text(CURRENT.read_text())
    current = _candidate(CURRENT)
    cut = all_safe_cuts(_candidate())
    assert cut is not None
    applied = store.apply_to_skill(current.derive(cut.text, cut.origin), tmp_path)
    assert applied.backup == tmp_path / SKILL / f"SKILL.md.bak-{current.version}"
    assert applied.backup.read_text() == current.text
    assert applied.path.read_text() == cut.text and "-    - name: show-lock" in applied.diff


# --- the lane and the CLI -----------------------------------------------------------------------


def test_lane_promotes_with_artifacts_and_rejects_what_the_gate_refuses(tmp_path: Path) -> None:
    req = OptimizeRequest(optimizer="iterative", skill_id=SKILL, from_path=BLOATED,
                          run_id="opt-unit", budget=4)
    result = optimize(req, evaluator=RunbookJudge())
    assert result.outcome == "promoted", result.reason
    assert result.validation and result.validation.after["median_steps"] == 8
    assert result.validation.before["median_steps"] == 16
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"SKILL.md", "candidate.diff", "scores.json", "trace.jsonl", "summary.json"} <= files
    events = _trace(result.run_dir)
    assert events[0]["event"] == "start" and events[-1]["outcome"] == "promoted"
    scores = json.loads((result.run_dir / "scores.json").read_text())
    assert [s["seed"] for s in scores["regression"]["candidate"]["per_seed"]] == [101, 102, 103]
    assert promoted_candidate_path(SKILL).read_text() == (result.run_dir / "SKILL.md").read_text()

    def fixes(steps: Sequence[SkillStep], instance: Instance) -> bool:
        return len(steps) >= 9 or instance.seed < 100  # shorter runbooks fail unseen seeds

    refused = optimize(req.model_copy(update={"run_id": "opt-unit-2"}),
                       evaluator=RunbookJudge(fixes))
    assert refused.outcome == "rejected" and refused.reason.startswith("regression gate:")
    assert refused.candidate_version in {r.version for r in store.history(SKILL, "rejected")}


def test_unknown_optimizer_and_overlapping_seeds_are_usage_errors(
        capsys: pytest.CaptureFixture) -> None:
    assert set(optimizer_names()) >= {"gepa", "iterative", "manual"}
    with pytest.raises(UsageError) as info:
        get_optimizer("annealing")
    assert "gepa, iterative, manual" in (info.value.hint or "")
    with pytest.raises(UsageError, match="share seed"):
        optimize(OptimizeRequest(optimizer="manual", skill_id=SKILL, train_seeds=[1, 2],
                                 val_seeds=[2, 3]), evaluator=RunbookJudge())
    assert main(["optimize", "--optimizer", "annealing", "--skill", SKILL, "--simulate"]) == 2
    assert "unknown optimizer 'annealing'" in capsys.readouterr().err
    assert main(["optimize", "--optimizer", "gepa", "--skill", SKILL, "--simulate"]) == 2
    assert "needs --reflection-model" in capsys.readouterr().err
    assert main(["optimize", "--optimizer", "manual", "--skill", SKILL, "--simulate",
                 "--regression-seeds", "3,101", "--val-seeds", "3"]) == 2


def test_gepa_reflection_stand_in_is_deterministic_and_removes_one_step() -> None:
    seed = _candidate()
    prompt = REFLECTION_TEMPLATE.replace("<curr_param>", seed.text).replace("<side_info>", "-")
    stand_in = StandInReflectionLM(SKILL)
    first, second = stand_in(prompt), stand_in(prompt)
    assert first == second and first.startswith("```")
    proposed = Candidate(skill_id=SKILL, text=first.split("\n", 1)[1].rsplit("```", 1)[0])
    assert len(_names(proposed)) == len(_names(seed)) - 1 and "settle" not in _names(proposed)


def test_gepa_adapter_scores_an_invalid_text_zero_with_feedback() -> None:
    adapter = SkillAdapter(SKILL, RunbookJudge())
    batch = adapter.evaluate([Instance(scenario="stale_lockfile", seed=1)],
                             {"skill_md": "not a skill"}, capture_traces=True)
    assert batch.scores == [0.0]
    records = adapter.make_reflective_dataset({"skill_md": "x"}, batch, ["skill_md"])
    assert "breaks the skill contract" in records["skill_md"][0]["Feedback"]


# --- real sandboxes (offline runbook policy) ----------------------------------------------------



@pytest.fixture(scope="module")
def sandbox_evaluator(tmp_path_factory: pytest.TempPathFactory) -> SandboxEvaluator:
    root = tmp_path_factory.mktemp("opt-e2e")
    return SandboxEvaluator(simulate=True, sandbox="ns", verify=FAST,
                            trace_log=root / "runs.jsonl", candidates_dir=root / "candidates")


@pytest.mark.e2e
@needs_ns
def test_real_gate_rejects_a_runbook_without_its_remediation(
        sandbox_evaluator: SandboxEvaluator) -> None:
    current = _candidate(CURRENT)
    layout = RunbookLayout.of(current.text, SKILL)
    keep = [i for i, s in enumerate(layout.steps) if s.name != "remove-lock"]
    broken = current.derive(layout.compose(keep), "drop:remove-lock")
    assert broken.problem() is None  # still a valid contract: only the runs can tell
    verdict = regression_gate(broken, current, sandbox_evaluator, REGRESSION[:1],
                              seen_seeds=[1, 2, 3, 4])
    assert not verdict.passed and verdict.current and verdict.candidate
    runs = verdict.current["per_seed"] + verdict.candidate["per_seed"]
    assert not any(r["crashed"] for r in runs), runs
    assert verdict.current["per_seed"][0]["success"] is True
    assert verdict.candidate["per_seed"][0]["success"] is False
    assert {c.name for c in verdict.checks if not c.passed} >= {"no-broken-instance"}


@pytest.mark.e2e
@needs_ns
def test_gepa_end_to_end_with_the_stand_in_reflection(sandbox_evaluator: SandboxEvaluator) -> None:
    req = OptimizeRequest(optimizer="gepa", skill_id=SKILL, from_path=BLOATED, budget=1,
                          train_seeds=[1], val_seeds=[3], regression_seeds=[101],
                          reflection_model="stand-in", run_id="opt-gepa")
    before = sandbox_evaluator.runs
    result = optimize(req, evaluator=sandbox_evaluator)
    assert result.outcome == "promoted", result.reason
    best = Candidate(skill_id=SKILL, text=promoted_candidate_path(SKILL).read_text())
    assert len(_names(best)) == 15 and "settle" not in _names(best)
    assert result.validation and result.validation.after["success_rate"] == 1.0
    assert result.validation.after["median_steps"] < result.validation.before["median_steps"]
    assert sandbox_evaluator.runs - before <= 6
    events = _trace(result.run_dir)
    assert any(e.get("origin") == "gepa" and e.get("phase") == "train" for e in events)
    assert events[-1]["outcome"] == "promoted"


def test_reflective_record_shows_commands_and_the_verdict() -> None:
    result = InstanceResult(scenario="stale_lockfile", seed=1, success=False, status="escalated",
                            reason="2 probes failed", feedback="NOT fixed", actions=[
                                {"tool": "terminal", "command": "svc status", "risk": "LOW",
                                 "decision": "allow", "observation": "app FATAL"}])
    record = reflective_record(result)
    assert "$ svc status" in record["Generated Outputs"]["commands"]
    assert "app FATAL" in record["Generated Outputs"]["commands"]
    assert record["Feedback"].startswith("score 0.000")
