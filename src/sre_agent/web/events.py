"""The event stream behind `/api/events`: every state change as a plain dict
(`{"seq", "type", "data"}`) put on each subscriber's bounded queue.

A subscriber that falls behind is dropped (its stream ends, the browser reconnects and
re-reads the state); at most `max_subscribers` streams are open at once (each holds a server
thread). Strings in event data are cut at `MAX_LIVE_TEXT` characters, like `/api/state`.
"""

from __future__ import annotations

import itertools
import queue
import threading
from typing import Any

from pydantic import BaseModel

from sre_agent.web.limits import MAX_SUBSCRIBERS, clip_strings
from sre_agent.web.schemas import Busy


class Subscription:
    """One event-stream reader: a bounded queue; `dropped` when it fell too far behind."""

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize)
        self.dropped = False

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds (or when the hub closed)."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class EventHub:
    """Fans state changes out to the subscribers' queues."""

    def __init__(self, queue_size: int, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._seq = itertools.count(1)

    def subscribe(self) -> Subscription:
        """A new subscription; Busy when `max_subscribers` streams are open."""
        with self._lock:
            if len(self._subs) >= self.max_subscribers:
                raise Busy(f"too many event streams open ({self.max_subscribers})",
                           "close another tab or retry later")
            sub = Subscription(self.queue_size)
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, kind: str, data: Any) -> None:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        event = {"seq": next(self._seq), "type": kind, "data": clip_strings(payload)}
        with self._lock:
            for sub in list(self._subs):
                try:
                    sub.queue.put_nowait(event)
                except queue.Full:  # too slow: drop it; the browser reconnects and re-reads
                    sub.dropped = True
                    self._subs.remove(sub)

    def close(self) -> None:
        """End every stream (shutdown)."""
        with self._lock:
            for sub in self._subs:
                try:
                    sub.queue.put_nowait(None)
                except queue.Full:
                    sub.dropped = True
            self._subs.clear()
