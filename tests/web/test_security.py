"""Request checks (`web.security`): the token, loopback binding and Host names (no DNS
rebinding), the Origin of state-changing requests, malformed or absurdly nested JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sre_agent.cli.main import main
from sre_agent.errors import UsageError
from sre_agent.web import check_bind
from sre_agent.web.limits import MAX_JSON_DEPTH
from tests.web.helpers import JSON, FakeRunner, Server, make_client, nested, raw_request, webhook


def test_a_token_is_required_when_configured(trace_log: Path, runner: FakeRunner) -> None:
    client, _ = make_client(trace_log, runner, token="s3cret-token-0123456789")
    assert client.get("/api/state").status_code == 401
    assert client.get("/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/state", headers={
        "Authorization": "Bearer s3cret-token-0123456789"}).status_code == 200
    assert client.get("/api/state", headers={
        "X-Api-Token": "s3cret-token-0123456789"}).status_code == 200
    assert client.post("/api/alerts", json=webhook()).status_code == 401
    assert client.get("/").status_code == 401  # the page asks for the token
    login = client.get("/?token=s3cret-token-0123456789")
    assert login.status_code == 302 and "HttpOnly" in login.headers["Set-Cookie"]
    assert client.get("/").status_code == 200  # the browser now holds the cookie
    assert client.get("/api/state").status_code == 200


def test_without_a_token_only_loopback_host_names_are_served(client: FlaskClient) -> None:
    assert client.get("/api/state", headers={"Host": "127.0.0.1:8008"}).status_code == 200
    assert client.get("/api/state", headers={"Host": "[::1]:8008"}).status_code == 200
    assert client.get("/api/state", headers={"Host": "evil.example:8008"}).status_code == 403


def test_binding_beyond_loopback_needs_allow_remote_and_a_token() -> None:
    check_bind("127.0.0.1", None, False)
    check_bind("localhost", None, False)
    check_bind("::1", None, False)
    with pytest.raises(UsageError, match="not a loopback"):
        check_bind("0.0.0.0", "a-long-enough-token-123", False)
    with pytest.raises(UsageError, match="needs --token"):
        check_bind("0.0.0.0", None, True)
    with pytest.raises(UsageError, match="at least 16"):
        check_bind("0.0.0.0", "short", True)
    check_bind("0.0.0.0", "a-long-enough-token-123", True)


def test_serve_refuses_a_remote_host_without_allow_remote() -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2


@pytest.mark.parametrize("origin, status", [
    (None, 202), ("http://localhost", 202), ("HTTP://LOCALHOST:80", 202),
    ("http://evil.example", 403), ("null", 403), ("http://localhost:8009", 403),
    ("https://localhost", 403), ("http://localhost.evil.example", 403),
])
def test_state_changing_requests_must_come_from_our_origin(client: FlaskClient,
                                                           origin: str | None,
                                                           status: int) -> None:
    headers = {"Origin": origin} if origin else {}
    resp = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"]},
                       headers=headers)
    assert resp.status_code == status, resp.get_json()
    if status == 403:
        assert "Origin" in resp.get_json()["error"]


def test_every_state_changing_method_is_origin_checked(client: FlaskClient) -> None:
    evil = {"Origin": "http://evil.example"}
    for method in ("post", "put", "patch", "delete"):
        resp = getattr(client, method)("/api/alerts", json=webhook(), headers=evil)
        assert resp.status_code == 403, method
    assert client.get("/api/state", headers=evil).status_code == 200  # reads: no Origin rule
    ours = client.post("/api/alerts", json=webhook(), headers={"Origin": "http://localhost"})
    assert ours.status_code == 200


def test_host_must_be_loopback_when_bound_to_loopback_even_with_a_token(serve: Any) -> None:
    token = {"X-Api-Token": "s3cret-token-0123456789"}
    local = serve(state={"token": "s3cret-token-0123456789"}).client
    assert local.get("/api/state", headers={**token, "Host": "evil.example"}).status_code == 403
    assert local.get("/api/state", headers={**token, "Host": "127.0.0.1:8008"}).status_code \
        == 200
    remote = serve(state={"token": "s3cret-token-0123456789", "bind_host": "0.0.0.0"}).client
    assert remote.get("/api/state", headers={**token, "Host": "sre.example:8008"}).status_code \
        == 200
    assert remote.get("/api/state", headers={"Host": "sre.example:8008"}).status_code == 401
    cross = remote.post("/api/jobs", json={}, headers={
        **token, "Host": "sre.example:8008", "Origin": "http://evil.example"})
    assert cross.status_code == 403


def test_origin_is_checked_against_the_address_the_client_used(
        live: tuple[int, Server]) -> None:
    port, _ = live
    body = json.dumps(webhook()).encode()
    for origin, status in ((f"http://127.0.0.1:{port}", 200), ("http://127.0.0.1", 403),
                           (f"http://evil.example:{port}", 403)):
        head = (f"POST /api/alerts HTTP/1.1\nHost: 127.0.0.1:{port}\nOrigin: {origin}\n"
                f"Content-Type: application/json\nContent-Length: {len(body)}\n")
        assert raw_request(port, head, [body])[0] == status, origin


@pytest.mark.parametrize("raw, message", [
    ("{", "not valid JSON"), ('{"a": }', "not valid JSON"), ("\xff", "not valid JSON"),
    (nested(100_000), "nests too deeply"), (nested(MAX_JSON_DEPTH + 1), "nests too deeply"),
    ('{"a": ' * 40 + "1" + "}" * 40, "nests too deeply"),
])
def test_malformed_or_absurdly_nested_json_is_400_without_a_traceback(
        client: FlaskClient, caplog: pytest.LogCaptureFixture, raw: str,
        message: str) -> None:
    caplog.set_level(logging.DEBUG)
    for path in ("/api/jobs", "/api/alerts", "/api/confirmations/x"):
        resp = client.post(path, data=raw.encode("latin-1"), headers=JSON)
        assert resp.status_code == 400, path
        assert message in resp.get_json()["error"]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_deep_json_through_the_real_server_logs_no_traceback(
        live: tuple[int, Server], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port, _ = live
    body = nested(100_000).encode()
    head = (f"POST /api/jobs HTTP/1.1\nHost: 127.0.0.1:{port}\n"
            f"Content-Type: application/json\nContent-Length: {len(body)}\n")
    status, error, _ = raw_request(port, head, [body])
    assert status == 400 and "nests too deeply" in error["error"]
    assert "Traceback" not in caplog.text and "Error on request" not in caplog.text
