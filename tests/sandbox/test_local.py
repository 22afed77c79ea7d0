"""`local` isolates nothing, and every place a run shows its backend says so: the terminal,
the JSON summary, the trace row and the web UI's incident page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.sandbox import select_backend
from sre_agent.traces import read_traces
from tests.web.helpers import FakeRunner, Server


@pytest.mark.timeout(420)  # one offline run: ~20 s idle, minutes on a crowded machine
def test_a_local_run_says_it_isolates_nothing_everywhere(tmp_path: Path, cli) -> None:  # noqa: ANN001
    assert "NO isolation" in select_backend("local").reason
    trace = tmp_path / "trace.jsonl"
    code, out, err = cli("run", "--scenario", "healthy_noop", "--simulate", "--sandbox", "local",
                         "--json", "--trace-log", str(trace), "--verify-max-attempts", "4",
                         "--verify-interval-s", "0.3")
    assert code == 0, err
    terminal = " ".join(err.split())
    assert "sandbox local isolates nothing: agent commands run on this host" in terminal, err
    summary = json.loads(out)
    assert summary["sandbox_backend"] == "local"
    assert "NO isolation (commands run on the host)" in summary["sandbox_reason"]
    [row] = read_traces(trace)
    assert row.sandbox_backend == "local" and row.run_id == summary["run_id"]
    assert "NO isolation" in row.extra["sandbox_reason"]
    server = Server(trace, FakeRunner(), {}, {})
    try:
        page = server.client.get(f"/incidents/{row.run_id}").get_data(as_text=True)
    finally:
        server.close()
    assert "isolates nothing: commands ran on the host" in page
    assert "NO isolation (commands run on the host)" in page
