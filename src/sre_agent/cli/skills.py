"""`sre-agent skills`: list and show the skill catalogue, route incidents to a skill.

rich is imported inside the `list`/`show` output paths only: `skills route` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sre_agent.cli._output import console as safe_console
from sre_agent.cli._output import emit_json
from sre_agent.errors import UsageError
from sre_agent.skills.catalogue import Skill, SkillCatalog, load_catalog
from sre_agent.skills.router import RouteResult, route
from sre_agent.triage.plan import vet

app = typer.Typer(
    help="The skill catalogue (.agents/skills) and the incident router.",
    no_args_is_help=True,
    add_completion=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _summary(skill: Skill) -> dict[str, Any]:
    return {
        "id": skill.id,
        "version": skill.version,
        "description": skill.description,
        "triggers": skill.triggers,
        "max_risk": skill.contract.max_risk,
        "verify": skill.contract.verify,
        "steps": len(skill.contract.runbook),
        "triage_checks": len(skill.contract.triage),
        "path": str(skill.path),
    }


def _problems(catalog: SkillCatalog) -> list[dict[str, str]]:
    return [{"file": str(p.path), "reason": p.reason} for p in catalog.problems]


@app.command("list")
def list_skills(json_out: JsonOpt = False) -> None:
    """List the loaded skills and any skill files that were rejected (with the reason)."""
    catalog = load_catalog()
    if json_out:
        emit_json(
            {"skills": [_summary(s) for s in catalog.skills], "problems": _problems(catalog)}
        )
        return
    from rich.table import Table
    from rich.text import Text

    console = safe_console()
    table = Table(title=f"{len(catalog.skills)} skills", show_lines=True)
    table.add_column("skill / description", ratio=3)
    for column in ("version", "risk", "steps"):
        table.add_column(column, no_wrap=True)
    table.add_column("triggers", ratio=2)
    for skill in catalog.skills:
        cell = Text(skill.id, style="bold")
        cell.append("\n" + _first_sentence(skill.description), style="")
        table.add_row(
            cell,
            skill.version,
            skill.contract.max_risk,
            str(len(skill.contract.runbook)),
            Text(", ".join(skill.triggers)),
        )
    console.print(table)
    for problem in catalog.problems:
        console.print(Text(f"invalid {problem.path}: {problem.reason}", style="red"))


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


@app.command("show")
def show(
    skill_id: Annotated[str, typer.Argument(metavar="ID", help="Skill id, e.g. disk-full.")],
    json_out: JsonOpt = False,
) -> None:
    """Show one skill: metadata, contract, runbook and body."""
    skill = load_catalog().get(skill_id)
    if json_out:
        emit_json(skill.model_dump(mode="json"))
        return
    from rich.table import Table
    from rich.text import Text

    console = safe_console(highlight=False)
    console.print(Text(f"{skill.id}  version {skill.version}  ({skill.path})", style="bold"))
    for line in (
        skill.description,
        f"triggers: {', '.join(skill.triggers)}",
        f"max risk: {skill.contract.max_risk}",
        f"verify:   {skill.contract.verify}",
    ):
        console.print(Text(line))
    table = Table(title="runbook")
    for column in ("#", "step", "run", "expect / capture", "mutates"):
        table.add_column(column, overflow="fold")
    for i, step in enumerate(skill.contract.runbook, start=1):
        checks = [f"expect {step.expect}"] if step.expect else []
        checks += [f"{name} <- {rx}" for name, rx in step.capture.items()]
        table.add_row(
            str(i), Text(step.name), Text(step.run), Text("\n".join(checks)), "yes" * step.mutates
        )
    console.print(table)
    if skill.contract.triage:
        checks = Table(title="triage (read-only checks)")
        for column in ("check", "run", "supports / rules out", "safety"):
            checks.add_column(column, overflow="fold")
        for check in skill.contract.triage:
            patterns = [f"+ {check.supports}"] if check.supports else []
            patterns += [f"- {check.rules_out}"] if check.rules_out else []
            checks.add_row(Text(check.name), Text(check.run), Text("\n".join(patterns)),
                           Text(vet(check.run) or "LOW (runs)"))
        console.print(checks)
    console.print(skill.body, markup=False)


def _route_json(result: RouteResult) -> dict[str, Any]:
    return {
        "skill": result.skill,
        "confidence": result.confidence,
        "candidates": [c.model_dump(mode="json") for c in result.candidates],
        "abstained_reason": result.abstained_reason,
        "example_votes": result.example_votes,
        "classifier": result.classifier,
        "decided_by": result.decided_by,
    }


@app.command("route")
def route_cmd(
    text: Annotated[str | None, typer.Argument(help="Incident text (or use --file).")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="One incident per line ('-' for stdin)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Route incident text to a skill, or abstain when none fits."""
    if (text is None) == (file is None):
        raise UsageError("give either an incident TEXT or --file F, not both or neither")
    catalog = load_catalog()
    if not catalog.skills:
        raise UsageError("no valid skills to route to", hint="run `sre-agent skills list`")
    if file is not None:
        for line in _read_lines(file):  # JSONL out, one object per input line, same order
            emit_json(_route_json(route(line, catalog)))
        return
    if text is None or not text.strip():
        raise UsageError("incident text is empty")
    result = route(text, catalog)
    if json_out:
        emit_json(_route_json(result))
        return
    # Plain lines, no rich: importing rich.console costs more than routing itself.
    if result.skill:
        by = "  by the learned classifier" if result.decided_by == "classifier" else ""
        lines = [f"skill: {result.skill}  (confidence {result.confidence:.2f}){by}"]
    else:
        lines = [f"no skill: {result.abstained_reason}"]
    if result.classifier:
        lines.append("  classifier: " + ", ".join(f"{k} {v:.0%}"
                                                  for k, v in result.classifier.items()))
    lines += [f"  {c.skill:<22} score {c.score:6.2f}  evidence: {', '.join(c.evidence)}"
              for c in result.candidates]
    sys.stdout.write("\n".join(lines) + "\n")


def _read_lines(file: Path) -> list[str]:
    if str(file) == "-":
        raw = sys.stdin.read()
    else:
        try:
            raw = file.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise UsageError(f"incident file not found: {file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read incident file {file}: {exc}") from exc
    lines = raw.splitlines()  # a blank line keeps its place and gets an abstention
    if not any(line.strip() for line in lines):
        raise UsageError(f"incident file {file} has no incidents (one per line)")
    return lines
