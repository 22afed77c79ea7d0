"""The OpenAPI 3.1 description of the web UI's JSON API (served at `/api/openapi.json`).

Hand-written; `tests/test_web.py` checks that every documented path is served and every
`/api` route is documented, so the two cannot drift apart silently. The limits it states
(`info.x-limits`, `maxItems`, `maxLength`, ...) are read from `sre_agent.web.limits`.
"""

from __future__ import annotations

from typing import Any

from sre_agent.web import limits as L
from sre_agent.web.schemas import Confirmation, IncidentRecord, JobStart, JobView

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "hint": {"type": "string"}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(*codes: int) -> dict[str, Any]:
    text = {400: "bad input: malformed JSON, nested deeper than "
                 f"{L.MAX_JSON_DEPTH} levels, or a field over its cap",
            401: "missing or wrong token",
            403: "Host not this server's, or a cross-origin request (Origin not this server's)",
            404: "unknown id", 409: "already answered",
            413: f"body over {L.MAX_BODY_BYTES} bytes (or too many alerts)",
            415: "not a JSON body", 429: "server busy (a capacity limit); see Retry-After",
            500: "internal error (the log has the details, never the body)"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "description": f"JSON, at most {L.MAX_BODY_BYTES} bytes",
            "content": {"application/json": {"schema": schema}}}


_WRITE = (401, 403, 413, 415, 500)  # what any state-changing request may get
_STRINGS = {"type": "object", "maxProperties": L.MAX_LABELS_PER_ALERT,
            "propertyNames": {"maxLength": L.MAX_LABEL_NAME},
            "additionalProperties": {"type": "string", "maxLength": L.MAX_LABEL_VALUE}}


_ALERT = {
    "type": "object", "required": ["alerts"],
    "description": "Alertmanager webhook payload (version 4). More than "
    f"{L.MAX_ALERTS_PER_PAYLOAD} alerts: 413, nothing starts. Over-long strings are "
    f"truncated (marked '{L.TRUNCATED}'), never refused: label and annotation values at "
    f"{L.MAX_LABEL_VALUE} characters, names at {L.MAX_LABEL_NAME}, the composed incident "
    f"text at {L.MAX_INCIDENT_TEXT}. An alert with more than {L.MAX_LABELS_PER_ALERT} "
    "labels (or annotations) is ignored with its reason.",
    "properties": {
        "version": {"type": "string", "const": "4"}, "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"}, "status": {"type": "string"},
        "receiver": {"type": "string"}, "groupLabels": {"type": "object"},
        "commonLabels": {"type": "object"}, "commonAnnotations": {"type": "object"},
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "maxItems": L.MAX_ALERTS_PER_PAYLOAD, "items": {
            "type": "object", "required": ["status", "labels"],
            "properties": {
                "status": {"type": "string", "enum": ["firing", "resolved"]},
                "labels": {**_STRINGS, "description": "`scenario` names the sandbox to run "
                           "in (none: the incident needs a human); `seed` (integer, default "
                           f"1, within ±{L.MAX_SEED}). Longer values are truncated."},
                "annotations": {**_STRINGS, "description": "`summary`, `description`, "
                                "`message` and the others go into the incident text. Longer "
                                "values are truncated."},
                "startsAt": {"type": "string"}, "endsAt": {"type": "string"},
                "generatorURL": {"type": "string"}, "fingerprint": {"type": "string"}}}},
    },
}


_DESCRIPTION = (
    "State-changing requests need Content-Type: application/json; one that carries an Origin "
    "header must come from this server's own origin (403). With a token configured every "
    f"request needs it. Bodies are at most {L.MAX_BODY_BYTES} bytes (413, never read), JSON "
    f"nested at most {L.MAX_JSON_DEPTH} levels (400). At most "
    f"{L.DEFAULT_MAX_IN_FLIGHT} incidents (the server's --max-in-flight) hold a sandbox at "
    "once over all jobs and alerts, the rest wait as `queued`; past "
    f"{L.MAX_OPEN_INCIDENTS} open incidents or {L.MAX_ACTIVE_JOBS} running jobs a start is "
    "429. Everything served is redacted of secrets. `x-limits` lists every limit.")


