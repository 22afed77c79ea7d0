"""Scorecards: per-group numbers from trace rows, and A/B comparisons with an honest interval.

Definitions (one place, so every renderer agrees):

- A run *passes* when the verifier saw the service up (`service_up`); the agent's claim never
  counts. `success_rate = fixed / runs`.
- pass^k (tau-bench): runs are grouped into tasks by (scenario, seed, skill_id, model, mode);
  a task with n >= 2 trials and c passes contributes C(c, k) / C(n, k); pass^k is the mean over
  those tasks, for k = 1 .. min(n) (at most `PASS_K_MAX`). Single-trial tasks count in
  `success_rate`, not in pass^k.
  pass^2 and pass^3 are always reported, null when the data cannot support them.
- The agent *claims healthy* when `claimed_fixed` or its status is `nothing_to_fix`.
  `false_claims`: claimed healthy, verifier red. `unclaimed_fixes`: verifier green, no claim.
- Percentiles (steps p50, time-to-mitigate p50/p95) use the nearest-rank method: the value at
  rank ceil(p * n) of the sorted sample, always an observed value. TTM uses verified runs only.
- Means (tokens, cost, duration) are per run ("per incident").
- `healthy_noop_mutations`: mutating actions taken in `healthy_noop` runs (all unnecessary).
- Offline runbook-policy runs (`simulated`, or model `runbook`) and real-model runs are kept in
  separate groups unless `mix_models=True`; each group says which kind it is.
- `compare`: difference of success rates b - a with a 95% Newcombe hybrid score interval
  (method 10, built from Wilson intervals); deterministic, no resampling. Fewer than
  `MIN_ARM_RUNS` runs in an arm gives a note instead of a difference.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from sre_agent.errors import UsageError
from sre_agent.traces import RISK_ORDER, TraceReadResult, TraceReadStats, iter_trace_dicts

GroupBy = Literal["skill", "scenario", "model", "skill_version", "mode"]
GROUP_BY_CHOICES: tuple[str, ...] = ("skill", "scenario", "model", "skill_version", "mode")
COMPARE_BY_CHOICES: tuple[str, ...] = GROUP_BY_CHOICES + ("strategy_source",)
Kind = Literal["real", "simulated", "mixed"]
MIN_ARM_RUNS = 5
PASS_K_MAX = 8  # pass^k is reported up to k = 8 even when tasks have more trials
Z_95 = 1.959963984540054
_RISK_NAMES = {v: k for k, v in RISK_ORDER.items()}
_FIELD = {"skill": "skill_id", "scenario": "scenario", "model": "model", "mode": "mode",
          "strategy_source": "strategy_source"}


class GroupScore(BaseModel):
    group: str
    kind: Kind
    models: list[str]
    runs: int
    fixed: int
    success_rate: float
    pass_hat_k: dict[int, float | None]
    pass_k_tasks: int
    claimed_healthy: int
    false_claims: int
    unclaimed_fixes: int
    escalations: int
    statuses: dict[str, int]
    steps_mean: float
    steps_p50: int | None
    ttm_count: int
    ttm_min_s: float | None
    ttm_p25_s: float | None
    ttm_p50_s: float | None
    ttm_p75_s: float | None
    ttm_p95_s: float | None
    ttm_max_s: float | None
    tokens_in_mean: float
    tokens_out_mean: float
    cost_usd_mean: float
    cost_usd_total: float
    duration_s_mean: float
    highest_risk: str | None
    blocked_actions: int
    confirmed_actions: int
    rejected_actions: int
    healthy_noop_runs: int
    healthy_noop_mutations: int


class ArmStats(BaseModel):
    label: str
    runs: int
    fixed: int
    success_rate: float | None
    steps_p50: int | None
    ttm_p50_s: float | None


class ComparisonGroup(BaseModel):
    kind: Kind
    a: ArmStats
    b: ArmStats
    diff: float | None  # success rate b - a
    ci_low: float | None
    ci_high: float | None
    steps_p50_diff: int | None
    ttm_p50_diff_s: float | None
    note: str | None = None


class Comparison(BaseModel):
    by: str
    a: str
    b: str
    method: str = "Newcombe hybrid score interval (Wilson), 95%"
    min_runs_per_arm: int = MIN_ARM_RUNS
    groups: list[ComparisonGroup]
    note: str | None = None


class Scorecard(BaseModel):
    group_by: str
    mixed_models: bool
    include_simulated: bool
    percentile_method: str = "nearest-rank"
    total_runs: int
    groups: list[GroupScore]
    skipped_invalid: int = 0  # rows the reader accepted but whose fields had the wrong types
    read: TraceReadStats | None = None
    comparison: Comparison | None = None


def percentile(sorted_values: list[Any], p: float) -> Any:
    """Nearest-rank percentile of an ascending list (`p` in 0..100); None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _counter_percentile(counts: Counter[int], p: float) -> int | None:
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # unreachable


