"""`sre-agent doctor`."""

from __future__ import annotations

import typer

from sre_agent.cli._output import console, emit_json
from sre_agent.doctor import run_doctor


def command(json_out: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Preflight: Python, uv, skills, sandbox backends, LLM and observability configuration."""
    from rich.table import Table

    report = run_doctor()
    if json_out:
        emit_json({"ok": report.ok, "checks": [c.model_dump() for c in report.checks]})
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "red", "info": "cyan"}
        table = Table(title="sre-agent doctor", show_lines=False)
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for c in report.checks:
            table.add_row(c.name, f"[{colour[c.status]}]{c.status}[/]", c.detail)
        console().print(table)
    raise typer.Exit(0 if report.ok else 1)
