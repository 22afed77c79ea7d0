"""The append-only writer under concurrency, and the trace log preflight."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from sre_agent.errors import UsageError
from sre_agent.traces import TraceAction, TraceRow, TraceWriter, check_trace_log, read_traces


def _row(run_id: str, started_at: float = 1700000000.0, **kw) -> TraceRow:
    return TraceRow(run_id=run_id, started_at=started_at, scenario="stale_lockfile", **kw)


def _big_row(writer_id: int, i: int) -> TraceRow:
    # Each line is well over PIPE_BUF (4096 bytes), so atomicity is not free.
    marker = f"w{writer_id}-r{i}"
    actions = [
        TraceAction(step=s, tool="terminal", command=f"echo {marker}",
                    observation=(marker + " ") * 250)
        for s in range(1, 5)
    ]
    return _row(marker, actions=actions, steps=4)


def _append_many(path: str, writer_id: int, count: int) -> None:
    writer = TraceWriter(path)
    for i in range(count):
        writer.append(_big_row(writer_id, i))


def test_writer_creates_dirs_and_only_appends(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "runs" / "trace_log.jsonl"
    writer = TraceWriter(path)
    writer.append(_row("first"))
    first = path.read_bytes()
    writer.append(_row("second"))
    data = path.read_bytes()
    assert data.startswith(first)  # nothing already written is rewritten
    lines = data.decode().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["first", "second"]
    assert data.endswith(b"\n")


def test_writer_refuses_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with pytest.raises(ValueError, match="servce_up"):
        TraceWriter(path).append(_row("r", servce_up=True))
    assert not path.exists()


def test_concurrent_appends_from_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "trace_log.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    rows = [TraceRow.model_validate_json(line) for line in lines[:-1]]
    assert len(rows) == 160
    assert {r.run_id for r in rows} == {f"w{w}-r{i}" for w in range(4) for i in range(40)}
    for r in rows:  # every line carries only its own writer's bytes
        assert all(r.run_id in a.observation for a in r.actions)


def test_concurrent_appends_from_threads(tmp_path: Path) -> None:
    path = tmp_path / "trace_log.jsonl"
    threads = [threading.Thread(target=_append_many, args=(str(path), w, 25)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = read_traces(path)
    assert len(list(result)) == 150
    assert result.skipped_malformed == 0 and result.skipped_torn_last_line == 0


def test_a_torn_last_line_never_swallows_the_next_row(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text('{"schema_version": 1, "run_id": "torn')  # a writer died mid-line
    TraceWriter(log).append(TraceRow(run_id="next", started_at=1.0, scenario="disk_full",
                                     incident_id="i"))
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["run_id"] == "next"
    result = read_traces(log)
    assert [r.run_id for r in result] == ["next"] and result.stats.skipped_malformed == 1


def test_writer_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "t.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        TraceWriter(fifo).append(TraceRow(run_id="r", started_at=1.0, scenario="x",
                                          incident_id="i"))
    with pytest.raises(UsageError, match="not a regular file"):
        check_trace_log(fifo)


def test_check_trace_log(tmp_path: Path) -> None:
    check_trace_log(tmp_path / "new" / "deeper" / "t.jsonl")  # created on first append
    existing = tmp_path / "t.jsonl"
    existing.write_text("")
    check_trace_log(existing)
    with pytest.raises(UsageError, match="is a directory"):
        check_trace_log(tmp_path)
    with pytest.raises(UsageError, match="not a regular file"):
        check_trace_log("/dev/null")
