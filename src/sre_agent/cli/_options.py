"""Options shared by several commands, declared once."""

from __future__ import annotations

import typer

from sre_agent.errors import UsageError

VerifyConsecutive = typer.Option(2, "--verify-consecutive-successes", min=1,
                                 help="Healthy probes in a row needed for green.")
VerifyMaxAttempts = typer.Option(6, "--verify-max-attempts", min=1,
                                 help="Probes at most before the verdict is red.")
VerifyInterval = typer.Option(1.5, "--verify-interval-s", min=0.0,
                              help="Seconds between probes (the first goes out at once).")
ProbeTimeout = typer.Option(2.0, "--probe-timeout-s", min=0.05, help="Timeout of each probe.")
SandboxBackend = typer.Option("auto", "--sandbox",
                              help="Sandbox backend: auto, ns, local or docker.")
JsonOut = typer.Option(False, "--json", help="Print one JSON object (for machines).")
RISK_HELP = "LOW, MEDIUM or HIGH"
Simulate = typer.Option(False, "--simulate", help="Use the offline runbook policy (no LLM).")
Model = typer.Option(None, "--model", help="Any litellm model string (default: SRE_AGENT_MODEL, "
                     "else the offline runbook policy when no key is configured).")
Mode = typer.Option("optimized", "--mode", help="baseline (no skill) or optimized.")
Strategy = typer.Option("skills", "--strategy-source", help="skills (router), manual (fixed "
                        "hint) or optimizer (promoted candidate).")
MaxSteps = typer.Option(30, "--max-steps", min=1, help="Agent steps at most (per incident).")
TimeoutS = typer.Option(300.0, "--timeout-s", min=1.0,
                        help="Wall-clock limit of the agent (per incident).")
MaxRisk = typer.Option("MEDIUM", "--max-security-risk",
                       help=f"Highest risk allowed to run ({RISK_HELP}); above: blocked.")
ConfirmRisk = typer.Option(None, "--require-confirmation-for-risk",
                           help=f"Ask before actions at or above this risk ({RISK_HELP}); "
                           "rejected when nobody can answer, unless --auto-confirm.")
AutoConfirm = typer.Option(False, "--auto-confirm",
                           help="Approve confirmations when nobody can answer.")


def verify_policy(consecutive: int, attempts: int, interval: float, timeout: float):  # noqa: ANN201
    from sre_agent.verifier import VerifyPolicy

    return VerifyPolicy(consecutive_successes=consecutive, max_attempts=attempts,
                        interval_s=interval, probe_timeout_s=timeout)


def require_one(**named: object) -> None:
    given = [k for k, v in named.items() if v not in (None, False)]
    if len(given) != 1:
        names = " or ".join(f"--{k.replace('_', '-')}" for k in named)
        raise UsageError(f"give exactly one of {names}")
