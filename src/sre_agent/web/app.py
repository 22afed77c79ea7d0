"""The web UI: a Flask app over the job manager, the trace log and the scorecard.

Pages: `/` (start runs and fan-outs, the live incident table, pending confirmations),
`/incidents/<id>` (timeline, skill, verifier probes), `/scorecard` (the same report as
`sre-agent scorecard --format html`). The JSON API behind them lives under `/api` (schema:
`/api/openapi.json`); live updates are server-sent events (`/api/events`).

Access (`security`): on loopback a token is optional; anything else needs `allow_remote` and
a token (`check_bind`). With a token, every `/api` request needs `Authorization: Bearer
<token>` or `X-Api-Token: <token>` (a browser that opened a page with `?token=` gets an
HttpOnly, SameSite=Strict cookie instead). Without a token, or when bound to loopback, the
Host header must name a loopback address (no DNS rebinding). A state-changing request
(POST/PUT/PATCH/DELETE) that carries an `Origin` header must come from the server's own
origin (403 otherwise); it must be JSON (`Content-Type: application/json`, 415 otherwise),
which a cross-site form cannot send.

Hostile input (`limits`): a body over `MAX_BODY_BYTES` (1 MiB) is a 413 and is never read
(chunked bodies stop at the limit); malformed or too deeply nested JSON is a 400; a server at
its capacity answers 429; an unexpected failure is a 500 whose log line holds no request
body. Every JSON response, event and incident page passes through the secret redactor
(`sre_agent.safety.redact`) on its way out.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, redirect, render_template, request
from flask.json.provider import DefaultJSONProvider
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue
from sre_agent.safety import Redactor
from sre_agent.scoring import to_html, to_json
from sre_agent.web import pages
from sre_agent.web.alerts import intake
from sre_agent.web.jobs import JobManager
from sre_agent.web.limits import MAX_BODY_BYTES
from sre_agent.web.openapi import openapi_schema
from sre_agent.web.schemas import Busy, JobStart, TooLarge, UnknownId
from sre_agent.web.security import (
    STATE_CHANGING,
    host_allowed,
    origin_allowed,
    parse_json_body,
)

__all__ = ["WebState", "create_app"]

COOKIE = "sre_agent_token"
RETRY_AFTER_S = 30
TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES} bytes"
log = logging.getLogger(__name__)


@dataclasses.dataclass
class WebState:
    """What the app serves: the job manager, the trace log, the access settings."""

    jobs: JobManager
    trace_log: Path | None = None
    token: str | None = None
    alert_defaults: JobStart = dataclasses.field(default_factory=JobStart)
    keepalive_s: float = 15.0  # SSE comment period (keeps proxies and idle streams open)
    bind_host: str = "127.0.0.1"  # the address the server listens on (see security)
    redactor: Redactor = dataclasses.field(default_factory=Redactor.from_environment)


class _RedactingJSON(DefaultJSONProvider):
    """Flask's JSON, with every secret redacted before it is serialised."""

    def __init__(self, app: Flask, redactor: Redactor) -> None:
        super().__init__(app)
        self.redactor = redactor

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(self.redactor.redact_obj(obj), **kwargs)


