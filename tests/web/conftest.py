"""Fixtures of the web tests: a trace log, a fake runner, apps under test (closed after each
test: runs released, every job shut down), and a real werkzeug server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.web.helpers import FakeRunner, Server

MakeServer = Callable[..., Server]


@pytest.fixture
def trace_log(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "trace_log.jsonl"


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def serve(trace_log: Path) -> Iterator[MakeServer]:
    """Builds apps under test: `serve(runner, state, **manager_options)`."""
    made: list[Server] = []

    def make(runner: FakeRunner | None = None, state: dict[str, Any] | None = None,
             **manager: Any) -> Server:
        made.append(Server(trace_log, runner or FakeRunner(), manager, state or {}))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def client(serve: MakeServer, runner: FakeRunner) -> FlaskClient:
    """The test client of an app whose runs are `runner`'s."""
    return serve(runner).client


@pytest.fixture
def live(serve: MakeServer) -> Iterator[tuple[int, Server]]:
    """A real werkzeug server on 127.0.0.1 (any free port) in a thread."""
    server = serve()
    http = make_server("127.0.0.1", 0, server.app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield http.server_port, server
    http.shutdown()
    http.server_close()
    thread.join(10)
