"""`sre-agent optimize`: improve a skill from real runs, promoted only through the gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from sre_agent.cli import _options as opt
from sre_agent.cli._output import emit_json, note, terminal_text
from sre_agent.errors import UsageError
from sre_agent.optimizer import OptimizeRequest, optimize


def _seeds(value: str, flag: str) -> list[int]:
    try:
        seeds = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a comma-separated list of integers",
                         "e.g. 1,2") from None
    if not seeds:
        raise UsageError(f"{flag} is empty")
    return seeds


def _progress(event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "run":
        mark = "ok " if event["success"] else "RED"
        note(f"  run {mark} {event['origin'][:40]:40} {event['scenario']}#{event['seed']:<4} "
             f"{event['steps']:>2} steps {event['time_s']:5.1f} s ({event['status']})")
    elif kind == "candidate":
        note(f"{event['phase']:>10} {event['decision']:<9} {event['origin'][:40]:40} "
             f"{event['version']}: {str(event['reason'])[:100]}")


def command(
    optimizer: str = typer.Option(..., "--optimizer", help="gepa, iterative or manual."),
    skill: str = typer.Option(..., "--skill", help="Skill id to optimize (e.g. stale-lockfile)."),
    budget: int = typer.Option(8, "--budget", min=0,
                               help="Candidate evaluations on the training seeds."),
    train_seeds: str = typer.Option("1,2", "--train-seeds", help="Seeds to search on."),
    val_seeds: str = typer.Option("3,4", "--val-seeds", help="Held-out seeds to choose on."),
    regression_seeds: str = typer.Option("101,102,103", "--regression-seeds",
                                         help="Seeds of the regression gate (never seen)."),
    simulate: bool = typer.Option(False, "--simulate",
                                  help="Judge candidates with the offline runbook policy."),
    model: Optional[str] = typer.Option(None, "--model",  # noqa: UP045 (typer needs Optional)
                                        help="litellm model for the candidate runs."),
    reflection_model: Optional[str] = typer.Option(  # noqa: UP045
        None, "--reflection-model", help="gepa only: litellm model that proposes candidates, "
        "or 'stand-in' for the deterministic offline stand-in."),
    from_path: Optional[str] = typer.Option(  # noqa: UP045
        None, "--from", help="Start from this SKILL.md instead of the current skill."),
    apply: bool = typer.Option(False, "--apply", help="If promoted, also write it over "
                               ".agents/skills/<id>/SKILL.md (old kept as SKILL.md.bak-<ver>)."),
    backend: str = opt.SandboxBackend,
    consecutive: int = opt.VerifyConsecutive,
    attempts: int = opt.VerifyMaxAttempts,
    interval: float = opt.VerifyInterval,
    probe_timeout: float = opt.ProbeTimeout,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Name of this optimization."),  # noqa: UP045
    json_out: bool = opt.JsonOut,
) -> None:
    """Propose a better skill from real runs; promote it only if the regression gate passes."""

    if simulate and model:
        raise UsageError("give --simulate or --model, not both")
    if not simulate and not model:
        raise UsageError("give --simulate (offline runbook policy) or --model M")
    req = OptimizeRequest(
        optimizer=optimizer, skill_id=skill, budget=budget,
        train_seeds=_seeds(train_seeds, "--train-seeds"),
        val_seeds=_seeds(val_seeds, "--val-seeds"),
        regression_seeds=_seeds(regression_seeds, "--regression-seeds"),
        simulate=simulate, model=model, reflection_model=reflection_model,
        from_path=Path(from_path) if from_path else None, apply=apply, sandbox=backend,
        run_id=run_id,
        verify=opt.verify_policy(consecutive, attempts, interval, probe_timeout))
    if not json_out:
        note(f"optimizing {skill} with {optimizer} (budget {budget}); runs in real sandboxes")
    result = optimize(req, on_event=None if json_out else _progress)
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        _render(result)
    raise typer.Exit(0 if result.outcome in ("promoted", "unchanged", "no_candidate") else 1)


def _render(result: Any) -> None:
    def out(text: str) -> None:  # the candidate's text and reasons came from traces
        sys.stdout.write(terminal_text(text))

    out(f"{result.outcome.upper()}: {result.reason}\n")
    out(f"  candidate {result.candidate_version} (seed {result.seed_version}, current "
        f"{result.current_version}); {result.evaluations} candidate evaluations, "
        f"{result.runs} runs, {result.duration_s:.0f} s\n")
    if result.validation:
        before, after = result.validation.before, result.validation.after
        out(f"  held-out {', '.join(result.validation.instances)}:\n")
        for label, row in (("before", before), ("after", after)):
            out(f"    {label:6} success {row['success_rate']:.0%}  median steps "
                f"{row['median_steps']:g}  median time {row['median_time_s']:.2f} s  "
                f"median ttm {row['median_ttm_s']} s  blocked/HIGH {row['safety_events']}\n")
    if result.regression:
        for check in result.regression.checks:
            out(f"  gate {'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}\n")
    for line in result.notes:
        out(f"  note: {line}\n")
    if result.promoted_path:
        out(f"  promoted: {result.promoted_path} (use `sre-agent run --strategy-source "
            f"optimizer --skill-id {result.skill_id}`)\n")
    if result.applied_path:
        out(f"  applied over {result.applied_path} (backup {result.applied_backup})\n")
        out(result.applied_diff)
    out(f"  artifacts: {result.run_dir}\n")