def _comb_ratio(c: int, n: int, k: int) -> float:
    """C(c, k) / C(n, k) as a running product: no big integers for large n."""
    ratio = 1.0
    for i in range(k):
        if c - i <= 0:
            return 0.0
        ratio *= (c - i) / (n - i)
    return ratio


def pass_hat_k(tasks: Iterable[tuple[int, int]]) -> dict[int, float | None]:
    """pass^k over tasks given as (n trials, c passes); only tasks with n >= 2 count.

    Keys run 1 .. max(3, min(min n, PASS_K_MAX)); values beyond min n are None.
    """
    usable = [(n, c) for n, c in tasks if n >= 2]
    top = min(min((n for n, _ in usable), default=0), PASS_K_MAX)
    out: dict[int, float | None] = {}
    for k in range(1, max(3, top) + 1):
        if k > top:
            out[k] = None
        else:
            out[k] = sum(_comb_ratio(c, n, k) for n, c in usable) / len(usable)
    return out


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff_interval(s_a: int, n_a: int, s_b: int, n_b: int) -> tuple[float, float, float]:
    """(p_b - p_a, low, high): Newcombe's hybrid score interval for a difference of proportions."""
    p_a, p_b = s_a / n_a, s_b / n_b
    l_a, u_a = wilson_interval(s_a, n_a)
    l_b, u_b = wilson_interval(s_b, n_b)
    d = p_b - p_a
    low = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    high = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return (d, max(-1.0, low), min(1.0, high))


def _is_simulated(row: Mapping[str, Any]) -> bool:
    return row.get("simulated") is True or row.get("model") == "runbook"


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
                 "noop_mutations", "tasks", "models")

    def __init__(self) -> None:
        self.runs = self.fixed = self.claimed = self.false_claims = self.unclaimed = 0
        self.escalations = self.steps_sum = self.tokens_in = self.tokens_out = 0
        self.blocked = self.confirmed = self.rejected = self.noop_runs = self.noop_mutations = 0
        self.risk = 0
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
            steps_mean=self.steps_sum / n, steps_p50=_counter_percentile(self.steps, 50),
            ttm_count=len(ttm), ttm_min_s=ttm[0] if ttm else None,
            ttm_p25_s=percentile(ttm, 25), ttm_p50_s=percentile(ttm, 50),
            ttm_p75_s=percentile(ttm, 75), ttm_p95_s=percentile(ttm, 95),
            ttm_max_s=ttm[-1] if ttm else None,
            tokens_in_mean=self.tokens_in / n, tokens_out_mean=self.tokens_out / n,
            cost_usd_mean=self.cost / n, cost_usd_total=self.cost,
            duration_s_mean=self.duration / n,
            highest_risk=_RISK_NAMES.get(self.risk), blocked_actions=self.blocked,
            confirmed_actions=self.confirmed, rejected_actions=self.rejected,
            healthy_noop_runs=self.noop_runs, healthy_noop_mutations=self.noop_mutations,
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
    if scenario == "healthy_noop":
        actions = get("actions") or []
        if type(actions) is not list:
            return False
        noop_mutations = sum(1 for a in actions if type(a) is dict and a.get("mutating") is True)
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
    risk = RISK_ORDER.get(get("highest_risk"), 0)  # type: ignore[arg-type]
    if risk > g.risk:
        g.risk = risk
    g.blocked += blocked
    g.confirmed += confirmed
    g.rejected += rejected
    if scenario == "healthy_noop":
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
                    steps_p50=_counter_percentile(g.steps, 50),
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


# ---- text renderers (strings only; the CLI prints them) -------------------------------------

TABLE_HEADERS = ["group", "kind", "runs", "fixed", "success", "pass^2", "pass^3", "false claims",
                 "unclaimed", "steps mean/p50", "TTM p50/p95 s", "tokens in/out", "cost/run $",
                 "max risk", "blk/conf/rej", "escalated", "noop mutations"]
COMPARISON_HEADERS = ["kind", "arm a", "arm b", "success a", "success b", "diff b-a",
                      "95% CI", "steps p50 diff", "TTM p50 diff s", "note"]


