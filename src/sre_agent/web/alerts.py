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

Limits (`sre_agent.web.limits`, the same caps as `POST /api/jobs`): a payload with more than
`MAX_ALERTS_PER_PAYLOAD` alerts is refused whole (413, nothing starts). Over-long strings are
truncated, never refused (Alertmanager cannot fix its payload): label and annotation values at
`MAX_LABEL_VALUE` characters, names, fingerprints and the status at `MAX_NAME`, and the
composed incident text at `MAX_INCIDENT_TEXT`; a cut string ends in `…[truncated]`. An alert
with more than `MAX_LABELS_PER_ALERT` labels (or annotations), or a `seed` outside ±`MAX_SEED`,
is ignored with its reason. The run's settings are validated by the same `JobStart` model as
`POST /api/jobs`. When the server is at its limits (open incidents, running jobs) an alert is
ignored as "server busy" (it fires again at Alertmanager's repeat interval); the runs that
start share the server's in-flight cap with every other job (the rest wait as `queued`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue
from sre_agent.skills import route
from sre_agent.web.jobs import JobManager
from sre_agent.web.limits import (
    MAX_ALERTS_PER_PAYLOAD,
    MAX_INCIDENT_TEXT,
    MAX_LABEL_NAME,
    MAX_LABEL_VALUE,
    MAX_LABELS_PER_ALERT,
    MAX_NAME,
    clip,
)
from sre_agent.web.schemas import Busy, JobStart, TooLarge

SCENARIO_LABEL = "scenario"
SEED_LABEL = "seed"
_NOT_ROUTED = {SCENARIO_LABEL, SEED_LABEL}  # they name the sandbox; routing must not see them


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
    """Labels or annotations as strings, names and values truncated to their caps."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be an object of strings")
    if len(value) > MAX_LABELS_PER_ALERT:
        raise UsageError(f"{where} has {len(value)} entries (at most {MAX_LABELS_PER_ALERT})")
    return {clip(str(k), MAX_LABEL_NAME): clip(str(v), MAX_LABEL_VALUE)
            for k, v in value.items()}


def fingerprint_of(alert: dict[str, Any], labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint, or (when absent) a stable hash of the labels."""
    given = alert.get("fingerprint")
    if isinstance(given, str) and given.strip():
        return clip(given.strip(), MAX_NAME)
    blob = json.dumps(sorted(labels.items()), separators=(",", ":")).encode()
    return "labels:" + hashlib.sha256(blob).hexdigest()[:16]


def alert_text(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """The incident text of an alert: name, summary, description, then the other labels
    (at most `MAX_INCIDENT_TEXT` characters)."""
    parts = [labels.get("alertname", "")]
    for key in ("summary", "description", "message"):
        if annotations.get(key):
            parts.append(annotations[key])
    parts += [f"{v}" for k, v in sorted(annotations.items())
              if k not in ("summary", "description", "message", "runbook_url")]
    parts += [f"{k}={v}" for k, v in sorted(labels.items())
              if k not in _NOT_ROUTED and k != "alertname"]
    return clip(". ".join(p.strip() for p in parts if p and p.strip()), MAX_INCIDENT_TEXT)


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
    if len(alerts) > MAX_ALERTS_PER_PAYLOAD:
        raise TooLarge(f"too many alerts in one payload ({len(alerts)} > "
                       f"{MAX_ALERTS_PER_PAYLOAD}); nothing was started",
                       "set max_alerts in Alertmanager's webhook_config")
    return alerts


def intake(payload: Any, jobs: JobManager, defaults: JobStart | None = None
           ) -> AlertIntakeResult:
    """Start, record or ignore every alert of an Alertmanager webhook payload."""
    alerts = check_payload(payload)
    base = defaults or JobStart()
    known = {s.name for s in catalogue()}
    result = AlertIntakeResult(receiver=_opt_str(payload.get("receiver")),
                               group_key=_opt_str(payload.get("groupKey"), MAX_LABEL_VALUE))
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


def _opt_str(value: Any, limit: int = MAX_NAME) -> str | None:
    return None if value is None else clip(str(value), limit)


def _one(index: int, raw: Any, jobs: JobManager, base: JobStart, known: set[str],
         result: AlertIntakeResult) -> AlertDecision:
    if not isinstance(raw, dict):
        return AlertDecision(index=index, fingerprint="", status="?", action="ignored",
                             reason="invalid alert: not an object")
    try:
        labels = _str_map(raw.get("labels"), "labels")
        annotations = _str_map(raw.get("annotations"), "annotations")
    except UsageError as exc:
        return AlertDecision(index=index, fingerprint="", action="ignored",
                             status=_opt_str(raw.get("status")) or "",
                             reason=f"invalid alert: {exc.message}")
    status = _opt_str(raw.get("status", "")) or ""
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
            result.receiver, "group_key": result.group_key,
            "starts_at": _opt_str(raw.get("startsAt")), "labels": labels,
            "annotations": annotations,
            "route": {"skill": routed.skill, "confidence": routed.confidence,
                      "abstained_reason": routed.abstained_reason}}
    return _act(decision, jobs, base, known, text, info)


def _act(decision: AlertDecision, jobs: JobManager, base: JobStart, known: set[str],
         text: str, info: dict[str, Any]) -> AlertDecision:
    """Start the firing alert's run, or record that it needs a human."""
    labels = info["labels"]
    scenario = labels.get(SCENARIO_LABEL, "").strip()
    try:
        if not scenario or scenario not in known:
            why = (f"label {SCENARIO_LABEL}={scenario!r} is not a known scenario" if scenario
                   else f"no '{SCENARIO_LABEL}' label")
            reason = f"needs a human: no sandbox for this alert ({why})"
            record = jobs.add_needs_human(text, reason, info)
            decision.action, decision.reason = "needs_human", reason
            decision.incident_id = record.id
            return decision
        spec = _spec(base, scenario, labels.get(SEED_LABEL, "1").strip(), text)
        job = jobs.start(spec, kind="alert", alert=info)
    except _Invalid as exc:
        decision.reason = f"invalid alert: {exc}"
        return decision
    except Busy as exc:
        decision.reason = f"not started: {exc.message} (the alert fires again later)"
        return decision
    decision.action, decision.job_id, decision.scenario = "started", job.id, scenario
    decision.reason = f"started a run against scenario {scenario} (seed {spec.seed})"
    decision.incident_id = job.incident_ids[0] if job.incident_ids else None
    return decision


class _Invalid(ValueError):
    """An alert whose run settings fail the `JobStart` caps."""


def _spec(base: JobStart, scenario: str, seed_text: str, text: str) -> JobStart:
    """The alert's run: the server's alert defaults, validated like `POST /api/jobs`."""
    if not seed_text.lstrip("-").isdigit() or len(seed_text) > 12:
        raise _Invalid(f"label {SEED_LABEL}={seed_text!r} is not an integer")
    try:
        return JobStart.model_validate({
            **base.model_dump(), "scenarios": [scenario], "incidents": 1, "concurrency": 1,
            "seed": int(seed_text), "incident_text": text})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "alert"
        raise _Invalid(f"{where}: {first.get('msg', 'invalid')}") from None
