"""`sre-agent trace list|show`: recent runs, and one run's timeline (no SDK import)."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sre_agent import paths
from sre_agent.cli._output import console as safe_console
from sre_agent.cli._output import emit_json, note, terminal_text
from sre_agent.errors import UsageError
from sre_agent.traces import (
    TraceReadStats,
    TraceRow,
    iter_trace_dicts,
    read_traces,
    truncate_middle,
)
from sre_agent.triage import TriageReport, report_lines

app = typer.Typer(help="Inspect the trace log: recent runs and one run's timeline.",
                  no_args_is_help=True)

TraceLogOpt = Annotated[
    Path | None, typer.Option("--trace-log", help="Trace log (default: artifacts/runs/"
                              "trace_log.jsonl).")
]
_LIST_FIELDS = ("run_id", "started_at", "scenario", "skill_id", "model", "status", "service_up",
                "steps", "duration_s")


def _when(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts)).astimezone().isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return "?"


def _skip_note(stats: TraceReadStats) -> None:
    if stats.skipped:
        note(f"skipped {stats.skipped_malformed} malformed, {stats.skipped_torn_last_line} torn "
             f"last line, {stats.skipped_unknown_schema} unknown-schema line(s) in {stats.path}")


def _console() -> Console:
    console = safe_console(highlight=False)
    return console if console.is_terminal else safe_console(highlight=False, width=200)


@app.command("list")
def list_runs(
    trace_log: TraceLogOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many recent runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON to stdout.")] = False,
) -> None:
    """List the most recent runs in the trace log, newest first."""
    result = iter_trace_dicts(trace_log or paths.default_trace_log())
    recent: deque[dict[str, Any]] = deque(maxlen=limit)
    for row in result:
        recent.append({f: row.get(f) for f in _LIST_FIELDS})
    rows = sorted(recent, key=lambda r: r["started_at"], reverse=True)
    if as_json:
        emit_json({"runs": rows, "read": result.stats.model_dump()})
        return
    _skip_note(result.stats)
    if not rows:
        note("no runs in the trace log yet")
        return
    table = Table(title=f"{len(rows)} most recent run(s)", title_justify="left")
    for header in ("run id", "started", "scenario", "skill", "model", "status", "service up",
                   "steps", "duration s"):
        table.add_column(header, justify="right" if header in ("steps", "duration s") else "left")
    for r in rows:
        dur = r["duration_s"]
        table.add_row(
            str(r["run_id"]), _when(r["started_at"]), str(r["scenario"] or "-"),
            str(r["skill_id"] or "-"), str(r["model"] or "-"), str(r["status"] or "-"),
            "yes" if r["service_up"] is True else "no", str(r["steps"]),
            f"{dur:.1f}" if isinstance(dur, int | float) else "-",
        )
    _console().print(table)


def _claim_line(row: TraceRow) -> Text:
    claims_healthy = row.claimed_fixed or row.status == "nothing_to_fix"
    claim = "claimed fixed" if row.claimed_fixed else (
        "claimed nothing to fix" if row.status == "nothing_to_fix" else
        "escalated" if row.escalated else "made no claim")
    verdict = "verifier: service UP" if row.service_up else "verifier: service DOWN"
    text = Text(f"agent {claim}; {verdict}")
    if claims_healthy and not row.service_up:
        text.append("  DISAGREE: claimed healthy, verifier red", style="bold red")
    elif row.service_up and not claims_healthy:
        text.append("  DISAGREE: verifier green, agent did not claim it", style="bold yellow")
    return text


def _print_routing(console: Console, row: TraceRow) -> None:
    """How the skill was chosen: the text's pick and the triage evidence, when recorded."""
    if row.route_source is None:
        return
    overruled = ", overruled the text" if row.route_overruled else ""
    console.print(f"routing: source {row.route_source}{overruled}: "
                  f"{row.extra.get('route', '-')}", markup=False)
    record = row.extra.get("triage")
    if not isinstance(record, dict) or not isinstance(record.get("report"), dict):
        return
    try:
        report = TriageReport.model_validate(record["report"])
    except ValueError:
        console.print("  triage: (unreadable record)", markup=False)
        return
    for line in report_lines(report):
        console.print(f"  triage {line}", markup=False)


