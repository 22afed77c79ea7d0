"""`sre-agent serve`: the web UI (watch and drive incidents in a browser)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from werkzeug.serving import make_server

from sre_agent import paths
from sre_agent.cli import _options as opt
from sre_agent.cli._options import RISK_HELP, risk_level
from sre_agent.cli._output import note
from sre_agent.errors import UsageError
from sre_agent.fleet import open_queue
from sre_agent.fleet.queue import QUEUE_URL_ENV
from sre_agent.traces import check_trace_log
from sre_agent.web import JobManager, JobStart, WebState, check_bind, create_app, recover

TOKEN_ENV = "SRE_AGENT_WEB_TOKEN"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the server like Ctrl-C: runs torn down, traced


def command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback "
                             "unless --allow-remote)."),
    port: int = typer.Option(8008, "--port", min=0, max=65535,
                             help="Port (0: any free port; the URL is printed)."),
    token: Optional[str] = typer.Option(  # noqa: UP045 (typer needs Optional)
        None, "--token", envvar=TOKEN_ENV, show_envvar=True,
        help="Access token: every /api request then needs 'Authorization: Bearer <token>' "
        "or 'X-Api-Token'; pages ask for it once. Optional on loopback."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Allow a non-loopback --host (needs --token)."),
    trace_log: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--trace-log", help="Trace log runs append to and the scorecard reads "
        "(default: artifacts/runs/trace_log.jsonl)."),
    confirm_timeout_s: float = typer.Option(
        300.0, "--confirm-timeout-s", min=1.0,
        help="A risky action nobody approves within this time is rejected."),
    alert_confirm_risk: Optional[str] = typer.Option(  # noqa: UP045
        None, "--alert-confirm-risk", help=f"Runs started by alerts ask the UI before "
        f"actions at or above this risk ({RISK_HELP})."),
    stop_wait_s: float = typer.Option(60.0, "--stop-wait-s", min=0.0,
                                      help="On stop or shutdown: wait this long for "
                                      "cancelled runs to tear down and write their trace."),
    max_in_flight: int = typer.Option(
        4, "--max-in-flight", min=1, help="Incidents holding a sandbox at once, over every "
        "job and alert; the others wait as 'queued' (default 4)."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every HTTP request."),
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
    queue: Optional[str] = typer.Option(  # noqa: UP045
        None, "--queue", envvar=QUEUE_URL_ENV, show_envvar=True,
        help="Durable queue URL (default: SQLite under artifacts/): every job, incident and "
        "alert is stored there before it is answered; a restarted server shows them all and "
        "resumes the unfinished ones."),
    lease_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--lease-s", min=0.5, help="Lease of a running incident (default 30 s): a dead "
        "holder's incident runs again after it."),
) -> None:
    """Serve the web UI: start runs and fan-outs, watch them live, approve risky actions,
    read scorecards, and take Prometheus Alertmanager webhooks at POST /api/alerts.

    Listens on 127.0.0.1:8008 by default. Any other address needs --allow-remote and a
    --token (at least 16 characters). The JSON API is described at /api/openapi.json.
    Ctrl-C (or SIGTERM) cancels the runs in flight, waits for them to tear down and write
    their trace rows (at most --stop-wait-s), then exits 130. Jobs, incidents and alerts are
    stored in the durable queue (--queue) before they are answered: if the server is killed,
    the next start shows them and runs what was not finished.
    """
    opt.use_scenario_paths(scenario_path)
    check_bind(host, token, allow_remote)
    log_path = trace_log or paths.default_trace_log()
    check_trace_log(log_path)
    store = open_queue(queue, **({"lease_s": lease_s} if lease_s else {}))
    jobs = JobManager(log_path, confirm_timeout_s=confirm_timeout_s, stop_wait_s=stop_wait_s,
                      max_in_flight=max_in_flight, queue=store)
    state = WebState(jobs=jobs, trace_log=log_path, token=token or None, bind_host=host,
                     alert_defaults=JobStart(confirm_risk=risk_level(alert_confirm_risk,
                                                                "--alert-confirm-risk")))
    app = create_app(state)
    logging.getLogger("werkzeug").setLevel(logging.INFO if access_log else logging.WARNING)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         "pick another --port (0: any free one)") from None
    found = recover(jobs)  # what this server had before a restart (or a crash)
    if found.resumed or found.shown or found.needs_human:
        note(f"queue {store.url}: resumed {len(found.resumed)} unfinished job(s), "
             f"{len(found.shown)} shown as they ended, {found.needs_human} alert(s) for humans")
    for error in found.errors:
        note(f"could not recover {error}")
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.write(f"sre-agent web UI on http://{shown}:{server.server_port}/\n")
    sys.stdout.flush()
    note(f"trace log: {log_path}" + ("; token required" if token else "")
         + f"; at most {max_in_flight} sandboxes at once; Ctrl-C to stop")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()  # returns on Ctrl-C/SIGTERM (werkzeug swallows the interrupt)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        note(f"stopping: cancelling runs in flight (waiting at most {stop_wait_s:g}s)")
        left = jobs.shutdown(wait_s=stop_wait_s + 5)
        if left:
            note(f"still running after the wait: {', '.join(left)}")
        store.close()
    raise KeyboardInterrupt  # exit 130, like every interrupted command
