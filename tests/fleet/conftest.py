"""Fixtures of the fleet tests: a real redis-server for the session (started on loopback by
pid, stopped at the end), and queue URLs for both backends, one namespace per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.redis_server import RedisServer, redis_available


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not redis_available():
        message = "redis-server is not installed (apt-get install -y redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh queue of each backend (SQLite file; a Redis key prefix of its own)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/queue.db"
    server: RedisServer = request.getfixturevalue("redis_server")
    return f"{server.url}?prefix={{t-{uuid.uuid4().hex[:8]}}}"