def _print_run(console: Console, row: TraceRow, full: bool) -> None:
    skill = f"{row.skill_id}@{row.skill_version or '-'}" if row.skill_id else "(no skill)"
    model = f"{row.model} (simulated runbook policy)" if row.simulated else row.model
    ttm = f"{row.ttm_s:.1f}s" if row.ttm_s is not None else "-"
    header = [
        f"run {row.run_id}  started {_when(row.started_at)}  ({row.duration_s:.1f}s)",
        f"scenario {row.scenario or '-'} seed {row.seed}  incident {row.incident_id or '-'}",
        f"skill {skill} via {row.strategy_source} (confidence {row.route_confidence})  "
        f"mode {row.mode}",
        f"model {model}  sandbox {row.sandbox_backend}  worker {row.worker or '-'}",
        f"status {row.status}: {terminal_text(row.reason or '-', one_line=True)}  "
        f"steps {row.steps}  ttm {ttm}  "
        f"tokens {row.tokens_in}/{row.tokens_out}  cost ${row.cost_usd:.4f}",
    ]
    for line in header:
        console.print(line, markup=False)
    if row.incident_text:
        console.print(f"incident: {truncate_middle(row.incident_text, 400)}", markup=False)
    _print_routing(console, row)
    console.print(Text("\nactions", style="bold"))
    if not row.actions:
        console.print("  (none)", markup=False)
    for a in row.actions:
        style = {"block": "red", "confirm_rejected": "red", "confirm_approved": "yellow"}.get(
            a.decision, "")
        what = a.command or a.path or ""
        head = Text(f"  #{a.step} {a.tool} [{a.risk or '?'}")
        if a.model_risk and a.model_risk != a.risk:
            head.append(f", model said {a.model_risk}")
        head.append("] ")
        head.append(a.decision, style=style)
        head.append(f"{' (mutating)' if a.mutating else ''}  exit {a.exit_code}  "
                    f"{a.duration_s:.1f}s")
        console.print(head)
        for i, line in enumerate(what.splitlines()):  # every line marked as the command's
            console.print(f"      {'>' if i else '$'} {line}", markup=False)
        if a.reasons:
            reasons = terminal_text("; ".join(a.reasons), one_line=True)
            console.print(f"      reasons: {reasons}", markup=False)
        obs = a.observation if full else truncate_middle(a.observation, 300)
        for line in obs.splitlines() or [""]:
            if line:
                console.print(f"      | {line}", markup=False)
    console.print(Text("\nverifier", style="bold"))
    if row.verdict is None:
        console.print("  (no verdict recorded)", markup=False)
    else:
        v = row.verdict
        for p in v.probes:
            rel = f"+{p.at - row.started_at:.1f}s"
            lat = f"{p.latency_ms:.0f}ms" if p.latency_ms is not None else "-"
            error = terminal_text(p.error or "", one_line=True)
            console.print(f"  probe {p.attempt} {rel} {p.url} -> {p.status or '-'} {lat} "
                          f"{'ok' if p.ok else 'FAIL'} {error}", markup=False)
        gt = {True: "ok", False: "FAILED", None: "not checked"}[v.ground_truth_ok]
        detail = terminal_text(v.ground_truth_detail or "", one_line=True)
        console.print(f"  ground truth: {gt} {detail}", markup=False)
        console.print(f"  verdict: {'healthy' if v.healthy else 'unhealthy'}: "
                      f"{terminal_text(v.reason, one_line=True)}", markup=False)
    if row.claim_text:
        claim = terminal_text(truncate_middle(row.claim_text, 600), one_line=True)
        console.print(f"\nclaim: {claim}", markup=False)
    console.print(_claim_line(row))


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="The run id (see `sre-agent trace list`).")],
    trace_log: TraceLogOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="The row(s) as JSON lines.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Show stored observations in full.")]
    = False,
) -> None:
    """Show one run's timeline: actions with risk and decision, verifier probes, claim vs
    verdict."""
    path = trace_log or paths.default_trace_log()
    result = read_traces(path, run_id=run_id)
    rows = list(result)
    if not rows:
        raise UsageError(f"no run {run_id!r} in {path}", hint="see `sre-agent trace list`")
    if as_json:
        for row in rows:
            emit_json(row.model_dump(mode="json"))
        return
    _skip_note(result.stats)
    console = _console()
    for i, row in enumerate(rows):
        if i:
            console.print("")
        _print_run(console, row, full)
