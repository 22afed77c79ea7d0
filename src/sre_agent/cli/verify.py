"""`sre-agent verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sre_agent.cli import _options as opt
from sre_agent.cli._output import emit_json, note
from sre_agent.sandbox import attach_sandbox, create_sandbox


def command(
    sandbox_ref: str | None = typer.Argument(  # noqa: UP007 (typer needs Optional)
        None, metavar="[SANDBOX]", help="A kept sandbox: its id or directory."),
    scenario: str | None = typer.Option(  # noqa: UP007
        None, "--scenario", help="Start a fresh sandbox of this scenario and verify it."),
    seed: int = typer.Option(1, "--seed"),
    backend: str = opt.SandboxBackend,
    consecutive: int = opt.VerifyConsecutive,
    attempts: int = opt.VerifyMaxAttempts,
    interval: float = opt.VerifyInterval,
    probe_timeout: float = opt.ProbeTimeout,
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Ask the verifier gate whether a sandbox's service is healthy (exit 0 green, 1 red)."""

    opt.use_scenario_paths(scenario_path)
    opt.require_one(sandbox=sandbox_ref, scenario=scenario)
    policy = opt.verify_policy(consecutive, attempts, interval, probe_timeout)
    if sandbox_ref:
        sb = attach_sandbox(sandbox_ref)
        verdict = sb.verify(policy)
    else:
        sb = create_sandbox(scenario or "", seed, backend)
        if not json_out:
            note(f"starting a {sb.backend} sandbox for {scenario} (seed {seed})")
        with sb:
            verdict = sb.verify(policy)
    if json_out:
        emit_json({"sandbox": sb.id, "scenario": sb.incident.scenario, "seed": sb.incident.seed,
                   **verdict.model_dump()})
    else:
        for p in verdict.probes:
            mark = "ok " if p.ok else "ERR"
            typer.echo(f"  probe {p.attempt}: {mark} {p.status or '-'} {p.latency_ms} ms "
                       f"{p.error or ''}".rstrip())
        typer.echo(f"ground truth: {verdict.ground_truth_detail}")
        typer.echo(("GREEN: " if verdict.healthy else "RED: ") + verdict.reason)
    raise typer.Exit(0 if verdict.healthy else 1)
