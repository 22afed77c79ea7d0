"""What the pages show, assembled from the job manager, the trace log and the skill catalogue.

An incident is looked up live first (the job manager), then in the trace log by run id, so a
run from the CLI or from before a restart opens the same page. Templates get plain dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sre_agent.incidents import catalogue
from sre_agent.safety.levels import RISK_LEVELS
from sre_agent.scoring import (
    GROUP_BY_CHOICES,
    Scorecard,
    build_scorecard,
    scorecard_from_log,
)
from sre_agent.skills import load_catalog
from sre_agent.traces import read_traces
from sre_agent.web.jobs import JobManager
from sre_agent.web.markdown import render
from sre_agent.web.schemas import IncidentRecord, JobStart, UnknownId

__all__ = ["GROUP_BY_CHOICES", "incident_context", "incident_data", "index_context",
           "scorecard"]


def index_context() -> dict[str, Any]:
    """The start form's choices and defaults."""
    return {"scenarios": catalogue(), "defaults": JobStart(),
            "risks": RISK_LEVELS}


def _from_trace_log(trace_log: Path | None, run_id: str) -> dict[str, Any] | None:
    if trace_log is None or not Path(trace_log).is_file():
        return None
    found = None
    for row in read_traces(trace_log, run_id=run_id):
        found = row  # the last row of a run id wins (a re-run appends another)
    if found is None:
        return None
    row = found.model_dump(mode="json")
    record = IncidentRecord(
        id=run_id, run_id=run_id, scenario=found.scenario, seed=found.seed, state="done",
        status=found.status, reason=found.reason, skill=found.skill_id, model=found.model,
        steps=found.steps, highest_risk=found.highest_risk, service_up=found.service_up,
        ttm_s=found.ttm_s, created_at=found.started_at, started_at=found.started_at,
        ended_at=found.ended_at, incident_text=found.incident_text)
    return {"incident": record.model_dump(mode="json"), "actions": row["actions"], "row": row,
            "confirmations": [], "from_trace_log": True}


def incident_data(jobs: JobManager, trace_log: Path | None, incident_id: str) -> dict[str, Any]:
    """One incident: record, actions (live, or the trace row's once done), row, confirmations."""
    try:
        data = jobs.incident(incident_id)
        data["from_trace_log"] = False
    except UnknownId:
        found = _from_trace_log(trace_log, incident_id)
        if found is None:
            raise
        return found
    if data["row"] is not None:
        data["actions"] = data["row"]["actions"]  # complete: blocked and rejected ones too
    return data


def _skill(skill_id: str | None, version: str | None) -> dict[str, Any] | None:
    if not skill_id:
        return None
    catalog = load_catalog()
    skill = next((s for s in catalog.skills if s.id == skill_id), None)
    if skill is None:
        return {"id": skill_id, "missing": True}
    return {"id": skill.id, "version": skill.version, "description": skill.description,
            "max_risk": skill.contract.max_risk, "verify": skill.contract.verify,
            "runbook": [s.model_dump() for s in skill.contract.runbook],
            "html": render(skill.body), "changed": bool(version and version != skill.version),
            "run_version": version}


def incident_context(jobs: JobManager, trace_log: Path | None,
                     incident_id: str) -> dict[str, Any]:
    """Everything the incident page renders."""
    data = incident_data(jobs, trace_log, incident_id)
    row = data["row"]
    record = data["incident"]
    verdict = (row or {}).get("verdict")
    return {
        **data,
        "skill": _skill(record.get("skill") or (row or {}).get("skill_id"),
                        (row or {}).get("skill_version")),
        "verdict": verdict,
        "probes": (verdict or {}).get("probes", []),
        "route": ((row or {}).get("extra") or {}).get("route")
        or ((record.get("alert") or {}).get("route") or {}).get("abstained_reason"),
        "pending": [c for c in data["confirmations"] if c["state"] == "pending"],
        "answered": [c for c in data["confirmations"] if c["state"] != "pending"],
    }


def scorecard(trace_log: Path | None, group_by: str) -> Scorecard:
    """The scorecard of the trace log (`sre-agent scorecard`'s code); empty when no log yet."""
    if trace_log is None or not Path(trace_log).is_file():
        return build_scorecard([], group_by)
    return scorecard_from_log(trace_log, group_by=group_by)
