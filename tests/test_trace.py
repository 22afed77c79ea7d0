"""The trace log: models, the append-only writer under concurrency, the forgiving reader."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sre_agent.errors import UsageError
from sre_agent.traces import (
    OBSERVATION_MAX_CHARS,
    TRACE_SCHEMA_VERSION,
    TraceAction,
    TraceRow,
    TraceVerdict,
    TraceWriter,
    VerifierProbe,
    check_trace_log,
    iter_trace_dicts,
    parse_since,
    read_traces,
    summarize_actions,
    time_to_mitigate,
)

DATA = Path(__file__).parent / "data" / "traces"


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


# ---- models -----------------------------------------------------------------------------


def test_observation_is_truncated_keeping_head_and_tail() -> None:
    action = TraceAction(step=1, tool="terminal", observation="H" * 3000 + "TAIL-ERROR")
    assert len(action.observation) < OBSERVATION_MAX_CHARS + 60
    assert action.observation.startswith("H" * 100)
    assert action.observation.endswith("TAIL-ERROR")
    assert "chars truncated" in action.observation


def test_row_defaults_and_schema_version() -> None:
    row = _row("r1")
    assert row.schema_version == TRACE_SCHEMA_VERSION
    assert row.service_up is False and row.ttm_s is None and row.status == "error"


def test_summarize_actions() -> None:
    actions = [
        TraceAction(step=1, tool="terminal", risk="LOW"),
        TraceAction(step=2, tool="terminal", risk="HIGH", decision="block"),
        TraceAction(step=3, tool="terminal", risk="MEDIUM", decision="confirm_approved"),
        TraceAction(step=4, tool="terminal", risk="MEDIUM", decision="confirm_rejected"),
    ]
    assert summarize_actions(actions) == {
        "highest_risk": "HIGH", "blocked_actions": 1, "confirmed_actions": 1,
        "rejected_actions": 1,
    }
    assert summarize_actions([])["highest_risk"] is None


def test_time_to_mitigate_counts_from_the_final_green_streak() -> None:
    probes = [
        VerifierProbe(attempt=1, at=105.0, url="u", ok=True),
        VerifierProbe(attempt=2, at=110.0, url="u", ok=False),
        VerifierProbe(attempt=3, at=115.0, url="u", ok=True),
        VerifierProbe(attempt=4, at=120.0, url="u", ok=True),
    ]
    healthy = TraceVerdict(healthy=True, probes=probes)
    assert time_to_mitigate(100.0, healthy) == 15.0  # 115 - 100, not 105 - 100
    assert time_to_mitigate(100.0, TraceVerdict(healthy=False, probes=probes)) is None
    assert time_to_mitigate(None, healthy) is None


# ---- writer -----------------------------------------------------------------------------


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


# ---- reader -----------------------------------------------------------------------------


def test_reader_skips_and_counts_bad_lines() -> None:
    result = iter_trace_dicts(DATA / "malformed.jsonl")
    ids = [row["run_id"] for row in result]
    # ok-1, bad-types (its field types are the consumer's business), ok-2
    assert ids == ["ok-1", "bad-types", "ok-2"]
    assert result.rows_read == 3
    # "this line is not json", "[1, 2, 3]", the object without run_id; the blank line is ignored
    assert result.skipped_malformed == 3
    assert result.skipped_unknown_schema == 2  # schema_version 2, and no schema_version at all
    assert result.skipped_torn_last_line == 1
    assert result.stats.skipped == 6


def test_model_reader_counts_validation_failures_as_malformed() -> None:
    result = read_traces(DATA / "malformed.jsonl")
    rows = list(result)
    assert [r.run_id for r in rows] == ["ok-1", "ok-2"]
    assert result.skipped_malformed == 4  # the three above + bad-types ("steps": "three")
    assert result.rows_read == 2
    # a field from a newer minor writer survives the round trip instead of breaking the read
    assert rows[1].model_extra == {"newer_minor_field": {"x": 1}}


def test_valid_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_row("a").model_dump_json() + "\n" + _row("b").model_dump_json())
    result = read_traces(path)
    assert [r.run_id for r in result] == ["a", "b"]
    assert result.skipped_torn_last_line == 0


def test_torn_line_followed_by_newline_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"schema_version": 1, "run_id": "x"\n' + _row("b").model_dump_json() + "\n")
    result = read_traces(path)
    assert [r.run_id for r in result] == ["b"]
    assert (result.skipped_malformed, result.skipped_torn_last_line) == (1, 0)


def test_undecodable_bytes_are_one_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    good = _row("good").model_dump_json().encode()
    path.write_bytes(b"\xff\xfe{garbage\n" + good + b"\n")
    result = read_traces(path)
    assert [r.run_id for r in result] == ["good"]
    assert result.skipped_malformed == 1


def test_filters_by_run_id_and_since(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path)
    for i in range(5):
        writer.append(_row(f"r{i}", started_at=1000.0 + i))
    assert [r.run_id for r in read_traces(path, run_id="r3")] == ["r3"]
    assert [r.run_id for r in read_traces(path, run_id=["r1", "r4", "nope"])] == ["r1", "r4"]
    assert [r.run_id for r in read_traces(path, since=1002.0)] == ["r2", "r3", "r4"]
    since_dt = datetime.fromtimestamp(1003.0, tz=UTC)
    result = read_traces(path, since=since_dt, run_id=["r0", "r4"])
    assert [r.run_id for r in result] == ["r4"]
    assert (result.rows_read, result.stats.rows_matched) == (5, 1)


def test_missing_file_is_a_usage_error_with_hint(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        read_traces(tmp_path / "nope.jsonl")
    assert "trace log not found" in info.value.message
    assert info.value.hint


def test_a_result_is_iterated_once() -> None:
    result = iter_trace_dicts(DATA / "mixed.jsonl")
    assert len(list(result)) == 11
    with pytest.raises(RuntimeError):
        list(result)


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("24h", now=now) == now - 86400
    assert parse_since("7d", now=now) == now - 7 * 86400
    assert parse_since("30m", now=now) == now - 1800
    assert parse_since("2023-11-14T22:13:20+00:00") == 1700000000.0
    with pytest.raises(UsageError):
        parse_since("yesterday-ish")


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
