"""`sre-agent scenarios list|show|validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sre_agent.cli import _options as opt
from sre_agent.cli._output import console, emit_json, note
from sre_agent.incidents import catalogue, get_scenario, plan_incident
from sre_agent.incidents.packs import catalogue_of_packs
from sre_agent.validation import ScenarioResult, parse_seeds, validate

app = typer.Typer(help="The scenario catalogue: every pack's incidents, and their validation.",
                  no_args_is_help=True)


@app.command("list")
def list_(json_out: bool = opt.JsonOut,
          scenario_path: Optional[list[Path]] = opt.ScenarioPath) -> None:  # noqa: UP045
    """List the scenarios with their pack, skill ids, expected outcome and difficulty."""
    opt.use_scenario_paths(scenario_path)
    scenarios = catalogue()
    for problem in catalogue_of_packs().problems:
        note(f"warning: skipped a broken installed pack: {problem}")
    if json_out:
        emit_json([s.model_dump() for s in scenarios])
        return
    table = Table(title=f"{len(scenarios)} scenarios")
    for col in ("scenario", "pack", "skills", "expected", "difficulty", "fault"):
        table.add_column(col, overflow="fold")
    for s in scenarios:
        level = s.difficulty
        difficulty = f"{level.get('steps')} steps, {level.get('components')} comp." + \
            (", misleading" if level.get("misleading") else "") + \
            (", compound" if level.get("compound") else "")
        table.add_row(s.name, s.pack, ", ".join(s.skill_ids) or "(none)", s.expected_outcome,
                      difficulty, s.fault)
    console().print(table)


@app.command("show")
def show(name: str, seed: int = typer.Option(1, help="Seed (varies file, port, variable)."),
         json_out: bool = opt.JsonOut,
         scenario_path: Optional[list[Path]] = opt.ScenarioPath) -> None:  # noqa: UP045
    """What one scenario injects for one seed (the plan; nothing is started)."""
    opt.use_scenario_paths(scenario_path)
    scenario = get_scenario(name)
    incident = plan_incident(name, seed)
    if json_out:
        emit_json({"scenario": scenario.model_dump(), "incident": incident.model_dump()})
        return
    typer.echo(f"{scenario.name} (pack {scenario.pack}, seed {seed}): {scenario.fault}")
    typer.echo(f"  skills: {', '.join(scenario.skill_ids) or '(none)'}; expected: "
               f"{scenario.expected_outcome}")
    typer.echo(f"  incident text: {incident.text}")
    typer.echo(f"  ports: {', '.join(f'{k} {v}' for k, v in incident.ports.items())}")
    if incident.params:
        typer.echo(f"  drawn: {', '.join(f'{k}={v}' for k, v in incident.params.items())}")


def _line(result: ScenarioResult) -> str:
    if result.passed:
        return f"ok    {result.scenario} seed {result.seed} ({result.duration_s:.1f}s)"
    return f"FAIL  {result.scenario} seed {result.seed}: {', '.join(result.failed)}"


@app.command("validate")
def validate_(
    target: Optional[str] = typer.Argument(  # noqa: UP045
        None, help="A pack or a scenario (default: every scenario of every pack)."),
    seeds: str = typer.Option("1", "--seeds", help="Seeds to validate, e.g. 1-3 or 1,4."),
    backend: str = opt.SandboxBackend,
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=8,
                                    help="Scenarios validated at once."),
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Prove scenarios honest: healthy before the fault, red after it and if nothing is done,
    green after the known fix (sustained), red if stopped, impersonated or if what must stay
    intact is destroyed, nothing left after teardown. Exit 1 if any check fails."""
    opt.use_scenario_paths(scenario_path)
    seed_list = parse_seeds(seeds)
    report = validate(target, seed_list, backend=backend, concurrency=concurrency,
                      on_result=None if json_out else lambda r: note(_line(r)))
    if json_out:
        emit_json({**report.summary(),
                   "results": [{**r.model_dump(), "passed": r.passed, "failed": r.failed}
                               for r in report.results]})
    else:
        summary = report.summary()
        note(f"{summary['runs']} validations of {summary['scenarios']} scenarios: "
             f"{'all passed' if report.passed else str(len(summary['failed'])) + ' failed'}")
        for result in report.results:
            for check in result.checks:
                if not check.passed and not check.skipped:
                    note(f"  {result.scenario}/{result.seed} {check.name}: {check.detail}")
    raise typer.Exit(0 if report.passed else 1)
