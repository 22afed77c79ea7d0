"""The forgiving, streaming reader: skipped lines are counted, never fatal; filters; --since."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sre_agent.errors import UsageError
from sre_agent.traces import TraceRow, TraceWriter, iter_trace_dicts, parse_since, read_traces

DATA = Path(__file__).parents[1] / "data" / "traces"


def _row(run_id: str, started_at: float = 1700000000.0) -> TraceRow:
    return TraceRow(run_id=run_id, started_at=started_at, scenario="stale_lockfile")


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
