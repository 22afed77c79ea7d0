"""Scorecards: per-group numbers from trace rows, and A/B comparisons with an honest interval.

Definitions (one place, so every renderer agrees; the statistics are in `stats.py`):

- A run *passes* when the verifier saw the service up (`service_up`); the agent's claim never
  counts. `success_rate = fixed / runs`.
- pass^k: runs are grouped into tasks by (scenario, seed, skill_id, model, mode); tasks with
  n >= 2 trials count (`stats.pass_hat_k`). Single-trial tasks count in `success_rate`, not in
  pass^k. pass^2 and pass^3 are always reported, null when the data cannot support them.
- The agent *claims healthy* when `claimed_fixed` or its status is `nothing_to_fix`.
  `false_claims`: claimed healthy, verifier red. `unclaimed_fixes`: verifier green, no claim.
- Percentiles (steps p50, time-to-mitigate p50/p95) are nearest-rank. TTM uses verified runs
  only.
- Means (tokens, cost, duration) are per run ("per incident").
- `healthy_noop_mutations`: mutations (`sre_agent.traces.is_mutation`: flagged mutating *and*
  ran; a blocked one changed nothing) in no-op runs (`healthy_noop`, or any scenario whose
  expected outcome is nothing_to_fix), all of them unnecessary.
- `overrules`: runs whose triage evidence replaced the runbook the text had chosen
  (`route_overruled`); group by `route_source` to see text / evidence / both / none.
- Offline runbook-policy runs (`simulated`, or model `runbook`) and real-model runs are kept in
  separate groups unless `mix_models=True`; each group says which kind it is.
- `compare`: difference of success rates b - a with a 95% Newcombe hybrid score interval
  (`stats.newcombe_diff_interval`). Fewer than `MIN_ARM_RUNS` runs in an arm gives a note
  instead of a difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sre_agent.errors import UsageError
from sre_agent.safety import RISK_LEVELS, rank
from sre_agent.scoring.models import (
    MIN_ARM_RUNS,
    ArmStats,
    Comparison,
    ComparisonGroup,
    GroupScore,
    Kind,
    Scorecard,
)
from sre_agent.scoring.stats import (
    counter_percentile,
    newcombe_diff_interval,
    pass_hat_k,
    percentile,
)
from sre_agent.traces import TraceReadResult, count_mutations, iter_trace_dicts

GROUP_BY_CHOICES: tuple[str, ...] = ("skill", "scenario", "model", "skill_version", "mode",
                                     "route_source")
COMPARE_BY_CHOICES: tuple[str, ...] = GROUP_BY_CHOICES + ("strategy_source",)
_FIELD = {"skill": "skill_id", "scenario": "scenario", "model": "model", "mode": "mode",
          "strategy_source": "strategy_source", "route_source": "route_source"}


def _is_simulated(row: Mapping[str, Any]) -> bool:
    return row.get("simulated") is True or row.get("model") == "runbook"


def _is_noop(row: Mapping[str, Any]) -> bool:
    """A run of a no-op scenario (nothing is wrong): any mutation in it was unnecessary."""
    extra = row.get("extra")
    expected = extra.get("expected_outcome") if isinstance(extra, Mapping) else None
    return row.get("scenario") == "healthy_noop" or expected == "nothing_to_fix"


def _as_dict(row: Any) -> dict[str, Any]:
    if type(row) is dict:
        return row
    if hasattr(row, "model_dump"):
        return row.model_dump()
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"expected a trace row (dict or TraceRow), got {type(row).__name__}")


def _label(row: dict[str, Any], group_by: str) -> str:
    if group_by == "skill_version":
        return f"{row.get('skill_id') or '(no skill)'}@{row.get('skill_version') or '-'}"
    value = row.get(_FIELD[group_by])
    return str(value) if value not in (None, "") else f"(no {group_by})"


class _Group:
    """Running totals for one group; everything a GroupScore needs, nothing per-row kept."""

    __slots__ = ("runs", "fixed", "claimed", "false_claims", "unclaimed", "escalations",
                 "statuses", "steps_sum", "steps", "ttm", "tokens_in", "tokens_out", "cost",
                 "duration", "risk", "blocked", "confirmed", "rejected", "noop_runs",
                 "noop_mutations", "tasks", "models", "overrules")

    def __init__(self) -> None:
        self.runs = self.fixed = self.claimed = self.false_claims = self.unclaimed = 0
        self.escalations = self.steps_sum = self.tokens_in = self.tokens_out = 0
        self.blocked = self.confirmed = self.rejected = self.noop_runs = self.noop_mutations = 0
        self.risk = self.overrules = 0
        self.cost = self.duration = 0.0
        self.statuses: Counter[str] = Counter()
        self.steps: Counter[int] = Counter()
        self.ttm: list[float] = []
        self.tasks: dict[tuple[Any, ...], list[int]] = {}
        self.models: set[str] = set()

    def result(self, group: str, kind: Kind) -> GroupScore:
        n = self.runs
        ttm = sorted(self.ttm)
        return GroupScore(
            group=group, kind=kind, models=sorted(self.models), runs=n, fixed=self.fixed,
            success_rate=self.fixed / n,
            pass_hat_k=pass_hat_k((t[0], t[1]) for t in self.tasks.values()),
            pass_k_tasks=sum(1 for t in self.tasks.values() if t[0] >= 2),
            claimed_healthy=self.claimed, false_claims=self.false_claims,
            unclaimed_fixes=self.unclaimed, escalations=self.escalations,
            statuses=dict(sorted(self.statuses.items())),
            steps_mean=self.steps_sum / n, steps_p50=counter_percentile(self.steps, 50),
            ttm_count=len(ttm), ttm_min_s=ttm[0] if ttm else None,
            ttm_p25_s=percentile(ttm, 25), ttm_p50_s=percentile(ttm, 50),
            ttm_p75_s=percentile(ttm, 75), ttm_p95_s=percentile(ttm, 95),
            ttm_max_s=ttm[-1] if ttm else None,
            tokens_in_mean=self.tokens_in / n, tokens_out_mean=self.tokens_out / n,
            cost_usd_mean=self.cost / n, cost_usd_total=self.cost,
            duration_s_mean=self.duration / n,
            highest_risk=RISK_LEVELS[self.risk - 1] if self.risk else None,
            blocked_actions=self.blocked, confirmed_actions=self.confirmed,
            rejected_actions=self.rejected,
            healthy_noop_runs=self.noop_runs, healthy_noop_mutations=self.noop_mutations,
            overrules=self.overrules,
        )


_NUM = (int, float)


def _add(g: _Group, row: dict[str, Any]) -> bool:
    """Fold one row into `g`; False (and `g` untouched) when a field has the wrong type."""
    get = row.get
    up = get("service_up", False)
    claimed = get("claimed_fixed", False)
    escalated = get("escalated", False)
    steps = get("steps", 0)
    tin = get("tokens_in", 0)
    tout = get("tokens_out", 0)
    cost = get("cost_usd", 0.0)
    dur = get("duration_s", 0.0)
    ttm = get("ttm_s")
    blocked = get("blocked_actions", 0)
    confirmed = get("confirmed_actions", 0)
    rejected = get("rejected_actions", 0)
    status = get("status", "error")
    model = get("model", "runbook")
    scenario = get("scenario", "")
    if (type(up) is not bool or type(claimed) is not bool or type(escalated) is not bool
            or type(steps) is not int or type(tin) is not int or type(tout) is not int
            or type(cost) not in _NUM or type(dur) not in _NUM
            or (ttm is not None and type(ttm) not in _NUM)
            or type(blocked) is not int or type(confirmed) is not int
            or type(rejected) is not int or type(status) is not str or type(model) is not str
            or type(scenario) is not str):
        return False
    noop_mutations = 0
    noop = _is_noop(row)
    if noop:
        actions = get("actions") or []
        if type(actions) is not list:
            return False
        noop_mutations = count_mutations(actions)
    g.runs += 1
    claims_healthy = claimed or status == "nothing_to_fix"
    if up:
        g.fixed += 1
        if ttm is not None:
            g.ttm.append(ttm)
        if not claims_healthy:
            g.unclaimed += 1
    elif claims_healthy:
        g.false_claims += 1
    if claims_healthy:
        g.claimed += 1
    if escalated:
        g.escalations += 1
    g.statuses[status] += 1
    g.steps_sum += steps
    g.steps[steps] += 1
    g.tokens_in += tin
    g.tokens_out += tout
    g.cost += cost
    g.duration += dur
    risk = rank(get("highest_risk"))
    if risk > g.risk:
        g.risk = risk
    g.blocked += blocked
    g.confirmed += confirmed
    g.rejected += rejected
    if get("route_overruled") is True:
        g.overrules += 1
    if noop:
        g.noop_runs += 1
        g.noop_mutations += noop_mutations
    key = (scenario, get("seed"), get("skill_id"), model, get("mode"))
    task = g.tasks.get(key)
    if task is None:
        g.tasks[key] = [1, 1 if up else 0]
    else:
        task[0] += 1
        task[1] += up
    g.models.add(model)
    return True


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r}", hint=f"choose one of: {', '.join(choices)}")


def build_scorecard(
    rows: Iterable[Any],
    group_by: str = "skill",
    *,
    include_simulated: bool | None = None,
    mix_models: bool = False,
) -> Scorecard:
    """Fold trace rows (dicts or `TraceRow`s, e.g. a `TraceReadResult`) into a scorecard.

    Args:
        rows: consumed once; a `TraceReadResult`'s skip counters are copied into `read`.
        group_by: one of `GROUP_BY_CHOICES`.
        include_simulated: None or True keeps offline runbook-policy runs (in their own
            groups); False drops them.
        mix_models: put simulated and real runs of the same group together (kind "mixed").
    """
    _check_choice(group_by, GROUP_BY_CHOICES, "group-by")
    keep_sim = include_simulated is not False
    groups: dict[tuple[str, Kind], _Group] = {}
    invalid = 0
    for raw in rows:
        row = _as_dict(raw)
        simulated = _is_simulated(row)
        if simulated and not keep_sim:
            continue
        kind: Kind = "mixed" if mix_models else ("simulated" if simulated else "real")
        key = (_label(row, group_by), kind)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group()
        if not _add(g, row):
            invalid += 1
            if not g.runs:
                del groups[key]
    order = {"real": 0, "mixed": 0, "simulated": 1}
    results = [g.result(label, kind) for (label, kind), g in groups.items()]
    results.sort(key=lambda r: (order[r.kind], r.group))
    return Scorecard(
        group_by=group_by, mixed_models=mix_models, include_simulated=keep_sim,
        total_runs=sum(r.runs for r in results), groups=results, skipped_invalid=invalid,
        read=rows.stats if isinstance(rows, TraceReadResult) else None,
    )


def _arm(label: str, g: _Group | None) -> ArmStats:
    if g is None or not g.runs:
        return ArmStats(label=label, runs=0, fixed=0, success_rate=None, steps_p50=None,
                        ttm_p50_s=None)
    return ArmStats(label=label, runs=g.runs, fixed=g.fixed, success_rate=g.fixed / g.runs,
                    steps_p50=counter_percentile(g.steps, 50),
                    ttm_p50_s=percentile(sorted(g.ttm), 50))


def _sub(x: float | None, y: float | None) -> Any:
    return None if x is None or y is None else x - y


def compare(
    rows: Iterable[Any],
    by: str = "mode",
    a: str = "baseline",
    b: str = "optimized",
    *,
    include_simulated: bool | None = None,
    mix_models: bool = False,
) -> Comparison:
    """Compare arm `b` against arm `a` (rows whose `by` field equals each), per model kind."""
    _check_choice(by, COMPARE_BY_CHOICES, "compare field")
    keep_sim = include_simulated is not False
    arms: dict[tuple[Kind, str], _Group] = {}
    for raw in rows:
        row = _as_dict(raw)
        simulated = _is_simulated(row)
        if simulated and not keep_sim:
            continue
        value = _label(row, by)
        if value not in (a, b):
            continue
        kind: Kind = "mixed" if mix_models else ("simulated" if simulated else "real")
        g = arms.setdefault((kind, value), _Group())
        _add(g, row)
    groups: list[ComparisonGroup] = []
    for kind in ("real", "mixed", "simulated"):
        ga, gb = arms.get((kind, a)), arms.get((kind, b))
        if not (ga and ga.runs) and not (gb and gb.runs):
            continue
        arm_a, arm_b = _arm(a, ga), _arm(b, gb)
        diff = low = high = None
        note = None
        if arm_a.runs < MIN_ARM_RUNS or arm_b.runs < MIN_ARM_RUNS:
            note = (f"too little data: need at least {MIN_ARM_RUNS} runs per arm "
                    f"({a}: {arm_a.runs}, {b}: {arm_b.runs}); no difference reported")
        else:
            diff, low, high = newcombe_diff_interval(arm_a.fixed, arm_a.runs,
                                                     arm_b.fixed, arm_b.runs)
        groups.append(ComparisonGroup(
            kind=kind, a=arm_a, b=arm_b, diff=diff, ci_low=low, ci_high=high,
            steps_p50_diff=_sub(arm_b.steps_p50, arm_a.steps_p50),
            ttm_p50_diff_s=_sub(arm_b.ttm_p50_s, arm_a.ttm_p50_s), note=note,
        ))
    note = None if groups else f"no runs with {by} = {a!r} or {b!r}"
    return Comparison(by=by, a=a, b=b, groups=groups, note=note)


def scorecard_from_log(
    path: Path | str,
    *,
    group_by: str = "skill",
    since: float | datetime | None = None,
    run_ids: Iterable[str] | None = None,
    include_simulated: bool | None = None,
    mix_models: bool = False,
    compare_by: str | None = None,
    compare_arms: tuple[str, str] = ("baseline", "optimized"),
) -> Scorecard:
    """Read a trace log (streaming) and build its scorecard, plus a comparison if asked."""
    _check_choice(group_by, GROUP_BY_CHOICES, "group-by")
    if compare_by:
        _check_choice(compare_by, COMPARE_BY_CHOICES, "compare field")
    ids = list(run_ids) if run_ids else None
    card = build_scorecard(
        iter_trace_dicts(path, run_id=ids, since=since), group_by,
        include_simulated=include_simulated, mix_models=mix_models,
    )
    if compare_by:
        card.comparison = compare(
            iter_trace_dicts(path, run_id=ids, since=since), compare_by, *compare_arms,
            include_simulated=include_simulated, mix_models=mix_models,
        )
    return card
