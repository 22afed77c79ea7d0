"""One triage of a running sandbox: plan, look, judge, and (with a text) decide."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sre_agent.skills.catalogue import SkillCatalog, for_incident, load_catalog
from sre_agent.skills.router import RouteResult, route
from sre_agent.triage.decide import decide
from sre_agent.triage.evidence import judge
from sre_agent.triage.look import Execute, run_plan, sandbox_executor
from sre_agent.triage.model import Plan, RoutingDecision, TriageReport
from sre_agent.triage.plan import build_plan


@dataclass
class Triage:
    plan: Plan
    report: TriageReport
    routed: RouteResult | None
    decision: RoutingDecision
    # Seconds this process spent starting the sandbox with its fault live (a fresh triage
    # only; the text is routed meanwhile) and then on the triage itself (plan, look, judge,
    # decide; on a started sandbox, routing the text too).
    start_s: float | None = None
    triage_s: float | None = None

    def trace_record(self) -> dict[str, Any]:
        """What the trace row keeps: the text's ranking, the checks, what matched, the choice."""
        return {
            "text": None if self.routed is None else {
                "skill": self.routed.skill, "confidence": self.routed.confidence,
                "candidates": [{"skill": c.skill, "score": c.score}
                               for c in self.routed.candidates]},
            "report": self.report.model_dump(mode="json"),
            "decision": self.decision.model_dump(mode="json"),
            "checks": len(self.plan.checks) + len(self.plan.health),
        }

    def to_data(self) -> dict[str, Any]:
        """Everything, as JSON-ready data (a worker sends it to the orchestrator)."""
        return {"plan": self.plan.model_dump(mode="json"),
                "routed": None if self.routed is None else self.routed.model_dump(mode="json"),
                "report": self.report.model_dump(mode="json"),
                "decision": self.decision.model_dump(mode="json")}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Triage:
        routed = data.get("routed")
        return cls(plan=Plan.model_validate(data["plan"]),
                   report=TriageReport.model_validate(data["report"]),
                   routed=None if routed is None else RouteResult.model_validate(routed),
                   decision=RoutingDecision.model_validate(data["decision"]))


def plan_for(sandbox: Any, catalog: SkillCatalog | None = None) -> Plan:
    """The plan of a sandbox of this process (its incident, ports and instance)."""
    return build_plan(catalog or load_catalog(), sandbox.incident, sandbox.values())


def look(plan: Plan, execute: Execute) -> TriageReport:
    runs, took = run_plan(plan, execute)
    return judge(plan, runs, took)


# How long a fresh triage sandbox's `start all` waits for its programs to settle. Past it, a
# program still in its start-up wait (a cache that never answers) shows STARTING and one in a
# crash loop BACKOFF, instead of RUNNING after its ready time-out (5-10 s) or FATAL. Every
# program of a healthy pack is RUNNING well within it (webstack: ~1.4 s on a quiet machine). A
# program whose log says it waits for a dependency (its pack's `ready.waiting`) does not hold
# the look: it stays STARTING until something else changes.
SETTLE_WAIT_S = 3.0


def route_text(text: str | None, catalog: SkillCatalog, incident: Any) -> RouteResult | None:
    """The text's ranking among the incident's skills (None without a text)."""
    if not text or not text.strip():
        return None
    return route(text, catalog, among=for_incident(catalog, incident).ids())


def triage_sandbox(sandbox: Any, text: str | None = None, *,
                   catalog: SkillCatalog | None = None) -> Triage:
    """Triage a started sandbox; with `text`, route it and combine both."""
    t0 = time.perf_counter()
    catalog = catalog or load_catalog()
    found = _combine(sandbox, catalog, route_text(text, catalog, sandbox.incident))
    found.triage_s = round(time.perf_counter() - t0, 3)
    return found


def triage_fresh(sandbox: Any, text: str | None = None, *,
                 settle_wait_s: float | None = SETTLE_WAIT_S) -> Triage:
    """Start a new sandbox (its fault live) and triage it, as soon as it can be looked at:
    its programs get at most `settle_wait_s` to settle (None: until settled, as a run's
    sandbox), and the text is routed while the sandbox starts. The caller tears it down."""
    sandbox.settle_wait_s = settle_wait_s
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-route") as pool:
        catalog = pool.submit(load_catalog)
        routed = pool.submit(lambda: route_text(text, catalog.result(), sandbox.incident))
        t0 = time.perf_counter()
        sandbox.start()
        started = time.perf_counter()
        found = _combine(sandbox, catalog.result(), routed.result())
    found.start_s = round(started - t0, 3)
    found.triage_s = round(time.perf_counter() - started, 3)
    return found


def _combine(sandbox: Any, catalog: SkillCatalog, routed: RouteResult | None) -> Triage:
    plan = plan_for(sandbox, catalog)
    report = look(plan, sandbox_executor(sandbox))
    return Triage(plan=plan, report=report, routed=routed, decision=decide(routed, report))