def fmt(value: Any, digits: int = 1) -> str:
    """A number for humans: '-' for None, floats rounded."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def table_rows(card: Scorecard) -> list[list[str]]:
    """One row of strings per group, matching `TABLE_HEADERS` (markdown and the CLI table)."""
    return [[
        g.group, g.kind, str(g.runs), str(g.fixed), pct(g.success_rate),
        pct(g.pass_hat_k.get(2)), pct(g.pass_hat_k.get(3)), str(g.false_claims),
        str(g.unclaimed_fixes), f"{fmt(g.steps_mean)}/{fmt(g.steps_p50)}",
        f"{fmt(g.ttm_p50_s)}/{fmt(g.ttm_p95_s)}",
        f"{fmt(g.tokens_in_mean, 0)}/{fmt(g.tokens_out_mean, 0)}", fmt(g.cost_usd_mean, 4),
        g.highest_risk or "-", f"{g.blocked_actions}/{g.confirmed_actions}/{g.rejected_actions}",
        str(g.escalations), f"{g.healthy_noop_mutations} in {g.healthy_noop_runs} runs",
    ] for g in card.groups]


def comparison_rows(comp: Comparison) -> list[list[str]]:
    """One row of strings per model kind, matching `COMPARISON_HEADERS`."""
    out = []
    for c in comp.groups:
        ci = "-" if c.ci_low is None else f"[{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}] pp"
        diff = "-" if c.diff is None else f"{100 * c.diff:+.1f} pp"
        out.append([
            c.kind, f"{c.a.label} (n={c.a.runs})", f"{c.b.label} (n={c.b.runs})",
            pct(c.a.success_rate), pct(c.b.success_rate), diff, ci,
            fmt(c.steps_p50_diff), fmt(c.ttm_p50_diff_s), c.note or "",
        ])
    return out


def read_note(card: Scorecard) -> str:
    """One line: how many rows were read and how many lines were skipped, and why."""
    r = card.read
    base = f"{card.total_runs} runs scored"
    if r is None:
        return base + (f"; {card.skipped_invalid} rows with invalid fields skipped"
                       if card.skipped_invalid else "")
    return (f"{base} ({r.rows_read} rows read from {r.path}); skipped: "
            f"{r.skipped_malformed} malformed, {r.skipped_torn_last_line} torn last line, "
            f"{r.skipped_unknown_schema} unknown schema, {card.skipped_invalid} invalid fields")


def to_json(obj: Scorecard | Comparison) -> str:
    return obj.model_dump_json(indent=2)


_CSV_SKIP = {"pass_hat_k", "statuses", "models"}


def to_csv(obj: Scorecard | Comparison) -> str:
    """A scorecard as one CSV row per group; a comparison as one row per model kind."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if isinstance(obj, Comparison):
        w.writerow(["by", "kind", "a", "runs_a", "fixed_a", "success_a", "b", "runs_b", "fixed_b",
                    "success_b", "diff", "ci_low", "ci_high", "steps_p50_diff",
                    "ttm_p50_diff_s", "note"])
        for c in obj.groups:
            w.writerow([obj.by, c.kind, c.a.label, c.a.runs, c.a.fixed, c.a.success_rate,
                        c.b.label, c.b.runs, c.b.fixed, c.b.success_rate, c.diff, c.ci_low,
                        c.ci_high, c.steps_p50_diff, c.ttm_p50_diff_s, c.note or ""])
        return buf.getvalue()
    fields = [f for f in GroupScore.model_fields if f not in _CSV_SKIP]
    w.writerow([obj.group_by if f == "group" else f for f in fields]
               + ["models", "pass_1", "pass_2", "pass_3", "statuses"])
    for g in obj.groups:
        d = g.model_dump()
        w.writerow([("" if d[f] is None else d[f]) for f in fields] + [
            ";".join(g.models),
            *("" if g.pass_hat_k.get(k) is None else g.pass_hat_k[k] for k in (1, 2, 3)),
            ";".join(f"{k}={v}" for k, v in g.statuses.items()),
        ])
    return buf.getvalue()


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(obj: Scorecard | Comparison) -> str:
    """A markdown report: the table, then how the numbers were computed and what was skipped."""
    if isinstance(obj, Comparison):
        return _comparison_markdown(obj)
    parts = [f"## Scorecard by {obj.group_by}", ""]
    if obj.groups:
        parts.append(_md_table(TABLE_HEADERS, table_rows(obj)))
    else:
        parts.append("_No runs match._")
    parts += ["", f"- {read_note(obj)}",
              "- success = verifier saw the service up; pass^k over (scenario, seed, skill, "
              "model, mode) tasks with >= 2 trials; percentiles are nearest-rank; TTM over "
              "verified runs."]
    if obj.comparison is not None:
        parts += ["", _comparison_markdown(obj.comparison)]
    return "\n".join(parts) + "\n"


def _comparison_markdown(comp: Comparison) -> str:
    parts = [f"## Comparison by {comp.by}: {comp.b} vs {comp.a}", ""]
    if comp.groups:
        parts.append(_md_table(COMPARISON_HEADERS, comparison_rows(comp)))
    parts += ["", f"- {comp.note}" if comp.note else f"- interval: {comp.method}"]
    return "\n".join(parts)


def to_html(card: Scorecard) -> str:
    """A self-contained HTML report with inline SVG charts (see `sre_agent.scoring.html`)."""
    from sre_agent.scoring.html import render_html

    return render_html(card)
