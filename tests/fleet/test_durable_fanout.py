"""The fan-out over a durable queue, in one process with fake executors: what a crash leaves
behind is finished exactly once on resume, queue workers run a job's incidents and give them
back when stopped, and a live orchestrator's job cannot be resumed twice."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sre_agent.cli.main import main
from sre_agent.errors import UsageError
from sre_agent.fleet import Fanout, QueueWorker, resume_fanout, run_fanout, stored_request
from sre_agent.fleet.intake import draw_incidents
from sre_agent.fleet.ledger import Recorder, new_item
from sre_agent.fleet.queue import JobRecord, open_queue
from sre_agent.net import free_port
from sre_agent.runs import RunRequest
from tests.fleet.fakes import FakeExecutor, fanout_request, row_for

DEAD = f"{socket.gethostname()}/{2**22 + 7}/1/orchestrator"  # no such pid: a dead holder


def logged_ids(trace: Path) -> Counter[str]:
    return Counter(json.loads(line)["extra"]["queue"]["id"]
                   for line in trace.read_text().splitlines())


def crashed_job(url: str, trace: Path, n: int = 5) -> tuple[object, list[str]]:
    """What a killed orchestrator leaves: its job and incidents stored, one done but not
    logged, one running under its dead claim, the rest queued."""
    q = open_queue(url)
    request = fanout_request(incidents=n, concurrency=2, scenarios=["disk_full"])
    request.template = RunRequest(scenario="*", trace_log=trace)
    q.put_job(JobRecord("fan-crashed", "fanout", {"request": request.model_dump(mode="json")},
                        owner=DEAD))
    plans = draw_incidents(n, ["disk_full"], 1)
    q.put_many(new_item("fan-crashed", p, request.template) for p in plans)
    done = q.claim(DEAD.replace("orchestrator", "local"), jobs=["fan-crashed"])
    held = q.claim(DEAD.replace("orchestrator", "local"), jobs=["fan-crashed"])
    assert done is not None and held is not None
    row = row_for(RunRequest(scenario="disk_full", seed=done.payload["seed"],
                             run_id=done.id, trace_log=None))
    row.extra["queue"] = {"id": done.id}
    assert q.complete(done, {"row": row.model_dump(mode="json"), "worker": done.worker_id})
    return q, [done.id, held.id]


def test_resume_finishes_a_crashed_fanout_exactly_once(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    url = f"sqlite:///{tmp_path}/q.db"
    q, (done_id, held_id) = crashed_job(url, trace)
    fake = FakeExecutor(capacity=2)
    summary = resume_fanout(open_queue(url), "fan-crashed", [fake])
    assert summary.resumed and summary.total == 5 and summary.fixed == 5 and summary.lost == 0
    assert summary.reclaimed == 1  # the dead holder's incident, taken back at once
    assert logged_ids(trace) == Counter({f"fan-crashed-{i:03d}": 1 for i in range(5)})
    assert len(fake.calls) == 4  # the finished one is recorded, never run again
    held = next(i for i in summary.incidents if i.run_id.startswith(held_id))
    assert held.attempts == 2 and held.run_id == f"{held_id}-a2"
    job = q.get_job("fan-crashed")  # type: ignore[attr-defined]
    assert job.state == "finished" and job.summary["fixed"] == 5
    again = resume_fanout(open_queue(url), "fan-crashed", [FakeExecutor()])  # idempotent
    assert again.total == 5 and logged_ids(trace) == Counter(
        {f"fan-crashed-{i:03d}": 1 for i in range(5)})


def test_a_row_already_logged_before_the_crash_is_not_logged_twice(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    url = f"sqlite:///{tmp_path}/q.db"
    q, (done_id, _held) = crashed_job(url, trace, n=2)
    # the crash came after the log append, before the queue heard it was logged
    trace.write_text(json.dumps(q.get(done_id).result["row"]) + "\n")  # type: ignore[attr-defined]
    summary = resume_fanout(open_queue(url), "fan-crashed", [FakeExecutor()])
    assert summary.total == 2 and summary.lost == 0
    assert logged_ids(trace) == Counter({"fan-crashed-000": 1, "fan-crashed-001": 1})


def test_a_live_orchestrator_cannot_be_resumed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/q.db"
    block = threading.Event()
    fan = Fanout(fanout_request(incidents=2), [FakeExecutor(block=block)],
                 queue=open_queue(url), job_id="fan-live")
    thread = threading.Thread(target=fan.run)
    thread.start()
    try:
        time.sleep(0.3)
        with pytest.raises(UsageError, match="still running here"):
            stored_request(open_queue(url), "fan-live")
        with pytest.raises(UsageError, match="no fan-out"):
            stored_request(open_queue(url), "fan-nope")
        with pytest.raises(UsageError, match="exists already"):
            run_fanout(fanout_request(incidents=1), [FakeExecutor()], queue=open_queue(url),
                       job_id="fan-live")
    finally:
        block.set()
        thread.join(10)


def test_queue_workers_run_a_fanout_and_give_back_on_stop(queue_url: str,
                                                          tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    request = fanout_request(incidents=6, concurrency=2, scenarios=["stale_lockfile"])
    request.template = RunRequest(scenario="*", trace_log=trace)
    request.queue_workers = True
    workers = [QueueWorker(open_queue(queue_url), slots=2, name=name, idle_exit_s=1.0,
                           executor=FakeExecutor(name, delay=0.05)) for name in ("wa", "wb")]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    summary = run_fanout(request, [], queue=open_queue(queue_url), job_id="fan-q")
    for t in threads:
        t.join(10)
    assert summary.total == 6 and summary.fixed == 6 and summary.lost == 0
    assert sum(w.report.completed for w in workers) == 6
    assert set(summary.by_worker) <= {f"wa@{socket.gethostname()}",
                                      f"wb@{socket.gethostname()}"}
    assert logged_ids(trace) == Counter({f"fan-q-{i:03d}": 1 for i in range(6)})

    # a stopped worker gives its running incident back at once (not counted as an attempt)
    q = open_queue(queue_url)
    q.put_many([new_item("fan-r", p, request.template) for p in draw_incidents(1, ["disk_full"],
                                                                              1)])
    block = threading.Event()
    worker = QueueWorker(q, slots=1, executor=FakeExecutor(block=block))
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 10
    while q.get("fan-r-000").state != "running" and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.02)
    worker.stop.set()
    thread.join(10)
    item = q.get("fan-r-000")
    assert item is not None and (item.state, item.attempts) == ("queued", 0)
    assert worker.report.released == 1 and worker.report.completed == 0


def test_an_incident_a_worker_cannot_run_still_ends_with_one_error_row(tmp_path: Path) -> None:
    """A payload this worker cannot run (a scenario of a pack not installed here) is an error
    result with a row, not a silent gap in the trace log."""
    trace = tmp_path / "trace.jsonl"
    q = open_queue(f"sqlite:///{tmp_path}/q.db")
    template = RunRequest(scenario="*", trace_log=trace)
    item = new_item("fan-u", draw_incidents(1, ["disk_full"], 1)[0], template)
    item.payload["scenario"] = item.payload["request"]["scenario"] = "not_installed_here"
    q.put_many([item])
    worker = QueueWorker(q, slots=1, idle_exit_s=0.2, executor=FakeExecutor())
    worker.run()
    done = q.get("fan-u-000")
    assert done is not None and done.state == "done" and worker.report.completed == 1
    Recorder(q, trace).reconcile("fan-u")
    rows = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "error"
    assert rows[0]["scenario"] == "not_installed_here" and "not_installed_here" in rows[0]["reason"]


def test_queue_flags_fail_in_one_line_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every new flag's bad value: one line on stderr, exit 2, no traceback, nothing run."""
    nobody = f"redis://127.0.0.1:{free_port('127.0.0.1')}/0"  # nothing listens there
    url = f"sqlite:///{tmp_path}/q.db"
    cases = {
        ("fanout", "--incidents", "1", "--simulate", "--queue", "amqp://127.0.0.1/"):
            "unsupported queue URL",
        ("fanout", "--incidents", "1", "--simulate", "--queue", "sqlite://"): "names no file",
        ("fanout", "--incidents", "1", "--simulate", "--queue", nobody):
            "cannot reach the queue server",
        ("fanout", "--incidents", "1", "--simulate", "--queue", f"{url}?lease_s=soon"):
            "is not a number",
        ("fanout", "--resume", "fan-nope", "--queue", url): "no fan-out 'fan-nope'",
        ("fanout", "--resume", "fan-x", "--incidents", "2", "--queue", url):
            "--resume finishes a stored fan-out",
        ("worker", "--queue", "bogus://x"): "unsupported queue URL",
        ("worker", "--queue", nobody, "--idle-exit-s", "0"): "cannot reach the queue server",
        ("worker", "--queue", url, "--jobs", ",,"): "--jobs names no job",
        ("serve", "--port", "0", "--queue", "mysql://x"): "unsupported queue URL",
    }
    for args, message in cases.items():
        assert main(list(args)) == 2, args
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "trace.jsonl").exists()
