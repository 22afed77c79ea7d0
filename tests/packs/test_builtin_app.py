"""The built-in target service (packs/builtin/programs/app.py, a standard-library HTTP server),
driven over HTTP from inside a real `ns` sandbox of `healthy_noop`: its three endpoints, their
JSON bodies and codes, `HEAD` as `curl -I` sends it, an unknown path."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support import needs_ns

pytestmark = [pytest.mark.e2e, needs_ns]


def _port(sb: Any) -> int:
    text = (sb.workdir / "etc" / "clients.conf").read_text()
    return int(re.search(r"upstream\s*=\s*127\.0\.0\.1:(\d+)", text).group(1))


def _code(sb: Any, url: str) -> int:
    """GET `url` from inside the sandbox; the body lands in var/tmp/body."""
    done = sb.exec(f"curl -sS -m 5 -w '%{{http_code}}' -o var/tmp/body {url}", timeout=10)
    assert done.exit_code == 0, done.output
    return int(done.output.strip())


def test_endpoints_answer_json_with_the_sandbox_instance(healthy_ns_sandbox: Any) -> None:
    sb, url = healthy_ns_sandbox, f"http://127.0.0.1:{_port(healthy_ns_sandbox)}"
    for path, want in (("/", {"service": "target"}), ("/health", {"status": "ok"}),
                       ("/ready", {"ready": True})):
        code = _code(sb, f"{url}{path}")
        body = json.loads((sb.workdir / "var" / "tmp" / "body").read_text())
        assert code == 200 and want.items() <= body.items(), (path, body)
        assert body["instance"] == sb.instance_id
    assert _code(sb, f"{url}/nope") == 404


def test_head_answers_like_get_without_a_body(healthy_ns_sandbox: Any) -> None:
    url = f"http://127.0.0.1:{_port(healthy_ns_sandbox)}/health"
    done = healthy_ns_sandbox.exec(f"curl -sS -m 5 -I {url}", timeout=10)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("HTTP/1.1 200"), done.output
    assert "application/json" in done.output and "{" not in done.output
