"""A restarted server shows every job and incident it had, with their states, and resumes
the unfinished ones: in one process (`recover` on a second JobManager over the same queue),
then for real (kill -9 of `sre-agent serve` right after it accepted an alert)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sre_agent.fleet.intake import draw_incidents
from sre_agent.fleet.ledger import new_item
from sre_agent.fleet.queue import JobRecord, open_queue
from sre_agent.fleet.request import FanoutRequest
from sre_agent.runs import RunRequest
from sre_agent.sandbox.procs import processes_under
from sre_agent.web import JobManager, JobStart, recover
from tests.support import needs_ns
from tests.web.helpers import FakeRunner, alert, wait_for, webhook

REPO = Path(__file__).resolve().parents[2]
DEAD = f"{socket.gethostname()}/{2**22 + 9}/1/serve"  # no such pid: a server that died


def test_a_restarted_manager_shows_and_resumes_what_was_stored(tmp_path: Path) -> None:
    trace, url = tmp_path / "trace.jsonl", f"sqlite:///{tmp_path}/q.db"
    first = JobManager(trace, FakeRunner(), stop_wait_s=5, queue=open_queue(url))
    done = first.start(JobStart(simulate=True, scenarios=["port_mismatch"], incidents=2))
    wait_for(lambda: first.job(done.id).state == "finished", "the first job")
    human = first.add_needs_human("disk alert", "no sandbox", {"fingerprint": "fp-h"})
    gone = first.add_needs_human("cpu alert", "no sandbox", {"fingerprint": "fp-r"})
    first.resolve_needs_human(gone.id, "the alert resolved")
    assert first.shutdown(wait_s=5) == []
    # a job its (dead) server had accepted but not run: stored, never started
    q = open_queue(url)
    request = FanoutRequest(incidents=2, concurrency=1, scenarios=["disk_full"],
                            template=RunRequest(scenario="*", simulate=True, trace_log=trace))
    q.put_job(JobRecord("job-orphan", "fanout", {
        "request": request.model_dump(mode="json"),
        "job_start": JobStart(simulate=True, scenarios=["disk_full"], incidents=2).model_dump(),
        "alert": None}, owner=DEAD))
    q.put_many(new_item("job-orphan", p, request.template)
               for p in draw_incidents(2, ["disk_full"], 1))

    # a `sre-agent fanout` whose orchestrator died, in the same queue: shown, not resumed here
    q.put_job(JobRecord("fan-cli", "fanout", {"request": request.model_dump(mode="json")},
                        owner=DEAD.replace("serve", "orchestrator")))
    q.put_many(new_item("fan-cli", p, request.template)
               for p in draw_incidents(1, ["disk_full"], 1))

    runner = FakeRunner()
    second = JobManager(trace, runner, stop_wait_s=5, queue=open_queue(url))
    found = recover(second)
    assert found.resumed == ["job-orphan"] and done.id in found.shown and found.needs_human == 2
    assert "fan-cli" in found.shown and q.get("fan-cli-000").state == "queued"  # type: ignore[union-attr]
    wait_for(lambda: second.job("job-orphan").state == "finished", "the resumed job")
    state = second.snapshot()
    by_id = {i["id"]: i for i in state["incidents"]}
    assert by_id[f"{done.id}-000"]["state"] == "done"
    assert by_id[f"{done.id}-000"]["status"] == "fixed"
    assert second.incident(f"{done.id}-001")["row"]["status"] == "fixed"
    assert by_id[human.id]["state"] == "needs_human" and by_id[gone.id]["state"] == "resolved"
    assert second.open_incident_with_fingerprint("fp-h") is not None  # duplicates still found
    assert {j["id"]: j["state"] for j in state["jobs"]} == {done.id: "finished",
                                                             "job-orphan": "finished",
                                                             "fan-cli": "running"}
    assert len(runner.requests) == 2
    ids = Counter(json.loads(line)["extra"]["queue"]["id"]
                  for line in trace.read_text().splitlines())
    assert ids == Counter([f"{done.id}-000", f"{done.id}-001", "job-orphan-000",
                           "job-orphan-001"])
    assert second.shutdown(wait_s=5) == []


# ---- kill -9 of a real server -----------------------------------------------------------------

def _serve(tmp_path: Path, url: str, trace: Path, name: str) -> tuple[subprocess.Popen[str],
                                                                       str]:
    err = (tmp_path / f"{name}.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sre_agent.cli.main", "serve", "--port", "0", "--queue", url,
         "--trace-log", str(trace), "--lease-s", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    err.close()
    line = proc.stdout.readline() if proc.stdout else ""
    assert "http://" in line, (tmp_path / f"{name}.err").read_text()[-2000:]
    return proc, line.split()[-1].rstrip("/")


def _call(base: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(60)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.e2e
@needs_ns
@pytest.mark.timeout(300)
def test_a_killed_server_runs_the_alert_it_had_accepted(tmp_path: Path,
                                                        runtime_dir: Path) -> None:
    trace, url = tmp_path / "trace.jsonl", f"sqlite:///{tmp_path}/queue.db"
    others = {d.name for d in runtime_dir.iterdir()}  # other tests' sandboxes (live owners)
    server, base = _serve(tmp_path, url, trace, "serve1")
    restarted = None
    try:
        status, out = _call(base, "/api/alerts", webhook(alert(
            fingerprint="fp-kill", scenario="stale_lockfile", seed="3")))
        assert status == 202 and out["started"] == 1
        incident_id = out["decisions"][0]["incident_id"]
        os.kill(server.pid, signal.SIGKILL)  # accepted: stored before the 202
        server.wait(10)

        def group_gone() -> bool:
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(group_gone, "the killed server's processes to be gone", 15)
        wait_for(lambda: not processes_under(runtime_dir), "its sandbox processes to die", 15)
        assert not trace.exists() or incident_id not in trace.read_text()
        orphans = {d.name for d in runtime_dir.iterdir() if (d / "work").is_dir()} - others

        restarted, base = _serve(tmp_path, url, trace, "serve2")
        _, state = _call(base, "/api/state")
        assert incident_id in {i["id"] for i in state["incidents"]}
        done = wait_for(lambda: next((i for i in _call(base, "/api/state")[1]["incidents"]
                                      if i["id"] == incident_id and i["state"] == "done"),
                                     None), "the alert's incident to run", 240)
        assert done["status"] == "fixed" and done["alert"]["fingerprint"] == "fp-kill"
        rows = [json.loads(line) for line in trace.read_text().splitlines()]
        assert [r["extra"]["queue"]["id"] for r in rows] == [incident_id]
        # the restarted server's sandbox start reaped what the killed one left behind
        assert not orphans & {d.name for d in runtime_dir.iterdir() if (d / "work").is_dir()}
    finally:
        _stop(server)
        if restarted is not None:
            _stop(restarted, signal.SIGTERM)
    assert processes_under(runtime_dir) == []
