"""One triage of a running sandbox: plan, look, judge, and (with a text) decide."""

from __future__ import annotations

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


def triage_sandbox(sandbox: Any, text: str | None = None, *,
                   catalog: SkillCatalog | None = None) -> Triage:
    """Triage a started sandbox; with `text`, route it and combine both."""
    catalog = catalog or load_catalog()
    plan = plan_for(sandbox, catalog)
    report = look(plan, sandbox_executor(sandbox))
    routed = route(text, catalog, among=for_incident(catalog, sandbox.incident).ids()) \
        if text and text.strip() else None
    return Triage(plan=plan, report=report, routed=routed, decision=decide(routed, report))
