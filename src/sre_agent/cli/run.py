"""`sre-agent run`: one incident, end to end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from sre_agent.agent import ConfirmAnswer, Confirmer, PendingAction, fixed_answer
from sre_agent.cli import _options as opt
from sre_agent.cli._output import console as safe_console
from sre_agent.cli._output import emit_json, terminal_text
from sre_agent.runs import RunHooks, run_incident


def make_confirmer(auto_confirm: bool, console: Any) -> Confirmer:
    """Ask the operator on a terminal; otherwise reject (or approve with --auto-confirm)."""
    if auto_confirm:
        return fixed_answer(True, "--auto-confirm")
    if not sys.stdin.isatty():
        return fixed_answer(False, "non-interactive run without --auto-confirm")

    def ask(pending: PendingAction) -> ConfirmAnswer:
        console.print(f"[bold yellow]Confirmation needed[/] ({pending.risk} risk) "
                      f"{pending.tool}: [bold]{escape(pending.command)}[/]")
        for reason in pending.reasons:
            console.print(f"  - {escape(reason)}")
        while True:
            answer = console.input("Run it? [y]es / [n]o / [e]dit the reason and reject: ")
            answer = answer.strip().lower()
            if answer in ("y", "yes"):
                return ConfirmAnswer(True, "approved by the operator")
            if answer in ("n", "no"):
                return ConfirmAnswer(False, "rejected by the operator")
            if answer in ("e", "edit"):
                reason = console.input("Reason for the agent: ").strip()
                return ConfirmAnswer(False, reason or "rejected by the operator")

    return ask


def command(
    scenario: str = typer.Option(..., "--scenario", help="Scenario to break and repair "
                                 "(see `sre-agent scenarios list`)."),
    seed: int = typer.Option(1, "--seed", help="Varies which file, port, variable, flag."),
    incident_text: Optional[str] = typer.Option(  # noqa: UP045 (typer needs Optional)
        None, "--incident-text", help="Route this text instead of the scenario's own."),
    mode: str = opt.Mode,
    strategy_source: str = opt.Strategy,
    skill_id: Optional[str] = typer.Option(None, "--skill-id", help="Force this skill."),  # noqa: UP045
    no_triage: bool = opt.NoTriage,
    model: Optional[str] = opt.Model,  # noqa: UP045
    simulate: bool = opt.Simulate,
    backend: str = opt.SandboxBackend,
    keep_sandbox: bool = typer.Option(False, "--keep-sandbox",
                                      help="Leave the sandbox running for inspection."),
    max_steps: int = opt.MaxSteps,
    timeout_s: float = opt.TimeoutS,
    consecutive: int = opt.VerifyConsecutive,
    attempts: int = opt.VerifyMaxAttempts,
    interval: float = opt.VerifyInterval,
    probe_timeout: float = opt.ProbeTimeout,
    max_security_risk: str = opt.MaxRisk,
    confirm_risk: Optional[str] = opt.ConfirmRisk,  # noqa: UP045
    auto_confirm: bool = opt.AutoConfirm,
    trace_log: Optional[Path] = typer.Option(None, "--trace-log",  # noqa: UP045
                                             help="JSONL trace log to append to."),
    disable_trace_log: bool = typer.Option(False, "--disable-trace-log"),
    run_id: Optional[str] = typer.Option(None, "--run-id"),  # noqa: UP045
    json_out: bool = opt.JsonOut,
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
) -> None:
    """Repair one incident: sandbox, route, OpenHands agent, verifier, trace (exit 0 = green)."""
    from rich.markup import escape as esc

    opt.use_scenario_paths(scenario_path)
    request = opt.run_request(
        mode=mode, strategy_source=strategy_source, model=model, simulate=simulate,
        consecutive=consecutive, attempts=attempts, interval=interval,
        probe_timeout=probe_timeout, max_security_risk=max_security_risk,
        confirm_risk=confirm_risk, trace_log=trace_log, disable_trace_log=disable_trace_log,
        scenario=scenario, seed=seed, incident_text=incident_text, skill_id=skill_id,
        sandbox=backend, keep_sandbox=keep_sandbox, max_steps=max_steps, timeout_s=timeout_s,
        run_id=run_id, triage=not no_triage)
    console = safe_console(stderr=True)

    def progress(stage: str, info: dict[str, Any]) -> None:
        if stage == "planned":
            console.print(f"[bold]{info['run_id']}[/]: {info['scenario']} (seed {seed}) -> "
                          f"skill [cyan]{esc(info['skill'] or 'none')}[/], "
                          f"sandbox {info['sandbox']}")
            if info["model"] == "runbook":
                console.print("[yellow]offline runbook policy[/]: no LLM is used; the skill's "
                              "runbook is played as tool calls (model: runbook)")
            else:
                console.print(f"model: {esc(info['model'])}")
            if info.get("sandbox_reason"):
                console.print(f"sandbox {info['sandbox']}: {esc(info['sandbox_reason'])}",
                              highlight=False)
            if info["sandbox"] == "local":
                console.print("[red]sandbox local isolates nothing[/]: agent commands run on "
                              "this host")
        elif stage == "action":
            a = info["action"]
            colour = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "red"}.get(a.risk or "", "dim")
            mark = "" if a.decision == "allow" else f" [red]{a.decision}[/]"
            console.print(f"  step {a.step:>2} [{colour}]{a.risk or '-':<6}[/]{mark} "
                          f"{a.tool}: {esc(terminal_text(a.command, one_line=True)[:110])}",
                          highlight=False)
        elif stage == "triaged":
            console.print(f"  triage -> skill [cyan]{esc(info['skill'] or 'none')}[/] "
                          f"(source {info['source']}): "
                          f"{esc(terminal_text(info['route'], one_line=True)[:160])}",
                          highlight=False)
        elif stage == "verifying":
            console.print("  verifying...")

    hooks = RunHooks(confirmer=make_confirmer(auto_confirm, console), on_progress=progress)
    row = run_incident(request, hooks)
    summary = {
        "run_id": row.run_id, "scenario": row.scenario, "seed": row.seed,
        "skill_id": row.skill_id, "skill_version": row.skill_version, "model": row.model,
        "route_source": row.route_source, "route_overruled": row.route_overruled,
        "simulated": row.simulated, "service_up": row.service_up,
        "claimed_fixed": row.claimed_fixed, "escalated": row.escalated, "status": row.status,
        "reason": row.reason, "steps": row.steps, "duration_s": row.duration_s,
        "ttm_s": row.ttm_s, "highest_risk": row.highest_risk,
        "blocked_actions": row.blocked_actions, "cost_usd": row.cost_usd,
        "claim_disagrees": row.extra.get("claim_disagrees", False),
        "trace_log": str(request.trace_log) if request.trace_log else None,
        "sandbox": row.extra.get("kept_sandbox"),
        "sandbox_backend": row.sandbox_backend,
        "sandbox_reason": row.extra.get("sandbox_reason"),  # local's: NO isolation
    }
    if json_out:
        emit_json(summary)
    else:
        colour = "green" if row.service_up else "red"
        console.print(f"[bold {colour}]{row.status.upper()}[/] verifier: "
                      f"{'GREEN' if row.service_up else 'RED'} - "
                      f"{esc(terminal_text(row.reason, one_line=True))}")
        claim = terminal_text(row.claim_text, one_line=True)[:200]
        console.print(f"  claim: {esc(claim) or '(none)'}")
        if summary["claim_disagrees"]:
            console.print("  [bold red]the agent's claim disagrees with the verifier[/]")
        ttm = f", time to mitigate {row.ttm_s:.1f}s" if row.ttm_s is not None else ""
        console.print(f"  {row.steps} steps in {row.duration_s:.1f}s{ttm}; "
                      f"trace: {summary['trace_log'] or 'disabled'}")
        if summary["sandbox"]:
            console.print(f"  sandbox kept at {summary['sandbox']} "
                          f"(`sre-agent verify {summary['sandbox']}`)")
    ok = row.service_up and row.status in ("fixed", "nothing_to_fix")
    raise typer.Exit(0 if ok else 1)