def _json_error(status: int, message: str, hint: str | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    resp = current_app.json.response(body)
    resp.status_code = status
    return resp


def create_app(state: WebState) -> Flask:
    """The Flask app for `state` (threaded serving expected: SSE streams hold a thread)."""
    app = Flask(__name__, template_folder="templates", static_folder="static")
    # Werkzeug stops a streamed (chunked) body at this many bytes, so one byte past the limit
    # tells a body over it from one exactly at it (`_body_bytes`); never more is read.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    app.json = _RedactingJSON(app, state.redactor)
    app.extensions["sre_agent"] = state
    _install_guard(app, state)
    _install_error_handlers(app, state)
    _install_pages(app, state)
    _install_api(app, state)
    return app


def _install_guard(app: Flask, state: WebState) -> None:
    def supplied_token() -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        if request.headers.get("X-Api-Token"):
            return request.headers["X-Api-Token"].strip()
        return request.cookies.get(COOKIE)

    def token_ok(value: str | None) -> bool:
        return bool(value) and state.token is not None and hmac.compare_digest(
            value.encode(), state.token.encode())  # type: ignore[union-attr]

    def refuse(status: int, message: str, hint: str | None = None) -> Any:
        if request.path.startswith("/api/"):
            return _json_error(status, message, hint)
        return Response(state.redactor.redact(message), status, mimetype="text/plain")

    @app.before_request
    def guard() -> Any:
        api = request.path.startswith("/api/")
        if not host_allowed(request.host, token=state.token, bind_host=state.bind_host):
            return refuse(403, f"host {request.host!r} is not loopback (set a token and "
                          "--allow-remote to serve others)")
        changing = request.method in STATE_CHANGING
        if changing and not origin_allowed(request.headers.get("Origin"), scheme=request.scheme,
                                           host_header=request.host):
            return refuse(403, "cross-origin request refused: the Origin header is not this "
                          "server's", "send it from the UI's own page, or without Origin")
        if state.token is not None and not token_ok(supplied_token()):
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
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return refuse(413, TOO_LARGE)  # refused before a byte of it is read
        if api and request.method == "POST" and not request.is_json:
            return _json_error(415, "send a JSON body with Content-Type: application/json",
                               "an empty object {} is fine where nothing is needed")
        return None


def _install_error_handlers(app: Flask, state: WebState) -> None:
    def page_error(message: str, status: int) -> Any:
        return render_template("error.html",
                               message=state.redactor.redact(message)), status

    @app.errorhandler(UsageError)
    def usage_error(exc: UsageError) -> Any:
        status = 413 if isinstance(exc, TooLarge) else 400
        if request.path.startswith("/api/"):
            return _json_error(status, exc.message, exc.hint)
        return page_error(exc.one_line(), status)

    @app.errorhandler(Busy)
    def busy(exc: Busy) -> Any:
        resp = _json_error(429, exc.message, exc.hint)
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp

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
        return page_error(message, 404)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/") or exc.code == 413:
            return _json_error(exc.code or 500, exc.description or exc.name)
        return page_error(f"{exc.code} {exc.name}", exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        # The traceback's frames, not its message: a message may quote the request body.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unexpected %s in %s %s (message and body not logged)\n%s",
                  type(exc).__name__, request.method, state.redactor.redact(request.path),
                  frames)
        if request.path.startswith("/api/"):
            return _json_error(500, "internal error", "the server log has the details")
        return page_error("500 internal error", 500)


def _body_bytes() -> bytes:
    """The request body, read up to one byte past the limit at most (413 past it)."""
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:
        raise TooLarge(TOO_LARGE)
    return data


def _body_value() -> Any:
    """The request's JSON value (413 past the body limit, 400 when malformed)."""
    return parse_json_body(_body_bytes())


def _body() -> dict[str, Any]:
    data = _body_value()
    if not isinstance(data, dict):
        raise UsageError("the body must be a JSON object")
    return data


def _install_pages(app: Flask, state: WebState) -> None:
    jobs = state.jobs

    @app.get("/")
    def index() -> Any:
        return render_template("index.html", **pages.index_context())

    @app.get("/incidents/<incident_id>")
    def incident_page(incident_id: str) -> Any:
        context = pages.incident_context(jobs, state.trace_log, incident_id)
        return render_template("incident.html", **state.redactor.redact_obj(context))

    @app.get("/scorecard")
    def scorecard_page() -> Any:
        group_by = request.args.get("group_by", "skill")
        pages.scorecard(state.trace_log, group_by)  # bad group_by: 400 here, not in the frame
        return render_template("scorecard.html", group_by=group_by,
                               choices=pages.GROUP_BY_CHOICES)

    @app.get("/scorecard/report.html")
    def scorecard_report() -> Any:
        card = pages.scorecard(state.trace_log, request.args.get("group_by", "skill"))
        return Response(state.redactor.redact(to_html(card)), mimetype="text/html")


def _install_api(app: Flask, state: WebState) -> None:
    jobs = state.jobs

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        return openapi_schema()

    @app.get("/api/state")
    def api_state() -> Any:
        return jobs.snapshot()

    @app.get("/api/scenarios")
    def api_scenarios() -> Any:
        return {"scenarios": [s.model_dump(mode="json") for s in catalogue()]}

    @app.get("/api/jobs")
    def api_jobs() -> Any:
        return {"jobs": jobs.snapshot()["jobs"]}

    @app.post("/api/jobs")
    def api_start() -> Any:
        view = jobs.start(JobStart.model_validate(_body()))
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
        data = _body()
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
        card = pages.scorecard(state.trace_log, request.args.get("group_by", "skill"))
        return Response(state.redactor.redact(to_json(card)), mimetype="application/json")

    @app.post("/api/alerts")
    def api_alerts() -> Any:
        result = intake(_body_value(), jobs, state.alert_defaults)
        return result.model_dump(mode="json"), 202 if result.started else 200

    @app.get("/api/events")
    def api_events() -> Any:
        sub = jobs.subscribe()  # Busy (429) when too many streams are open
        redact = state.redactor.redact_obj

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
                           f"data: {json.dumps(redact(event['data']), default=str)}\n\n")
            except Exception as exc:  # the stream ends; the browser reconnects
                log.error("event stream ended by %s", type(exc).__name__)
            finally:
                jobs.unsubscribe(sub)

        return Response(stream(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
