"""A worker's configuration, its CLI checks and its record of kept sandboxes (no server: the
real agent-servers are in `test_remote`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.cli.main import main as cli_main
from sre_agent.errors import UsageError
from sre_agent.fleet import reap_sandboxes, record_sandbox, worker_config

KEY = "test-worker-key-0123456789"


def test_non_loopback_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["worker", "--host", "10.1.2.3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "--allow-remote" in err


def test_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["worker", "--port", "70000"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_worker_config_key_and_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generated = worker_config(workdir=tmp_path)
    assert generated.generated_key and len(generated.api_key) >= 24
    assert generated.url.startswith("http://127.0.0.1:")
    monkeypatch.setenv("SRE_AGENT_WORKER_API_KEY", KEY)
    from_env = worker_config(port=8123, workdir=tmp_path)
    assert from_env.api_key == KEY and not from_env.generated_key and from_env.port == 8123
    with pytest.raises(UsageError, match="too short"):
        worker_config(api_key="short", workdir=tmp_path)
    remote = worker_config("192.0.2.7", 9000, KEY, tmp_path, allow_remote=True)
    assert remote.url == "http://192.0.2.7:9000"
    assert worker_config("::1", 9001, KEY, tmp_path).url == "http://[::1]:9001"
    with pytest.raises(UsageError, match="not a loopback address"):
        worker_config("0.0.0.0", 9000, KEY, tmp_path)


def test_records_of_sandboxes_already_gone_are_dropped(tmp_path: Path) -> None:
    record_sandbox("sb-gone", tmp_path / "no-such-sandbox", workdir=tmp_path)
    assert (tmp_path / "sandboxes" / "sb-gone").read_text() == str(tmp_path / "no-such-sandbox")
    assert reap_sandboxes(tmp_path) == []  # nothing to tear down ...
    assert not (tmp_path / "sandboxes" / "sb-gone").exists()  # ... and the record is gone
    assert reap_sandboxes(tmp_path / "never-a-worker") == []
