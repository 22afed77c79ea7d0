"""`sre-agent sandbox` (internal): kept sandboxes driven by an orchestrator on a worker.

The fan-out sends these through a worker's agent-server, as harness commands (never the
agent's): `create` starts a kept sandbox and prints where it is, `verify` runs the verifier
gate on it, `destroy` tears it down. Also runnable as `python -m sre_agent.cli.sandbox`, so a
worker does not depend on how the root CLI is wired.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from sre_agent.cli import _options as opt
from sre_agent.cli._output import emit_json
from sre_agent.cli.verify import command as verify_command
from sre_agent.errors import SreAgentError
from sre_agent.fleet import destroy_sandbox, forget_sandbox, record_sandbox
from sre_agent.sandbox import attach_sandbox, create_sandbox, prune
from sre_agent.sandbox.guard import universal_wrapper
from sre_agent.triage import report_lines, triage_sandbox

app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True,
                  help="Kept sandboxes for remote workers (internal).")


@app.command("create")
def create(
    scenario: str = typer.Option(..., "--scenario"),
    seed: int = typer.Option(1, "--seed"),
    backend: str = typer.Option("auto", "--backend", help="Sandbox backend (auto, ns, ...)."),
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Start a kept sandbox with the scenario's fault live; print its id and workdir."""

    opt.use_scenario_paths(scenario_path)
    sb = create_sandbox(scenario, seed, backend, keep=True)
    record_sandbox(sb.id, sb.root)  # before start: a crash mid-start is still reaped
    try:
        sb.start()
    except BaseException:

        forget_sandbox(sb.id)
        raise
    info = {**sb.describe(), "root": str(sb.root), "instance_id": sb.instance_id,
            "incident_text": sb.incident.text, "ready_at": sb.timings.ready_at,
            "expected_outcome": sb.incident.expected_outcome, "params": sb.incident.params,
            "choice_reason": getattr(sb, "choice_reason", ""),
            "start_s": round(sb.timings.ready_at - sb.timings.created_at, 4),
            "shell_guard": str(universal_wrapper())}
    if json_out:
        emit_json(info)
    else:
        typer.echo(f"{sb.id} {sb.workdir} port {sb.incident.service_port}")


@app.command("verify")
def verify_cmd(
    sandbox_ref: str = typer.Argument(..., metavar="SANDBOX"),
    consecutive: int = opt.VerifyConsecutive,
    attempts: int = opt.VerifyMaxAttempts,
    interval: float = opt.VerifyInterval,
    probe_timeout: float = opt.ProbeTimeout,
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Run the verifier gate on a kept sandbox (exit 0 green, 1 red): `sre-agent verify`."""

    verify_command(sandbox_ref=sandbox_ref, scenario=None, seed=1, backend="auto",
                   consecutive=consecutive, attempts=attempts, interval=interval,
                   probe_timeout=probe_timeout, json_out=json_out,
                   scenario_path=scenario_path or [])


@app.command("triage")
def triage_cmd(sandbox_ref: str = typer.Argument(..., metavar="SANDBOX"),
               text: str = typer.Option("", "--text", help="Incident text to combine."),
               json_out: bool = opt.JsonOut,
               scenario_path: Optional[list[Path]] = opt.ScenarioPath) -> None:  # noqa: UP045
    """Triage a kept sandbox; with --json, everything a remote run needs (plan included)."""
    opt.use_scenario_paths(scenario_path or [])
    found = triage_sandbox(attach_sandbox(sandbox_ref), text)
    if json_out:
        emit_json(found.to_data())
    else:
        for line in report_lines(found.report, found.decision):
            typer.echo(line)


@app.command("destroy")
def destroy(sandbox_ref: str = typer.Argument(..., metavar="SANDBOX"),
            json_out: bool = opt.JsonOut) -> None:
    """Stop every process of a kept sandbox and remove its directory."""

    result = destroy_sandbox(sandbox_ref)
    if json_out:
        emit_json(result)
    else:
        typer.echo(f"destroyed {result['sandbox']}")


@app.command("prune")
def prune_cmd(json_out: bool = opt.JsonOut) -> None:
    """Reap sandboxes whose owner died (a killed run, fan-out or worker): their processes,
    cgroups and directories. Sandboxes kept for a person (--keep-sandbox) stay."""
    report = prune()
    if json_out:
        emit_json(report.model_dump())
        return
    for name in report.reaped:
        typer.echo(f"reaped {name}")
    for error in report.errors:
        typer.echo(f"could not reap {error}", err=True)
    typer.echo(f"{len(report.reaped)} reaped, {len(report.kept)} kept (owner alive or kept for "
               "a person)")


def _standalone(argv: list[str]) -> int:

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="sre-agent sandbox", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except SreAgentError as exc:
        sys.stderr.write(f"error: {exc.one_line()}\n")
        return exc.exit_code
    except Exception as exc:  # click usage errors and the like: one line, exit 2
        if hasattr(exc, "format_message"):
            sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
            return 2
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(_standalone(sys.argv[1:]))
