"""Text renderings of a scorecard or comparison: table rows, CSV, markdown, JSON (strings only;
the CLI prints them, the web UI serves them).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sre_agent.scoring.models import Comparison, GroupScore, Scorecard

TABLE_HEADERS = ["group", "kind", "runs", "fixed", "success", "pass^2", "pass^3", "false claims",
                 "unclaimed", "steps mean/p50", "TTM p50/p95 s", "tokens in/out", "cost/run $",
                 "max risk", "blk/conf/rej", "escalated", "noop mutations", "overrules"]
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
        str(g.overrules),
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
