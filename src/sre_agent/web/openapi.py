"""The OpenAPI 3.1 description of the web UI's JSON API (served at `/api/openapi.json`).

Hand-written; `tests/test_web.py` checks that every documented path is served and every
`/api` route is documented, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from sre_agent.web.models import Confirmation, IncidentRecord, JobStart, JobView

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "hint": {"type": "string"}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(*codes: int) -> dict[str, Any]:
    text = {400: "bad input", 401: "missing or wrong token", 404: "unknown id",
            409: "already answered", 415: "not a JSON body"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ALERT = {
    "type": "object", "description": "Alertmanager webhook payload (version 4).",
    "required": ["alerts"],
    "properties": {
        "version": {"type": "string", "const": "4"}, "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"}, "status": {"type": "string"},
        "receiver": {"type": "string"}, "groupLabels": {"type": "object"},
        "commonLabels": {"type": "object"}, "commonAnnotations": {"type": "object"},
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "items": {
            "type": "object", "required": ["status", "labels"],
            "properties": {
                "status": {"type": "string", "enum": ["firing", "resolved"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "`scenario` names the sandbox to run in (none: the "
                           "incident needs a human); `seed` (integer, default 1)."},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "startsAt": {"type": "string"}, "endsAt": {"type": "string"},
                "generatorURL": {"type": "string"}, "fingerprint": {"type": "string"}}}},
    },
}


def openapi_schema() -> dict[str, Any]:
    """The schema as a dict (JSON-serialisable)."""
    state = {"type": "object", "properties": {
        "server_time": {"type": "number"}, "jobs": {"type": "array", "items": _ref("JobView")},
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
            "post": {"summary": "Start one incident (incidents=1) or a fan-out.",
                     "requestBody": _body(_ref("JobStart")),
                     "responses": {"202": _json(_ref("JobView"), "started"),
                                   **_err(400, 401, 415)}}},
        "/api/jobs/{job_id}": {"get": {
            "summary": "One job (its summary once finished).", "parameters": [_id("job_id")],
            "responses": {"200": _json(_ref("JobView")), **_err(401, 404)}}},
        "/api/jobs/{job_id}/stop": {"post": {
            "summary": "Stop a job: queued incidents never start, running ones are cancelled "
                       "(each tears its sandbox down and writes its trace row).",
            "parameters": [_id("job_id")], "requestBody": _body({"type": "object"}),
            "responses": {"200": _json(_ref("JobView")), **_err(401, 404, 415)}}},
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
                    "reason": {"type": ["string", "null"]}}}), **_err(401, 404, 415)}}},
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
                "approve": {"type": "boolean"}, "reason": {"type": "string"}}}),
            "responses": {"200": _json(_ref("Confirmation")), **_err(400, 401, 404, 409, 415)}}},
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
                          **_err(400, 401, 415)}}},
        "/api/events": {"get": {
            "summary": "Server-sent events: incident, job, action, confirmation (data: JSON).",
            "responses": {"200": {"description": "an event stream",
                                  "content": {"text/event-stream": {}}}, **_err(401)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "sre-agent web UI", "version": "1",
                 "description": "State-changing requests need Content-Type: application/json. "
                                "With a token configured every request needs it."},
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
