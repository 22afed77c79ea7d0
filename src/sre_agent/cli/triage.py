"""`sre-agent triage`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from sre_agent.cli import _options as opt
from sre_agent.cli._output import emit_json, note
from sre_agent.sandbox import attach_sandbox, create_sandbox
from sre_agent.triage import report_lines, triage_fresh, triage_sandbox


def command(
    sandbox_ref: str | None = typer.Argument(  # noqa: UP007 (typer needs Optional)
        None, metavar="[SANDBOX]", help="A kept sandbox: its id or directory."),
    scenario: str | None = typer.Option(  # noqa: UP007
        None, "--scenario", help="Start a fresh sandbox of this scenario (fault live) and "
        "triage it as soon as its fault is live (programs get a few seconds to settle; one "
        "still in its start-up wait shows STARTING)."),
    seed: int = typer.Option(1, "--seed"),
    text: str | None = typer.Option(  # noqa: UP007
        None, "--text", help="Incident text to combine with the evidence (default: the "
        "scenario's own alert text; '' for none)."),
    backend: str = opt.SandboxBackend,
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Run every read-only triage check of the system's runbooks inside a sandbox and rank
    the runbooks by the evidence (exit 0; "nothing fits" and a green service are answers)."""

    opt.use_scenario_paths(scenario_path)
    opt.require_one(sandbox=sandbox_ref, scenario=scenario)
    t0 = time.perf_counter()
    if sandbox_ref:
        sb = attach_sandbox(sandbox_ref)
        found = triage_sandbox(sb, sb.incident.text if text is None else text)
    else:
        sb = create_sandbox(scenario or "", seed, backend)
        if not json_out:
            note(f"starting a {sb.backend} sandbox for {scenario} (seed {seed})")
        try:
            found = triage_fresh(sb, sb.incident.text if text is None else text)
        finally:
            sb.teardown()
    took = time.perf_counter() - t0
    if json_out:
        emit_json({"sandbox": sb.id, "scenario": sb.incident.scenario, "seed": sb.incident.seed,
                   "duration_s": round(took, 3), "start_s": found.start_s,
                   "triage_s": found.triage_s, **found.trace_record()})
        return
    for line in report_lines(found.report, found.decision):
        typer.echo(line)
    if found.start_s is not None:
        note(f"the sandbox started with its fault live in {found.start_s:.1f}s; "
             f"the triage took {found.triage_s:.1f}s")
