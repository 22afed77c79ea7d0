"""Options shared by several commands, declared once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.incidents import VerifySettings
from sre_agent.incidents.packs import PATH_ENV
from sre_agent.runs import RunRequest
from sre_agent.safety.levels import RISK_LEVELS, Risk

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
RISK_HELP = f"{', '.join(RISK_LEVELS[:-1])} or {RISK_LEVELS[-1]}"
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
NoTriage = typer.Option(False, "--no-triage",
                        help="Route on the incident text alone (no read-only look first).")
AutoConfirm = typer.Option(False, "--auto-confirm",
                           help="Approve confirmations when nobody can answer.")


ScenarioPath = typer.Option(
    None, "--scenario-path", help="A scenario pack directory, a directory of packs or a Chaos "
    "Toolkit experiment file (repeatable; adds to SRE_AGENT_SCENARIO_PATH).")


def use_scenario_paths(given: list[Path] | None) -> None:
    """Make packs given on the command line visible to this process and its children (the
    catalogue reads SRE_AGENT_SCENARIO_PATH); a path that does not exist is a usage error."""
    if not given:
        return
    for path in given:
        if not path.exists():
            raise UsageError(f"--scenario-path {path} does not exist",
                             "give a pack directory (with pack.yaml) or an experiment file")
    current = [p for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]
    added = [str(path.resolve()) for path in given if str(path.resolve()) not in current]
    os.environ[PATH_ENV] = os.pathsep.join([*added, *current])


def verify_policy(consecutive: int, attempts: int, interval: float,
                  timeout: float) -> VerifySettings:
    return VerifySettings(consecutive_successes=consecutive, max_attempts=attempts,
                        interval_s=interval, probe_timeout_s=timeout)


def risk_level(value: str | None, flag: str) -> str | None:
    """A risk level flag, case-insensitive; a bad one is a usage error naming the flag."""
    if value is None:
        return None
    try:
        return Risk.parse(value).value
    except UsageError:
        raise typer.BadParameter(f"{value!r} is not a risk level ({RISK_HELP})",
                                 param_hint=flag) from None


def run_request(*, model: str | None, simulate: bool, consecutive: int, attempts: int,
                interval: float, probe_timeout: float, max_security_risk: str,
                confirm_risk: str | None, trace_log: Path | None, disable_trace_log: bool,
                **fields: Any) -> RunRequest:
    """The per-incident settings shared by `run` and `fanout` as a RunRequest (its validators
    are the one home of the rules: the web builds the same model)."""
    return RunRequest(
        model=model, simulate=simulate,
        verify=verify_policy(consecutive, attempts, interval, probe_timeout),
        max_risk=risk_level(max_security_risk, "--max-security-risk") or "MEDIUM",
        confirm_risk=risk_level(confirm_risk, "--require-confirmation-for-risk"),
        trace_log=None if disable_trace_log else (trace_log or paths.default_trace_log()),
        **fields)


def require_one(**named: object) -> None:
    given = [k for k, v in named.items() if v not in (None, False)]
    if len(given) != 1:
        names = " or ".join(f"--{k.replace('_', '-')}" for k in named)
        raise UsageError(f"give exactly one of {names}")
