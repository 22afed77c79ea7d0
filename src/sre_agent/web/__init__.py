"""The web UI of `sre-agent serve`: watch and drive incidents in a browser.

`create_app(WebState(jobs=JobManager(trace_log, queue=...)))` builds the Flask app;
`JobManager` runs jobs (one incident or a fan-out) in background threads and streams their
state, storing each in the durable queue before it answers; `recover(jobs)` shows (and
resumes) what a restarted server had; `alerts` turns Alertmanager webhooks into incidents.
Every limit the server enforces is declared in `sre_agent.web.limits`; the request checks
(host, origin, JSON) are in `security`.
"""

from sre_agent.web.alerts import AlertDecision, AlertIntakeResult, intake
from sre_agent.web.app import WebState, create_app
from sre_agent.web.jobs import JobManager
from sre_agent.web.recovery import Recovered, recover
from sre_agent.web.schemas import (
    Busy,
    Confirmation,
    IncidentRecord,
    JobStart,
    JobView,
    TooLarge,
    UnknownId,
)
from sre_agent.web.security import check_bind

__all__ = ["AlertDecision", "AlertIntakeResult", "Busy", "Confirmation", "IncidentRecord",
           "JobManager", "JobStart", "JobView", "Recovered", "TooLarge", "UnknownId", "WebState",
           "check_bind", "create_app", "intake", "recover"]
