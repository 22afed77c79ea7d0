"""The incidents one web server knows: their records (what the table shows), live actions and
trace rows, kept bounded. The job manager owns the lock: every call is made holding it.

`/api/state` and the event stream carry compact records (`live_record`: strings cut at
`MAX_LIVE_TEXT`, an alert's labels and annotations left to `/api/incidents/<id>`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from sre_agent.fleet import IncidentView
from sre_agent.traces import TraceRow
from sre_agent.web.limits import clip_strings
from sre_agent.web.schemas import IncidentRecord, UnknownId

# Incident states: the fan-out's, plus two for alerts that never got a sandbox.
FINAL_STATES = ("done", "lost", "not_started", "resolved")
OPEN_STATES = ("queued", "starting", "agent", "verifying", "needs_human")
_ALERT_SUMMARY = ("fingerprint", "alertname", "receiver", "route")  # what /api/state shows


@dataclasses.dataclass
class Incident:
    record: IncidentRecord
    actions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    row: dict[str, Any] | None = None


def live_record(record: IncidentRecord) -> dict[str, Any]:
    """An incident as `/api/state` and the event stream show it (compact, bounded)."""
    data = record.model_dump(mode="json")
    if data.get("alert"):
        data["alert"] = {k: data["alert"].get(k) for k in _ALERT_SUMMARY}
    return clip_strings(data)


class IncidentStore:
    """Incident records by id, the run ids that lead to them, and who waits for a slot."""

    def __init__(self, publish: Callable[[str, Any], None]) -> None:
        self._publish = publish
        self._items: dict[str, Incident] = {}
        self._by_run: dict[str, str] = {}
        self._waiting: set[str] = set()  # incidents waiting for a sandbox slot

    def add(self, record: IncidentRecord) -> None:
        self._items[record.id] = Incident(record)
        self.changed(record)

    def get(self, incident_id: str) -> Incident:
        inc = self._items.get(incident_id)
        if inc is None:
            raise UnknownId(f"no incident {incident_id!r}")
        return inc

    def find(self, incident_id: str) -> Incident | None:
        return self._items.get(incident_id)

    def for_run(self, run_id: str) -> str:
        return self._by_run.get(run_id) or run_id

    def changed(self, record: IncidentRecord) -> None:
        self._publish("incident", live_record(record))

    def with_fingerprint(self, fingerprint: str) -> IncidentRecord | None:
        """The open incident raised by the alert with this fingerprint, if any."""
        for inc in self._items.values():
            alert = inc.record.alert or {}
            if alert.get("fingerprint") == fingerprint and inc.record.state in OPEN_STATES:
                return inc.record.model_copy(deep=True)
        return None

    def count(self, *, states: tuple[str, ...], job_ids: set[str] | None = None) -> int:
        return sum(1 for i in self._items.values() if i.record.state in states
                   and (job_ids is None or i.record.job_id in job_ids))

    def set_waiting(self, incident_id: str, waiting: bool, started: bool = False) -> None:
        """An incident starts (or stops) waiting for a slot; `started`: it got one."""
        (self._waiting.add if waiting else self._waiting.discard)(incident_id)
        inc = self._items.get(incident_id)
        if inc is None or inc.record.state in FINAL_STATES:
            return
        if waiting:
            inc.record.state, inc.record.started_at = "queued", None
        elif started:
            inc.record.state, inc.record.started_at = "starting", time.time()
        self.changed(inc.record)

    def update(self, incident_id: str, view: IncidentView, action: Any = None) -> None:
        """Apply a fan-out event's incident view (and its action, if any) to the record."""
        inc = self._items.get(incident_id)
        if inc is None:  # pruned
            return
        self._by_run[view.run_id] = incident_id
        rec = inc.record
        waiting = incident_id in self._waiting and view.state == "starting"
        rec.scenario, rec.seed, rec.run_id = view.scenario, view.seed, view.run_id
        rec.state = "queued" if waiting else view.state
        rec.skill = view.skill or rec.skill
        rec.steps, rec.highest_risk = view.steps, view.highest_risk
        rec.status, rec.service_up, rec.correct = view.status, view.service_up, view.correct
        rec.expected, rec.ttm_s, rec.error = view.expected, view.ttm_s, view.error
        if not waiting:
            rec.started_at = rec.started_at or view.started_at
        rec.ended_at = view.ended_at
        if action is not None:
            data = action.model_dump(mode="json") if hasattr(action, "model_dump") \
                else dict(action)
            inc.actions.append(data)
            self._publish("action", {"incident_id": incident_id, "action": data})
        self.changed(rec)

    def row_done(self, incident_id: str, row: TraceRow) -> None:
        inc = self._items.get(incident_id)
        if inc is not None:
            inc.row = row.model_dump(mode="json")
            inc.record.model = row.model
            inc.record.reason = row.reason

    def set_pending(self, incident_id: str, count: int) -> None:
        inc = self._items.get(incident_id)
        if inc is not None:
            inc.record.pending = count
            self.changed(inc.record)

    def resolve(self, incident_id: str, why: str) -> None:
        """Close a needs-human incident (its alert resolved)."""
        inc = self.get(incident_id)
        if inc.record.state == "needs_human":
            inc.record.state = "resolved"
            inc.record.ended_at = time.time()
            inc.record.reason = f"{inc.record.reason}; {why}"
            self.changed(inc.record)

    def prune(self, keep: int, active_jobs: set[str]) -> set[str]:
        """Forget the oldest finished incidents past `keep` (never one of an active job);
        returns the ids forgotten."""
        final = sorted((i for i in self._items.values() if i.record.state in FINAL_STATES
                        and i.record.job_id not in active_jobs),
                       key=lambda i: i.record.created_at)
        gone = {i.record.id for i in final[:max(0, len(final) - keep)]}
        for incident_id in gone:
            del self._items[incident_id]
        if gone:
            self._by_run = {r: i for r, i in self._by_run.items() if i not in gone}
        return gone

    def live(self) -> list[dict[str, Any]]:
        """Every incident, newest first, as `/api/state` shows it."""
        ordered = sorted(self._items.values(),
                         key=lambda i: (i.record.created_at, i.record.index or 0), reverse=True)
        return [live_record(i.record) for i in ordered]
