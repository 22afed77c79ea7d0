"""The event stream (server-sent events): incident updates, and a cap on open streams."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.web import limits
from sre_agent.web.events import EventHub
from sre_agent.web.schemas import Busy
from tests.web.helpers import start


def test_events_stream_incident_updates(client: FlaskClient) -> None:
    resp = client.get("/api/events", buffered=False)
    assert resp.mimetype == "text/event-stream"
    chunks = (c.decode() if isinstance(c, bytes) else c for c in resp.response)
    assert next(chunks).startswith("retry:")
    start(client, scenarios=["port_mismatch"])
    seen = ""
    deadline = time.monotonic() + 15
    while "event: incident" not in seen or '"status": "fixed"' not in seen:
        assert time.monotonic() < deadline, "no incident event on the stream"
        seen += next(chunks)
    assert "event: job" in seen and "event: action" in seen
    resp.close()


def test_event_streams_are_capped() -> None:
    hub = EventHub(queue_size=4, max_subscribers=2)
    hub.subscribe()
    hub.subscribe()
    with pytest.raises(Busy):
        hub.subscribe()


def test_an_event_stream_past_the_cap_is_429(serve: Any) -> None:
    server = serve()
    subs = [server.jobs.subscribe() for _ in range(limits.MAX_SUBSCRIBERS)]
    assert server.client.get("/api/events").status_code == 429
    server.jobs.unsubscribe(subs[0])
    resp = server.client.get("/api/events", buffered=False)
    assert resp.status_code == 200
    resp.close()
