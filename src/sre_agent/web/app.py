"""The web UI: a Flask app over the job manager, the trace log and the scorecard.

Pages: `/` (start runs and fan-outs, the live incident table, pending confirmations),
`/incidents/<id>` (timeline, skill, verifier probes), `/scorecard` (the same report as
`sre-agent scorecard --format html`). The JSON API behind them lives under `/api` (schema:
`/api/openapi.json`); live updates are server-sent events (`/api/events`).

Access: on loopback a token is optional; anything else needs `allow_remote` and a token
(`check_bind`). With a token, every `/api` request needs `Authorization: Bearer <token>` or
`X-Api-Token: <token>` (a browser that opened a page with `?token=` gets an HttpOnly,
SameSite=Strict cookie instead). State-changing requests must be JSON (`Content-Type:
application/json`), which a cross-site form cannot send; without a token the Host header must
name a loopback address (no DNS rebinding).
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from sre_agent.errors import UsageError
from sre_agent.web import pages
from sre_agent.web.alerts import intake
from sre_agent.web.jobs import JobManager
from sre_agent.web.models import JobStart, UnknownId
from sre_agent.web.openapi import openapi_schema

COOKIE = "sre_agent_token"
MIN_REMOTE_TOKEN = 16


@dataclasses.dataclass
class WebState:
    """What the app serves: the job manager, the trace log, the access settings."""

    jobs: JobManager
    trace_log: Path | None = None
    token: str | None = None
    alert_defaults: JobStart = dataclasses.field(default_factory=JobStart)
    keepalive_s: float = 15.0  # SSE comment period (keeps proxies and idle streams open)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, allow_remote: bool) -> None:
    """Refuse to listen beyond loopback unless asked to, and then only with a token."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise UsageError(f"refusing to listen on {host}: not a loopback address",
                         "pass --allow-remote and --token to expose the UI beyond this host")
    if not token or len(token) < MIN_REMOTE_TOKEN:
        raise UsageError(f"--allow-remote needs --token of at least {MIN_REMOTE_TOKEN} "
                         "characters", "every /api request must then carry it")


