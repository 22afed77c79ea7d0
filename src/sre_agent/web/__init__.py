"""The web UI of `sre-agent serve`: watch and drive incidents in a browser.

`create_app(WebState(jobs=JobManager(trace_log)))` builds the Flask app; `JobManager` runs
jobs (one incident or a fan-out) in background threads and streams their state; `alerts`
turns Alertmanager webhooks into incidents.
"""

from sre_agent.web.alerts import AlertDecision, AlertIntakeResult, intake
from sre_agent.web.app import WebState, check_bind, create_app, is_loopback
from sre_agent.web.jobs import JobManager
from sre_agent.web.models import Confirmation, IncidentRecord, JobStart, JobView, UnknownId

__all__ = ["AlertDecision", "AlertIntakeResult", "Confirmation", "IncidentRecord", "JobManager",
           "JobStart", "JobView", "UnknownId", "WebState", "check_bind", "create_app",
           "intake", "is_loopback"]
