"""`sre-agent fanout`: exit codes and JSON with fake workers, then two real fan-outs (ns
sandboxes, the real SDK, the offline runbook policy; at most 6 incidents)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sre_agent.cli.main import main
from sre_agent.sandbox.procs import processes_under
from sre_agent.traces import read_traces
from tests.fleet.fakes import fake_remote
from tests.support import needs_ns

REPO = Path(__file__).resolve().parents[2]


def test_cli_exit_codes_and_json(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    fake_remote(monkeypatch)
    code = main(["fanout", "--incidents", "4", "--concurrency", "2", "--json",
                 "--workers", "http://w1:1,http://w2:2", "--scorecard-every", "0"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["total"] == 4 and out["correct"] == 4 and out["lost"] == 0
    assert set(out["by_worker"]) == {"http://w1:1", "http://w2:2"}
    for key in ("fixed", "not_fixed", "escalated", "nothing_to_fix", "errors", "ttm_p50_s",
                "ttm_p95_s", "incidents_per_min", "wall_s", "by_scenario"):
        assert key in out

    fake_remote(monkeypatch, always_lose=True)
    code = main(["fanout", "--incidents", "2", "--json", "--workers", "http://w1:1"])
    assert code == 1 and json.loads(capsys.readouterr().out)["lost"] == 2

    assert main(["fanout", "--continuous", "--arrival-rate", "1"]) == 2
    assert main(["fanout", "--incidents", "2", "--scenarios", "nope"]) == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_workers_file_and_bad_worker_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    fake_remote(monkeypatch)
    listed = tmp_path / "workers.txt"
    listed.write_text("# the fleet\nhttp://w1:1\n\n  http://w2:2  \n")
    assert main(["fanout", "--incidents", "2", "--json", "--workers-file", str(listed),
                 "--scorecard-every", "0"]) == 0
    assert set(json.loads(capsys.readouterr().out)["by_worker"]) == {"http://w1:1",
                                                                     "http://w2:2"}
    assert main(["fanout", "--incidents", "1", "--workers", "w1:1"]) == 2
    assert "not a worker URL" in capsys.readouterr().err
    assert main(["fanout", "--incidents", "1", "--workers-file",
                 str(tmp_path / "missing.txt")]) == 2
    assert "cannot read --workers-file" in capsys.readouterr().err


@pytest.mark.e2e
@needs_ns
@pytest.mark.timeout(240)
def test_real_fanout_six_incidents(tmp_path: Path, runtime_dir: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.jsonl"
    names = "stale_lockfile,healthy_noop,corrupted_data_store,disk_full,bad_env_config," \
            "dependency_down"
    code = main(["fanout", "--incidents", "6", "--concurrency", "3", "--simulate",
                 "--sandbox", "ns", "--scenarios", names, "--trace-log", str(trace),
                 "--verify-interval-s", "0.3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["total"] == 6 and out["correct"] == 6, [
        (i["scenario"], i["status"], i["error"]) for i in out["incidents"]]
    assert out["lost"] == 0 and out["peak_in_flight"] <= 3
    rows = list(read_traces(trace))
    assert sorted(r.run_id for r in rows) == sorted(i["run_id"] for i in out["incidents"])
    assert sorted(r.scenario for r in rows) == sorted(names.split(","))
    assert processes_under(runtime_dir) == []


@pytest.mark.e2e
@needs_ns
@pytest.mark.timeout(180)
def test_sigint_cancels_tears_down_and_traces(tmp_path: Path, runtime_dir: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sre_agent.cli.main", "fanout", "--incidents", "4",
         "--concurrency", "2", "--simulate", "--sandbox", "ns", "--scenarios",
         "slow_response,permission_denied", "--trace-log", str(trace), "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90  # until a sandbox of the fan-out is up
    while time.monotonic() < deadline and proc.poll() is None \
            and not processes_under(runtime_dir):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] and summary["lost"] == 0
    started = {i["run_id"] for i in summary["incidents"] if i["started_at"] is not None}
    assert 1 <= len(started) <= 2
    assert summary["not_started"] == 4 - len(started)
    rows = list(read_traces(trace))
    assert {r.run_id for r in rows} == started, err
    assert all(r.status in ("cancelled", "fixed") for r in rows), [r.status for r in rows]
    assert processes_under(runtime_dir) == []
