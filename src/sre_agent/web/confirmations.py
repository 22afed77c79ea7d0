"""Risky actions waiting for an operator: a run's confirmer parks the action here as a
`Confirmation` and blocks until the page (or the API) answers, the run is cancelled, the
server shuts down, or `timeout_s` passes (then it is rejected: nobody said yes).

The board shares the job manager's lock and reports through its callbacks (`publish` for
the event stream, `on_pending` when an incident's count of waiting actions changes).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sre_agent.agent import ConfirmAnswer, Confirmer, PendingAction
from sre_agent.errors import UsageError
from sre_agent.web.limits import MAX_REASON, clip
from sre_agent.web.schemas import Confirmation, UnknownId

WAIT_POLL_S = 0.2


class ConfirmationBoard:
    """The confirmations of every incident of one server."""

    def __init__(self, lock: threading.RLock, timeout_s: float, *,
                 publish: Callable[[str, Any], None], on_pending: Callable[[str, int], None],
                 closed: Callable[[], bool]) -> None:
        self.timeout_s = timeout_s
        self._lock = lock
        self._publish = publish
        self._on_pending = on_pending
        self._closed = closed
        self._items: dict[str, Confirmation] = {}
        self._answered: dict[str, threading.Event] = {}

    def confirmer(self, incident_id: str, run_id: str | None,
                  cancel: threading.Event | None) -> Confirmer:
        """A confirmer for one incident's run: parks the action and waits for an answer."""

        def confirm(pending: PendingAction) -> ConfirmAnswer:
            now = time.time()
            item = Confirmation(id=f"cf-{uuid.uuid4().hex[:10]}", incident_id=incident_id,
                                run_id=run_id, tool=pending.tool, command=pending.command,
                                risk=pending.risk, reasons=list(pending.reasons),
                                created_at=now, expires_at=now + self.timeout_s)
            answered = threading.Event()
            with self._lock:
                self._items[item.id] = item
                self._answered[item.id] = answered
                self._count(incident_id)
                self._publish("confirmation", item)
            deadline = time.monotonic() + self.timeout_s
            while not answered.wait(WAIT_POLL_S):
                if cancel is not None and cancel.is_set():
                    self._settle(item.id, "cancelled", "the run was cancelled")
                elif self._closed():
                    self._settle(item.id, "cancelled", "the server is shutting down")
                elif time.monotonic() >= deadline:
                    self._settle(item.id, "expired",
                                 f"nobody answered within {self.timeout_s:g}s")
            with self._lock:
                final = self._items.get(item.id, item)
                return ConfirmAnswer(final.state == "approved", final.answer_reason)

        return confirm

    def answer(self, confirmation_id: str, approve: bool, reason: str = "") -> Confirmation:
        """Approve or reject a pending confirmation; UsageError if already settled."""
        with self._lock:
            item = self._items.get(confirmation_id)
            if item is None:
                raise UnknownId(f"no confirmation {confirmation_id!r}")
            if item.state != "pending":
                raise UsageError(f"confirmation {confirmation_id} is already {item.state}")
            default = "approved from the web UI" if approve else "rejected from the web UI"
            self._settle(confirmation_id, "approved" if approve else "rejected",
                         clip(reason.strip(), MAX_REASON) or default)
            return self._items[confirmation_id].model_copy()

    def listed(self, state: str | None = "pending", incident_id: str | None = None
               ) -> list[Confirmation]:
        """Copies of the confirmations in `state` (None: all), of one incident if given."""
        with self._lock:
            return [c.model_copy() for c in self._items.values()
                    if (state is None or c.state == state)
                    and (incident_id is None or c.incident_id == incident_id)]

    def forget(self, incident_ids: set[str]) -> None:
        """Drop the confirmations of incidents the manager no longer keeps."""
        with self._lock:
            for cid in [c.id for c in self._items.values() if c.incident_id in incident_ids]:
                del self._items[cid]
                self._answered.pop(cid, None)

    def _settle(self, confirmation_id: str, state: str, reason: str) -> None:
        with self._lock:
            item = self._items.get(confirmation_id)
            if item is None or item.state != "pending":
                return
            item.state = state  # type: ignore[assignment]
            item.answer_reason = reason
            item.answered_at = time.time()
            self._answered[confirmation_id].set()
            self._count(item.incident_id)
            self._publish("confirmation", item)

    def _count(self, incident_id: str) -> None:
        self._on_pending(incident_id, sum(1 for c in self._items.values()
                                          if c.incident_id == incident_id
                                          and c.state == "pending"))
