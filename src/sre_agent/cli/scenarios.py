"""`sre-agent scenarios list|show`."""

from __future__ import annotations

import typer

from sre_agent.cli._output import emit_json
from sre_agent.incidents import catalogue, get_scenario, plan_incident

app = typer.Typer(help="The scenario catalogue: fault classes the target service can have.",
                  no_args_is_help=True)


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """List the scenarios with their skill ids and expected outcome."""

    scenarios = catalogue()
    if json_out:
        emit_json([s.model_dump() for s in scenarios])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(scenarios)} scenarios")
    for col in ("scenario", "skill", "expected", "fault"):
        table.add_column(col, overflow="fold")
    for s in scenarios:
        table.add_row(s.name, s.skill_id or "(none)", s.expected_outcome, s.fault)
    Console().print(table)


@app.command("show")
def show(name: str, seed: int = typer.Option(1, help="Seed (varies file, port, variable)."),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """What one scenario injects for one seed (the plan; nothing is started)."""

    scenario = get_scenario(name)
    incident = plan_incident(name, seed)
    if json_out:
        emit_json({"scenario": scenario.model_dump(), "incident": incident.model_dump()})
        return
    typer.echo(f"{scenario.name} (seed {seed}): {scenario.fault}")
    typer.echo(f"  skill: {scenario.skill_id or '(none)'}; expected: {scenario.expected_outcome}")
    typer.echo(f"  incident text: {incident.text}")
    typer.echo(f"  clients use 127.0.0.1:{incident.service_port}")
