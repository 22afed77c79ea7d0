"""The fan-out summary: counts, correctness against the expected outcome, percentiles."""

from __future__ import annotations

from sre_agent.fleet import run_fanout
from sre_agent.fleet.summary import IncidentView, bucket, outcome_correct
from sre_agent.runs import RunHooks, RunRequest
from sre_agent.traces import TraceRow, TraceVerdict
from tests.fleet.fakes import FakeExecutor, fanout_request, row_for


def test_summary_math_and_correctness() -> None:
    fake = FakeExecutor(status={"stale_lockfile": "not_fixed"})
    names = ["stale_lockfile", "disk_full", "healthy_noop", "corrupted_data_store"]
    summary = run_fanout(fanout_request(incidents=8, concurrency=2, scenarios=names, seed=1),
                         [fake])
    assert (summary.total, summary.fixed, summary.not_fixed, summary.escalated,
            summary.nothing_to_fix, summary.errors, summary.lost) == (8, 2, 2, 2, 2, 0, 0)
    assert summary.correct == 6 and summary.incorrect == 2
    assert summary.by_scenario["stale_lockfile"] == {"total": 2, "not_fixed": 2, "correct": 0}
    assert summary.by_scenario["disk_full"]["correct"] == 2
    assert summary.by_difficulty["single"] == {"total": 4, "not_fixed": 2, "fixed": 2,
                                               "correct": 2}
    assert summary.by_difficulty["noop"]["correct"] == 2
    assert summary.by_difficulty["decoy"] == {"total": 2, "escalated": 2, "correct": 2}
    # disk_full ran with seeds 2 and 6; the fake's ttm is the seed (nearest-rank percentile)
    assert (summary.ttm_p50_s, summary.ttm_p95_s) == (2.0, 6.0)
    assert summary.incidents_per_min > 0 and summary.wall_s > 0
    assert sorted(i.index for i in summary.incidents) == list(range(8))
    assert {g["scenario"] for g in summary.scorecard} == set(names)


def test_noop_with_a_mutation_is_not_correct() -> None:
    class Mutating(FakeExecutor):
        def run(self, req: RunRequest, hooks: RunHooks) -> TraceRow:
            return row_for(req, mutating=1)

    summary = run_fanout(fanout_request(incidents=1, scenarios=["healthy_noop"]), [Mutating()])
    assert summary.nothing_to_fix == 1 and summary.correct == 0


def test_an_escalation_is_correct_only_with_the_data_intact() -> None:
    row = row_for(RunRequest(scenario="corrupted_data_store"))
    assert outcome_correct(row, "escalate")
    row.verdict = TraceVerdict(healthy=False, reason="red", ground_truth_ok=False)
    assert not outcome_correct(row, "escalate")
    assert not outcome_correct(row, "something_else")


def test_each_incident_lands_in_one_bucket() -> None:
    def view(**kw: object) -> IncidentView:
        return IncidentView(index=0, scenario="disk_full", seed=1, severity="high",
                            expected="fixed", run_id="r", **kw)  # type: ignore[arg-type]

    assert bucket(view(state="lost")) == "lost"
    assert bucket(view(state="not_started")) == "not_started"
    assert bucket(view(state="done")) == "errors"  # no status: the executor failed
    assert bucket(view(state="done", status="error")) == "errors"
    assert bucket(view(state="done", status="escalated")) == "escalated"
