"""A triage report for people (the CLI), for the agent (the triage tool's observation) and for
machines (one JSON line the offline policy reads back)."""

from __future__ import annotations

import json
from typing import Any

from sre_agent.triage.model import RoutingDecision, TriageReport

JSON_PREFIX = "TRIAGE-JSON: "


def report_lines(report: TriageReport, decision: RoutingDecision | None = None) -> list[str]:
    lines = []
    if report.healthy is None:
        lines.append("health: unknown (no health check could run)")
    else:
        state = "green" if report.healthy else "RED"
        detail = "; ".join(f"{h.name} {'ok' if h.ok else h.detail}" for h in report.health)
        lines.append(f"health: {state} ({detail})")
    fitting = [fit for fit in report.ranked if fit.fits]
    if fitting:
        lines.append("skills the evidence supports (best first):")
        for fit in fitting:
            lines.append(f"  {fit.skill} (score {fit.score:g})")
            lines += [f"    + {e.check}: {e.excerpt}" for e in fit.supports]
            lines += [f"    - {e.check}: {e.excerpt}" for e in fit.against]
    else:
        lines.append("nothing fits: no check supports any skill")
    ruled_out = [fit for fit in report.ranked if not fit.fits and fit.against]
    for fit in ruled_out:
        lines.append(f"  ruled out {fit.skill}: " +
                     "; ".join(f"{e.check}: {e.excerpt}" for e in fit.against[:2]))
    for skipped in report.skipped:
        lines.append(f"  check refused: {skipped}")
    lines.append(f"({report.commands_run} read-only commands in {report.duration_s:.2f}s)")
    if decision is not None:
        overruled = ", overruled the text" if decision.overruled else ""
        skill = f" {decision.skill}" if decision.skill else ""
        lines.append(f"decision: {decision.outcome}{skill} [source {decision.source}"
                     f"{overruled}]: {decision.reason}")
    return lines


def summary(report: TriageReport) -> dict[str, Any]:
    """The part of a report a policy acts on (small, stable keys)."""
    return {"healthy": report.healthy, "fitting": report.fitting,
            "scores": {fit.skill: fit.score for fit in report.ranked if fit.checks}}


def observation_text(report: TriageReport) -> str:
    """What the triage tool returns: the report for reading, then one JSON line."""
    return "\n".join([*report_lines(report), JSON_PREFIX + json.dumps(summary(report))])


def parse_observation(text: str) -> dict[str, Any] | None:
    """The JSON line of a triage observation (the last one), or None."""
    for line in reversed(text.splitlines()):
        if line.startswith(JSON_PREFIX):
            try:
                data = json.loads(line[len(JSON_PREFIX):])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None