def _json_error(status: int, message: str, hint: str | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def create_app(state: WebState) -> Flask:
    """The Flask app for `state` (threaded serving expected: SSE streams hold a thread)."""
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["sre_agent"] = state
    jobs = state.jobs

    def supplied_token() -> tuple[str | None, str]:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), "header"
        if request.headers.get("X-Api-Token"):
            return request.headers["X-Api-Token"].strip(), "header"
        return request.cookies.get(COOKIE), "cookie"

    def token_ok(value: str | None) -> bool:
        return bool(value) and state.token is not None and hmac.compare_digest(
            value.encode(), state.token.encode())  # type: ignore[union-attr]

    @app.before_request
    def guard() -> Any:
        api = request.path.startswith("/api/")
        if state.token is None and not is_loopback(_host_name(request.host)):
            message = f"host {request.host!r} is not loopback (set a token to serve others)"
            return _json_error(403, message) if api else (message, 403)
        if state.token is not None:
            value, how = supplied_token()
            if not token_ok(value):
                if api:
                    return _json_error(401, "missing or wrong token",
                                       "send 'Authorization: Bearer <token>' or 'X-Api-Token'")
                if request.endpoint == "static":
                    return None
                if token_ok(request.args.get("token")):
                    resp = redirect(request.path)
                    resp.set_cookie(COOKIE, request.args["token"], httponly=True,
                                    samesite="Strict")
                    return resp
                return render_template("login.html"), 401
        if api and request.method == "POST" and not request.is_json:
            return _json_error(415, "send a JSON body with Content-Type: application/json",
                               "an empty object {} is fine where nothing is needed")
        return None

    @app.errorhandler(UsageError)
    def usage_error(exc: UsageError) -> Any:
        if request.path.startswith("/api/"):
            return _json_error(400, exc.message, exc.hint)
        return render_template("error.html", message=exc.one_line()), 400

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> Any:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return _json_error(400, f"{where}: {first.get('msg', 'invalid')}")

    @app.errorhandler(UnknownId)
    def not_found(exc: UnknownId) -> Any:
        message = str(exc.args[0]) if exc.args else "not found"
        if request.path.startswith("/api/"):
            return _json_error(404, message)
        return render_template("error.html", message=message), 404

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return _json_error(exc.code or 500, exc.description or exc.name)
        return render_template("error.html", message=f"{exc.code} {exc.name}"), exc.code

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise UsageError("the body must be a JSON object")
        return data

    # -- pages --------------------------------------------------------------------------------

    @app.get("/")
    def index() -> Any:
        return render_template("index.html", **pages.index_context())

    @app.get("/incidents/<incident_id>")
    def incident_page(incident_id: str) -> Any:
        return render_template("incident.html",
                               **pages.incident_context(jobs, state.trace_log, incident_id))

    @app.get("/scorecard")
    def scorecard_page() -> Any:
        group_by = request.args.get("group_by", "skill")
        pages.scorecard(state.trace_log, group_by)  # bad group_by: 400 here, not in the frame
        return render_template("scorecard.html", group_by=group_by,
                               choices=pages.GROUP_BY_CHOICES)

    @app.get("/scorecard/report.html")
    def scorecard_report() -> Any:
        from sre_agent.scorecard import to_html

        card = pages.scorecard(state.trace_log, request.args.get("group_by", "skill"))
        return Response(to_html(card), mimetype="text/html")

    # -- API ----------------------------------------------------------------------------------

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return openapi_schema()

    @app.get("/api/state")
    def api_state() -> Any:
        return jobs.snapshot()

    @app.get("/api/scenarios")
    def api_scenarios() -> Any:
        from sre_agent.scenarios import catalogue

        return {"scenarios": [s.model_dump(mode="json") for s in catalogue()]}

    @app.get("/api/jobs")
    def api_jobs() -> Any:
        return {"jobs": jobs.snapshot()["jobs"]}

    @app.post("/api/jobs")
    def api_start() -> Any:
        view = jobs.start(JobStart.model_validate(body()))
        return view.model_dump(mode="json"), 202

    @app.get("/api/jobs/<job_id>")
    def api_job(job_id: str) -> Any:
        return jobs.job(job_id).model_dump(mode="json")

    @app.post("/api/jobs/<job_id>/stop")
    def api_stop(job_id: str) -> Any:
        return jobs.stop(job_id).model_dump(mode="json")

    @app.get("/api/incidents/<incident_id>")
    def api_incident(incident_id: str) -> Any:
        return pages.incident_data(jobs, state.trace_log, incident_id)

    @app.post("/api/incidents/<incident_id>/cancel")
    def api_cancel(incident_id: str) -> Any:
        cancelled = jobs.cancel_incident(incident_id)
        return {"incident_id": incident_id, "cancelled": cancelled,
                "reason": None if cancelled else "the incident is not running"}

    @app.get("/api/confirmations")
    def api_confirmations() -> Any:
        wanted = request.args.get("state", "pending")
        return {"confirmations": [c.model_dump(mode="json") for c in
                                  jobs.confirmations(None if wanted == "all" else wanted)]}

    @app.post("/api/confirmations/<confirmation_id>")
    def api_answer(confirmation_id: str) -> Any:
        data = body()
        approve = data.get("approve")
        if not isinstance(approve, bool):
            raise UsageError("'approve' must be true or false")
        reason = data.get("reason") or ""
        if not isinstance(reason, str):
            raise UsageError("'reason' must be a string")
        try:
            item = jobs.answer(confirmation_id, approve, reason)
        except UsageError as exc:
            return _json_error(409, exc.message)
        return item.model_dump(mode="json")

    @app.get("/api/scorecard")
    def api_scorecard() -> Any:
        from sre_agent.scorecard import to_json

        card = pages.scorecard(state.trace_log, request.args.get("group_by", "skill"))
        return Response(to_json(card), mimetype="application/json")

    @app.post("/api/alerts")
    def api_alerts() -> Any:
        result = intake(request.get_json(silent=True), jobs, state.alert_defaults)
        return result.model_dump(mode="json"), 202 if result.started else 200

    @app.get("/api/events")
    def api_events() -> Any:
        sub = jobs.subscribe()

        def stream() -> Iterator[str]:
            try:
                yield f"retry: 2000\n: connected {time.time():.3f}\n\n"
                while True:
                    event = sub.get(timeout=state.keepalive_s)
                    if event is None:
                        if sub.dropped or jobs.closed:
                            return
                        yield ": keepalive\n\n"
                        continue
                    yield (f"id: {event['seq']}\nevent: {event['type']}\n"
                           f"data: {json.dumps(event['data'], default=str)}\n\n")
            finally:
                jobs.unsubscribe(sub)

        return Response(stream(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app
