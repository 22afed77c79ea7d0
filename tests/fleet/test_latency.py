"""Simulated LLM latency of the offline model: the loopback model server delays each
completion (fixed or drawn, plus tokens per second), records what each session waited, and
the trace row carries it (`extra.simulated_latency`)."""

from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from sre_agent.agent.latency import LlmLatency
from sre_agent.agent.model_server import ModelServer, latency_server
from sre_agent.cli.main import main
from sre_agent.runs import RunHooks, RunRequest, finish_row
from sre_agent.testing import ScriptedModel
from sre_agent.traces import TraceRow, read_traces


def complete(url: str) -> float:
    body = json.dumps({"model": "runbook", "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request(f"{url}/chat/completions", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        json.loads(resp.read())
    return time.perf_counter() - t


def test_each_completion_waits_and_the_session_reports_it() -> None:
    latency = LlmLatency(mean_s=0.15, dist="fixed", tokens_per_s=1000)
    with ModelServer(latency=latency) as server:
        url = server.register("s1", ScriptedModel([{"role": "assistant", "content": "a"}],
                                                  repeat_last=True))
        took = [complete(url) for _ in range(3)]
        assert min(took) >= 0.15
        report = server.take_latency("s1")
        assert report is not None and report["completions"] == 3
        assert 0.45 <= report["total_s"] < 0.6 and report["settings"]["mean_s"] == 0.15
        assert server.take_latency("s1") is None  # reported once
    with ModelServer() as plain:  # no latency: nothing waited, nothing reported
        url = plain.register("s2", ScriptedModel([{"role": "assistant", "content": "a"}]))
        assert complete(url) < 0.15 and plain.take_latency("s2") is None


def test_distributions_are_seeded_and_centred() -> None:
    def draws(latency: LlmLatency, n: int = 4000) -> list[float]:
        rng = random.Random(7)
        return [latency.draw(rng) for _ in range(n)]

    assert set(draws(LlmLatency(mean_s=3), 10)) == {3.0}
    uniform = draws(LlmLatency(mean_s=3, dist="uniform", spread=0.5))
    assert min(uniform) >= 1.5 and max(uniform) <= 4.5
    for dist in ("uniform", "exponential", "lognormal"):
        assert statistics.mean(draws(LlmLatency(mean_s=3, dist=dist))) == pytest.approx(
            3, rel=0.08)
    capped = draws(LlmLatency(mean_s=3, dist="exponential", max_s=5))
    assert max(capped) == 5
    assert LlmLatency(mean_s=1, tokens_per_s=50).draw(random.Random(1), 100) == 3.0
    assert draws(LlmLatency(mean_s=3, dist="lognormal"), 5) == \
        draws(LlmLatency(mean_s=3, dist="lognormal"), 5)


def test_the_trace_row_records_the_simulated_latency(tmp_path: Path) -> None:
    latency = LlmLatency(mean_s=0.05)
    server = latency_server(latency)
    assert latency_server(LlmLatency(mean_s=0.05)) is server  # one per setting, per process
    url = server.register("run-lat", ScriptedModel([{"role": "assistant", "content": "a"}],
                                                   repeat_last=True))
    complete(url)
    complete(url)
    server.unregister("run-lat")  # the conversation ended; its wait is still reported
    trace = tmp_path / "t.jsonl"
    req = RunRequest(scenario="disk_full", trace_log=trace, llm_latency=latency)
    row = TraceRow(run_id="run-lat", started_at=time.time(), scenario="disk_full")
    finish_row(row, req, RunHooks(model_server=server), None)
    (logged,) = list(read_traces(trace))
    waited = logged.extra["simulated_latency"]
    assert waited["completions"] == 2 and waited["total_s"] == pytest.approx(0.1, abs=0.01)


def test_fanout_latency_flags_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fanout", "--incidents", "1", "--llm-tokens-per-s", "20"]) == 2
    assert "needs --llm-latency-s" in capsys.readouterr().err
    assert main(["fanout", "--incidents", "1", "--llm-latency-s", "1",
                 "--llm-latency-dist", "pareto"]) == 2
    assert "pareto" in capsys.readouterr().err
    assert main(["fanout", "--incidents", "1", "--llm-latency-s", "1", "--model",
                 "openai/gpt-4o"]) == 2
    assert "offline model" in capsys.readouterr().err


def test_unregister_closes_the_sessions_idle_keep_alive_connections() -> None:
    """A run's client keeps its connection open; each one holds a server thread and a file
    descriptor until the session ends (a soak grew by one of each per incident)."""
    before = set(threading.enumerate())  # other tests' servers may still hold handlers
    with ModelServer() as server:
        url = server.register("s3", ScriptedModel([{"role": "assistant", "content": "a"}],
                                                  repeat_last=True))
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = json.dumps({"model": "runbook", "messages": [{"role": "user", "content": "x"}]})
        path = url.split(str(server.port), 1)[1] + "/chat/completions"
        for _ in range(2):  # two requests on one kept-alive connection
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            assert conn.getresponse().read() and conn.sock is not None
        handlers = [t for t in threading.enumerate()
                    if "process_request" in t.name and t not in before]
        assert handlers
        server.unregister("s3")
        conn.sock.settimeout(5)
        assert conn.sock.recv(1) == b""  # the server closed it
        for thread in handlers:
            thread.join(5)
            assert not thread.is_alive()
        conn.close()
