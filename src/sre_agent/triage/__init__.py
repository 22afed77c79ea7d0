"""Triage: a cheap, deterministic, read-only look at the system before a runbook is chosen.

`plan` (which checks: each skill's `metadata.triage`, the pack's health probes; vetted LOW),
`look` (run them in the sandbox, in parallel, bounded), `evidence` (what supports or rules out
each skill; is the service red), `decide` (text and evidence together), `render` (for people,
the agent and the offline policy), `session` (one triage of a sandbox of this process).
"""

from sre_agent.triage.decide import decide
from sre_agent.triage.evidence import judge
from sre_agent.triage.look import run_plan, sandbox_executor, shell_executor
from sre_agent.triage.model import (
    ROUTE_SOURCES,
    CheckRun,
    Evidence,
    HealthCheck,
    Plan,
    RoutingDecision,
    SkillCheck,
    SkillFit,
    TriageReport,
)
from sre_agent.triage.plan import build_plan, vet
from sre_agent.triage.render import observation_text, parse_observation, report_lines
from sre_agent.triage.session import (
    SETTLE_WAIT_S,
    Triage,
    look,
    plan_for,
    triage_fresh,
    triage_sandbox,
)

__all__ = ["ROUTE_SOURCES", "SETTLE_WAIT_S", "CheckRun", "Evidence", "HealthCheck", "Plan",
           "RoutingDecision", "SkillCheck", "SkillFit", "Triage", "TriageReport", "build_plan",
           "decide", "judge", "look", "observation_text", "parse_observation", "plan_for",
           "report_lines", "run_plan", "sandbox_executor", "shell_executor", "triage_fresh",
           "triage_sandbox", "vet"]
