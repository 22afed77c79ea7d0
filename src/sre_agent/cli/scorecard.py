"""`sre-agent scorecard`: per-group numbers from the trace log (no SDK import: starts fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from sre_agent import paths
from sre_agent.cli._output import console as safe_console
from sre_agent.cli._output import emit_json, note, terminal_text
from sre_agent.errors import UsageError
from sre_agent.scoring import (
    COMPARISON_HEADERS,
    TABLE_HEADERS,
    Scorecard,
    comparison_rows,
    read_note,
    scorecard_from_log,
    table_rows,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)
from sre_agent.traces import parse_since

Format = Literal["table", "json", "csv", "markdown", "html"]


def _console() -> Console:
    console = safe_console(highlight=False)
    if not console.is_terminal:
        console = safe_console(highlight=False, width=260)  # piped: do not squeeze 18 columns
    return console


def _print_table(card: Scorecard) -> None:
    console = _console()
    if card.groups:
        table = Table(title=f"Scorecard by {card.group_by}", title_justify="left")
        for i, header in enumerate(TABLE_HEADERS):
            table.add_column(header, justify="left" if i < 2 else "right")
        for row in table_rows(card):
            table.add_row(*row)
        console.print(table)
    else:
        console.print("No runs match.", markup=False)
    comp = card.comparison
    if comp is not None:
        if comp.groups:
            table = Table(title=f"Comparison by {comp.by}: {comp.b} vs {comp.a} ({comp.method})",
                          title_justify="left")
            for header in COMPARISON_HEADERS:
                table.add_column(header)
            for row in comparison_rows(comp):
                table.add_row(*row)
            console.print(table)
        if comp.note:
            console.print(comp.note, markup=False)


def command(
    trace_log: Annotated[
        Path | None, typer.Option("--trace-log", help="Trace log (default: artifacts/runs/"
                                  "trace_log.jsonl).")
    ] = None,
    group_by: Annotated[
        str, typer.Option("--group-by", help="skill | scenario | model | skill_version | "
                                 "mode | route_source.")
    ] = "skill",
    since: Annotated[
        str | None, typer.Option("--since", help="Only runs started since: 24h, 7d, 30m or an "
                                 "ISO date/time.")
    ] = None,
    run_id: Annotated[
        list[str] | None, typer.Option("--run-id", help="Only this run (repeatable).")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table | json | csv | markdown | html.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (html default: "
                                  "artifacts/reports/scorecard.html).")
    ] = None,
    compare: Annotated[
        str | None, typer.Option("--compare", help="Also compare two arms of this field, "
                                 "e.g. `mode` (see --arms). With csv, the comparison is output.")
    ] = None,
    arms: Annotated[
        str, typer.Option("--arms", help="The two arms for --compare, as A,B (B is compared "
                          "against A).")
    ] = "baseline,optimized",
    include_simulated: Annotated[
        bool | None, typer.Option("--include-simulated/--exclude-simulated",
                                  help="Keep or drop offline runbook-policy runs (kept, in "
                                  "their own groups, by default).")
    ] = None,
    mix_models: Annotated[
        bool, typer.Option("--mix-models", help="Group simulated and real-model runs together.")
    ] = False,
) -> None:
    """Score runs from the trace log: verified success, pass^k, claim/verdict disagreements,
    steps, time to mitigate, cost and safety, per skill, scenario, model or mode."""
    arm_list = [a.strip() for a in arms.split(",")]
    if len(arm_list) != 2 or not all(arm_list):
        raise UsageError(f"--arms takes two values A,B, got {arms!r}")
    if output is not None and fmt == "table":
        raise UsageError("--output needs --format json, csv, markdown or html")
    card = scorecard_from_log(
        trace_log or paths.default_trace_log(),
        group_by=group_by,
        since=parse_since(since) if since else None,
        run_ids=run_id or None,
        include_simulated=include_simulated,
        mix_models=mix_models,
        compare_by=compare,
        compare_arms=(arm_list[0], arm_list[1]),
    )
    if fmt == "table":
        _print_table(card)
        note(read_note(card))
        return
    if fmt == "json" and output is None:
        emit_json(card.model_dump(mode="json"))
        return
    if fmt == "json":
        text = to_json(card)
    elif fmt == "csv":
        text = to_csv(card.comparison if card.comparison is not None else card)
    elif fmt == "markdown":
        text = to_markdown(card)
    else:
        text = to_html(card)
        output = output or paths.artifacts_dir() / "reports" / "scorecard.html"
    if output is None:
        typer.echo(terminal_text(text), nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        note(f"wrote {fmt} report to {output}")
    if fmt != "json":
        note(read_note(card))
