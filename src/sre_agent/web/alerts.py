"""Alert intake: a Prometheus Alertmanager webhook turned into incidents.

The payload is Alertmanager's documented webhook body (version "4"):
`{"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
"commonLabels", "commonAnnotations", "externalURL", "alerts": [{"status": "firing"|"resolved",
"labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}]}`.

Each firing alert becomes an incident whose text (alert name, summary, description and the
other labels) is routed by the router like any other incident. The sandbox to run it in comes
from the alert's `scenario` label (and `seed`, default 1); without one there is nothing to
reproduce the fault in, so the incident is recorded as needing a human, never run against a
guessed scenario. A resolved alert starts nothing (it closes a needs-human incident it
raised); an alert whose fingerprint already has an open incident is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from sre_agent.errors import UsageError
from sre_agent.router import route
from sre_agent.scenarios import catalogue
from sre_agent.web.jobs import JobManager
from sre_agent.web.models import JobStart

SCENARIO_LABEL = "scenario"
SEED_LABEL = "seed"
_NOT_ROUTED = {SCENARIO_LABEL, SEED_LABEL}  # they name the sandbox; routing must not see them
MAX_ALERTS = 200


class AlertDecision(BaseModel):
    """What happened to one alert of the payload."""

    index: int
    fingerprint: str
    alertname: str | None = None
    status: str
    action: Literal["started", "needs_human", "ignored"]
    reason: str
    incident_id: str | None = None
    job_id: str | None = None
    scenario: str | None = None
    skill: str | None = None  # the router's pick for the alert's text (None: abstained)
    route_confidence: float | None = None


class AlertIntakeResult(BaseModel):
    """The response of `POST /api/alerts`."""

    receiver: str | None = None
    group_key: str | None = None
    started: int = 0
    needs_human: int = 0
    ignored: int = 0
    decisions: list[AlertDecision] = Field(default_factory=list)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def fingerprint_of(alert: dict[str, Any], labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint, or (when absent) a stable hash of the labels."""
    given = alert.get("fingerprint")
    if isinstance(given, str) and given.strip():
        return given.strip()
    blob = json.dumps(sorted(labels.items()), separators=(",", ":")).encode()
    return "labels:" + hashlib.sha256(blob).hexdigest()[:16]


def alert_text(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """The incident text of an alert: name, summary, description, then the other labels."""
    parts = [labels.get("alertname", "")]
    for key in ("summary", "description", "message"):
        if annotations.get(key):
            parts.append(annotations[key])
    parts += [f"{v}" for k, v in sorted(annotations.items())
              if k not in ("summary", "description", "message", "runbook_url")]
    parts += [f"{k}={v}" for k, v in sorted(labels.items())
              if k not in _NOT_ROUTED and k != "alertname"]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def check_payload(payload: Any) -> list[dict[str, Any]]:
    """The payload's alerts; UsageError for a body that is not an Alertmanager webhook."""
    if not isinstance(payload, dict):
        raise UsageError("the body must be an Alertmanager webhook JSON object")
    version = payload.get("version")
    if version is not None and str(version) != "4":
        raise UsageError(f"unsupported Alertmanager webhook version {version!r}",
                         "this endpoint speaks version 4")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise UsageError("'alerts' must be a list of alerts")
    if len(alerts) > MAX_ALERTS:
        raise UsageError(f"too many alerts in one payload ({len(alerts)} > {MAX_ALERTS})")
    return alerts


def intake(payload: Any, jobs: JobManager, defaults: JobStart | None = None
           ) -> AlertIntakeResult:
    """Start, record or ignore every alert of an Alertmanager webhook payload."""
    alerts = check_payload(payload)
    base = defaults or JobStart()
    known = {s.name for s in catalogue()}
    result = AlertIntakeResult(receiver=_opt_str(payload.get("receiver")),
                               group_key=_opt_str(payload.get("groupKey")))
    with jobs.alert_lock:  # a duplicate check and the start it guards are one step
        for index, raw in enumerate(alerts):
            decision = _one(index, raw, jobs, base, known, result)
            result.decisions.append(decision)
            if decision.action == "started":
                result.started += 1
            elif decision.action == "needs_human":
                result.needs_human += 1
            else:
                result.ignored += 1
    return result


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _one(index: int, raw: Any, jobs: JobManager, base: JobStart, known: set[str],
         result: AlertIntakeResult) -> AlertDecision:
    if not isinstance(raw, dict):
        return AlertDecision(index=index, fingerprint="", status="?", action="ignored",
                             reason="invalid alert: not an object")
    try:
        labels = _str_map(raw.get("labels"), "labels")
        annotations = _str_map(raw.get("annotations"), "annotations")
    except UsageError as exc:
        return AlertDecision(index=index, fingerprint="", status=str(raw.get("status")),
                             action="ignored", reason=f"invalid alert: {exc.message}")
    status = str(raw.get("status", ""))
    fp = fingerprint_of(raw, labels)
    decision = AlertDecision(index=index, fingerprint=fp, alertname=labels.get("alertname"),
                             status=status, action="ignored", reason="")
    if status not in ("firing", "resolved"):
        decision.reason = f"invalid alert: status {status!r} is not firing or resolved"
        return decision
    open_incident = jobs.open_incident_with_fingerprint(fp)
    if status == "resolved":
        decision.reason = "resolved alert: nothing to start"
        if open_incident is not None:
            decision.incident_id = open_incident.id
            if open_incident.state == "needs_human":
                jobs.resolve_needs_human(open_incident.id, "the alert resolved")
                decision.reason += "; closed its needs-human incident"
            else:
                decision.reason += "; its run goes on (the verifier decides, not the alert)"
        return decision
    if open_incident is not None:
        decision.incident_id = open_incident.id
        decision.reason = (f"duplicate: incident {open_incident.id} is still open for this "
                           f"fingerprint ({open_incident.state})")
        return decision
    text = alert_text(labels, annotations)
    routed = route(text)
    decision.skill, decision.route_confidence = routed.skill, routed.confidence
    info = {"fingerprint": fp, "alertname": labels.get("alertname"), "receiver":
            result.receiver, "group_key": result.group_key, "starts_at": raw.get("startsAt"),
            "labels": labels, "annotations": annotations,
            "route": {"skill": routed.skill, "confidence": routed.confidence,
                      "abstained_reason": routed.abstained_reason}}
    scenario = labels.get(SCENARIO_LABEL, "").strip()
    if not scenario or scenario not in known:
        why = (f"label {SCENARIO_LABEL}={scenario!r} is not a known scenario" if scenario
               else f"no '{SCENARIO_LABEL}' label")
        reason = f"needs a human: no sandbox for this alert ({why})"
        record = jobs.add_needs_human(text, reason, info)
        decision.action, decision.reason, decision.incident_id = "needs_human", reason, record.id
        return decision
    seed_text = labels.get(SEED_LABEL, "1").strip()
    if not seed_text.lstrip("-").isdigit():
        decision.reason = f"invalid alert: label {SEED_LABEL}={seed_text!r} is not an integer"
        return decision
    spec = base.model_copy(update={"scenarios": [scenario], "incidents": 1, "concurrency": 1,
                                   "seed": int(seed_text), "incident_text": text})
    job = jobs.start(spec, kind="alert", alert=info)
    decision.action, decision.job_id, decision.scenario = "started", job.id, scenario
    decision.reason = f"started a run against scenario {scenario} (seed {seed_text})"
    decision.incident_id = job.incident_ids[0] if job.incident_ids else None
    return decision
