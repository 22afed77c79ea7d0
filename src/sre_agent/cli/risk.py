"""`sre-agent risk`: judge shell commands the way the agent's safety layer does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sre_agent.cli._output import emit_json, terminal_text
from sre_agent.errors import UsageError
from sre_agent.safety import SecurityPolicy, assess_command


def _read_commands(path: Path) -> list[str]:
    if not path.is_file():
        raise UsageError(f"no such file: {path}", hint="--file takes one command per line")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def command(
    command_text: Annotated[
        str | None, typer.Argument(metavar="COMMAND", help="Shell command to judge.")
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", help="Sandbox workspace (the command's cwd). Without it, "
                     "relative paths count as inside the workspace."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per command.")] = False,
    max_security_risk: Annotated[
        str, typer.Option("--max-security-risk", help="Highest risk allowed to run "
                          "(LOW, MEDIUM, HIGH).")
    ] = "MEDIUM",
    require_confirmation_for_risk: Annotated[
        str | None, typer.Option("--require-confirmation-for-risk",
                                 help="Actions at or above this risk need confirmation.")
    ] = None,
    auto_confirm: Annotated[
        bool, typer.Option("--auto-confirm", help="Approve confirmations when non-interactive.")
    ] = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="Judge every line of a file ('#' comments).")
    ] = None,
) -> None:
    """Judge shell commands: risk (LOW/MEDIUM/HIGH), policy decision and reasons."""

    policy = SecurityPolicy(
        max_risk=max_security_risk,
        confirm_risk=require_confirmation_for_risk,
        auto_confirm=auto_confirm,
    )
    if file is not None:
        commands = _read_commands(file)
        if command_text is not None:
            commands.insert(0, command_text)
    elif command_text is not None:
        commands = [command_text]
    else:
        raise UsageError("no command to judge", hint="pass COMMAND or --file FILE")
    for text in commands:
        verdict = assess_command(text, workspace)
        decision = policy.decide(verdict)
        if json_out:
            emit_json({"command": text, "risk": verdict.risk.value, "decision": decision,
                       "reasons": verdict.reasons})
            continue
        shown = decision
        if decision == "confirm" and auto_confirm:
            shown = "confirm(auto)"
        typer.echo(f"{verdict.risk.value:<6}  {shown:<7}  {terminal_text(text, one_line=True)}")
        for reason in verdict.reasons:
            typer.echo(f"  - {terminal_text(reason, one_line=True)}")
