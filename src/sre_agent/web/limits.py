"""Every limit of the web server, declared once (the models, the intake paths, the job
manager, the app and the OpenAPI document all read them from here).

Requests:
- a body is at most `MAX_BODY_BYTES` (1 MiB); a larger one is refused with 413 before it is
  read (Content-Length) or as soon as the stream passes the limit (chunked bodies);
- JSON nests at most `MAX_JSON_DEPTH` levels (deeper, or unparsable: 400).

Fields, the same on every intake path (`POST /api/jobs` rejects what is over a cap with 400;
`POST /api/alerts` truncates over-long strings, since Alertmanager cannot fix a payload):
- incident text: `MAX_INCIDENT_TEXT` characters (an alert's composed text is cut there);
- label and annotation values: `MAX_LABEL_VALUE` characters; names: `MAX_LABEL_NAME`;
- labels (or annotations) per alert: `MAX_LABELS_PER_ALERT` (more: that alert is ignored);
- alerts per Alertmanager payload: `MAX_ALERTS_PER_PAYLOAD` (more: 413, nothing starts);
- incidents per job: `MAX_INCIDENTS_PER_JOB`; scenarios named per job: `MAX_SCENARIOS`;
  seeds within ±`MAX_SEED` (an alert's `seed` label too: outside, that alert is ignored).

Capacity, over all requests and jobs of one server:
- `DEFAULT_MAX_IN_FLIGHT` incidents hold a sandbox at once; the others wait as `queued`;
- `MAX_OPEN_INCIDENTS` incidents queued, running or waiting for a human; `MAX_ACTIVE_JOBS`
  jobs not finished (past either: 429, or an alert ignored as "server busy");
- `MAX_RETAINED_INCIDENTS` finished incidents and `MAX_RETAINED_JOBS` finished jobs are kept
  (oldest forgotten first; their trace rows stay in the log);
- strings in `/api/state` and the event stream are cut at `MAX_LIVE_TEXT` characters (the
  whole incident is at `/api/incidents/<id>`); `MAX_SUBSCRIBERS` event streams at once.
"""

from __future__ import annotations

from typing import Any

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32

MAX_INCIDENT_TEXT = 8000
MAX_MODEL_NAME = 200
MAX_NAME = 128  # a scenario name, a fingerprint, a receiver, a label or annotation name
MAX_LABEL_NAME = MAX_NAME
MAX_LABEL_VALUE = 1000
MAX_LABELS_PER_ALERT = 64
MAX_ALERTS_PER_PAYLOAD = 100
MAX_INCIDENTS_PER_JOB = 500
MAX_SCENARIOS = 64
MAX_JOB_CONCURRENCY = 64
MAX_SEED = 2**31  # seeds are within ±MAX_SEED
MAX_REASON = 500  # an operator's reason for approving or rejecting an action

DEFAULT_MAX_IN_FLIGHT = 4
MAX_OPEN_INCIDENTS = 500
MAX_ACTIVE_JOBS = 50
MAX_RETAINED_INCIDENTS = 500
MAX_RETAINED_JOBS = 200
MAX_LIVE_TEXT = 1000
MAX_SUBSCRIBERS = 32

TRUNCATED = "…[truncated]"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked when it was cut."""
    if len(text) <= limit:
        return text
    return text[:max(0, limit - len(TRUNCATED))] + TRUNCATED


def clip_strings(obj: Any, limit: int = MAX_LIVE_TEXT) -> Any:
    """A copy of a JSON-like object with every string cut to `limit` characters."""
    if isinstance(obj, str):
        return clip(obj, limit)
    if isinstance(obj, dict):
        return {k: clip_strings(v, limit) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clip_strings(v, limit) for v in obj]
    return obj


def as_dict() -> dict[str, int]:
    """Every limit above by its lower-case name (the OpenAPI document's `x-limits`)."""
    return {name.lower(): value for name, value in globals().items()
            if name.startswith(("MAX_", "DEFAULT_")) and isinstance(value, int)}