def openapi_schema() -> dict[str, Any]:
    """The schema as a dict (JSON-serialisable)."""
    capacity = {"type": "object", "description": "The server-wide caps and their use.",
                "properties": {k: {"type": "integer"} for k in (
                    "in_flight", "waiting", "max_in_flight", "peak_in_flight", "max_open",
                    "max_active_jobs")}}
    state = {"type": "object", "description": f"Compact: strings cut at {L.MAX_LIVE_TEXT} "
             "characters, an alert incident's labels and annotations left out (see "
             f"/api/incidents/{{id}}); at most {L.MAX_RETAINED_INCIDENTS} finished incidents "
             f"and {L.MAX_RETAINED_JOBS} finished jobs are kept.", "properties": {
        "server_time": {"type": "number"}, "capacity": capacity,
        "jobs": {"type": "array", "items": _ref("JobView")},
        "incidents": {"type": "array", "items": _ref("IncidentRecord")},
        "confirmations": {"type": "array", "items": _ref("Confirmation")}}}
    incident = {"type": "object", "properties": {
        "incident": _ref("IncidentRecord"), "actions": {"type": "array", "items": {
            "type": "object", "description": "TraceAction"}},
        "row": {"type": ["object", "null"], "description": "the TraceRow once done"},
        "confirmations": {"type": "array", "items": _ref("Confirmation")},
        "from_trace_log": {"type": "boolean"}}}
    paths: dict[str, Any] = {
        "/api/openapi.json": {"get": {"summary": "This schema.",
                                      "responses": {"200": _json({"type": "object"})}}},
        "/api/state": {"get": {"summary": "Jobs, incidents (newest first) and pending "
                               "confirmations.", "responses": {"200": _json(state)}}},
        "/api/scenarios": {"get": {"summary": "The scenario catalogue.", "responses": {
            "200": _json({"type": "object", "properties": {"scenarios": {"type": "array"}}})}}},
        "/api/jobs": {
            "get": {"summary": "Every job, newest first.", "responses": {"200": _json(
                {"type": "object", "properties": {"jobs": {"type": "array",
                                                           "items": _ref("JobView")}}})}},
            "post": {"summary": "Start one incident (incidents=1) or a fan-out. Over-long "
                     "fields are refused (400). Its incidents share the server's "
                     "in-flight cap with every job and alert; the rest wait as `queued`.",
                     "requestBody": _body(_ref("JobStart")),
                     "responses": {"202": _json(_ref("JobView"), "started"),
                                   **_err(400, 429, *_WRITE)}}},
        "/api/jobs/{job_id}": {"get": {
            "summary": "One job (its summary once finished).", "parameters": [_id("job_id")],
            "responses": {"200": _json(_ref("JobView")), **_err(401, 404)}}},
        "/api/jobs/{job_id}/stop": {"post": {
            "summary": "Stop a job: queued incidents never start, running ones are cancelled "
                       "(each tears its sandbox down and writes its trace row).",
            "parameters": [_id("job_id")], "requestBody": _body({"type": "object"}),
            "responses": {"200": _json(_ref("JobView")), **_err(404, *_WRITE)}}},
        "/api/incidents/{incident_id}": {"get": {
            "summary": "One incident: live actions, the trace row once done, confirmations. "
                       "Falls back to the trace log (by run id).",
            "parameters": [_id("incident_id")],
            "responses": {"200": _json(incident), **_err(401, 404)}}},
        "/api/incidents/{incident_id}/cancel": {"post": {
            "summary": "Cancel one running incident.", "parameters": [_id("incident_id")],
            "requestBody": _body({"type": "object"}), "responses": {
                "200": _json({"type": "object", "properties": {
                    "incident_id": {"type": "string"}, "cancelled": {"type": "boolean"},
                    "reason": {"type": ["string", "null"]}}}), **_err(404, *_WRITE)}}},
        "/api/confirmations": {"get": {
            "summary": "Confirmations (pending by default).",
            "parameters": [{"name": "state", "in": "query", "schema": {
                "type": "string", "enum": ["pending", "approved", "rejected", "expired",
                                           "cancelled", "all"]}}],
            "responses": {"200": _json({"type": "object", "properties": {
                "confirmations": {"type": "array", "items": _ref("Confirmation")}}})}}},
        "/api/confirmations/{confirmation_id}": {"post": {
            "summary": "Approve or reject a risky action waiting for an operator.",
            "parameters": [_id("confirmation_id")],
            "requestBody": _body({"type": "object", "required": ["approve"], "properties": {
                "approve": {"type": "boolean"},
                "reason": {"type": "string", "description": f"cut at {L.MAX_REASON} chars"}}}),
            "responses": {"200": _json(_ref("Confirmation")),
                          **_err(400, 404, 409, *_WRITE)}}},
        "/api/scorecard": {"get": {
            "summary": "The scorecard JSON of the trace log (as `sre-agent scorecard --format "
                       "json`).",
            "parameters": [{"name": "group_by", "in": "query", "schema": {
                "type": "string", "enum": ["skill", "scenario", "model", "skill_version",
                                           "mode"]}}],
            "responses": {"200": _json({"type": "object"}), **_err(400, 401)}}},
        "/api/alerts": {"post": {
            "summary": "Alertmanager webhook: each firing alert becomes an incident; resolved "
                       "ones and duplicates (same fingerprint, incident open) start nothing.",
            "requestBody": _body(_ALERT),
            "responses": {"202": _json({"type": "object"}, "at least one run started"),
                          "200": _json({"type": "object"}, "nothing started (see decisions)"),
                          **_err(400, *_WRITE)}}},
        "/api/events": {"get": {
            "summary": "Server-sent events: incident, job, action, confirmation (data: JSON, "
                       f"compact like /api/state). At most {L.MAX_SUBSCRIBERS} streams at once.",
            "responses": {"200": {"description": "an event stream",
                                  "content": {"text/event-stream": {}}}, **_err(401, 429)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "sre-agent web UI", "version": "1", "x-limits": L.as_dict(),
                 "description": _DESCRIPTION},
        "security": [{"bearer": []}, {"apiToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiToken": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
            },
            "schemas": {
                "Error": _ERROR,
                "JobStart": JobStart.model_json_schema(),
                "JobView": JobView.model_json_schema(),
                "IncidentRecord": IncidentRecord.model_json_schema(),
                "Confirmation": Confirmation.model_json_schema(),
            },
        },
    }
