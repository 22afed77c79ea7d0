"""The forgiving, streaming trace log reader, and `--since` parsing.

Reading never loads the whole file and never fails on a bad line: a torn last line (a writer
died mid-line), malformed lines and rows of an unknown schema version are skipped and counted
(`TraceReadStats`). `iter_trace_dicts` yields plain dicts (the scorecard's fast path: no model
per row); `read_traces` yields validated `TraceRow`s and counts rows that fail validation as
malformed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sre_agent.errors import UsageError
from sre_agent.traces.schema import TRACE_SCHEMA_VERSION, TraceRow


class TraceReadStats(BaseModel):
    """What a read saw: rows accepted, rows matching the filters, lines skipped and why.

    `rows_read` counts lines that hold a row of this schema (whatever the filters say);
    `rows_matched` the rows that passed the `run_id`/`since` filters and were yielded.
    """

    path: str
    rows_read: int = 0
    rows_matched: int = 0
    skipped_malformed: int = 0
    skipped_torn_last_line: int = 0
    skipped_unknown_schema: int = 0

    @property
    def skipped(self) -> int:
        return self.skipped_malformed + self.skipped_torn_last_line + self.skipped_unknown_schema


class TraceReadResult[T]:
    """A one-shot stream of rows plus counters, which are final once the stream is exhausted."""

    def __init__(self, rows: Callable[[TraceReadStats], Iterator[T]], stats: TraceReadStats):
        self._rows = rows
        self._consumed = False
        self.stats = stats

    def __iter__(self) -> Iterator[T]:
        if self._consumed:
            raise RuntimeError("a TraceReadResult can be iterated only once")
        self._consumed = True
        return self._rows(self.stats)

    @property
    def rows_read(self) -> int:
        return self.stats.rows_read

    @property
    def skipped_malformed(self) -> int:
        return self.stats.skipped_malformed

    @property
    def skipped_torn_last_line(self) -> int:
        return self.stats.skipped_torn_last_line

    @property
    def skipped_unknown_schema(self) -> int:
        return self.stats.skipped_unknown_schema


def _check_path(path: Path | str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(
            f"trace log not found: {p}",
            hint="run an incident first (`sre-agent run`) or pass --trace-log",
        )
    return p


def _since_ts(since: float | datetime | None) -> float | None:
    if since is None or isinstance(since, float | int):
        return since
    if since.tzinfo is None:
        since = since.astimezone()  # naive datetimes are local time
    return since.timestamp()


def _stream_dicts(
    path: Path, run_ids: frozenset[str] | None, since: float | None, stats: TraceReadStats
) -> Iterator[dict[str, Any]]:
    """The hot loop: parse each line once, check the shape cheaply, filter, count."""
    loads = json.loads
    # Text mode decodes in large chunks (measurably faster than bytes per line); split on "\n"
    # only; undecodable bytes become U+FFFD so one bad line cannot end the read.
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as fh:
        for line in fh:
            try:
                obj = loads(line)
            except (ValueError, RecursionError):
                if line.endswith("\n"):
                    if line.strip():
                        stats.skipped_malformed += 1
                else:
                    stats.skipped_torn_last_line += 1  # only the last line lacks a newline
                continue
            if type(obj) is not dict:
                stats.skipped_malformed += 1
                continue
            version = obj.get("schema_version")
            if version != TRACE_SCHEMA_VERSION or type(version) is not int:
                stats.skipped_unknown_schema += 1
                continue
            run_id = obj.get("run_id")
            started = obj.get("started_at")
            if type(run_id) is not str or type(started) not in (float, int):
                stats.skipped_malformed += 1
                continue
            stats.rows_read += 1
            if run_ids is not None and run_id not in run_ids:
                continue
            if since is not None and started < since:
                continue
            stats.rows_matched += 1
            yield obj


def iter_trace_dicts(
    path: Path | str,
    *,
    run_id: str | Iterable[str] | None = None,
    since: float | datetime | None = None,
) -> TraceReadResult[dict[str, Any]]:
    """Stream rows as plain dicts (the scorecard's fast path: no model per row).

    A row is accepted when its line is a JSON object with `schema_version ==
    TRACE_SCHEMA_VERSION`, a string `run_id` and a numeric `started_at`; other fields are
    checked by the consumer. Raises `UsageError` when the file does not exist.
    """
    p = _check_path(path)
    ids = frozenset([run_id] if isinstance(run_id, str) else run_id) if run_id else None
    since_ts = _since_ts(since)
    stats = TraceReadStats(path=str(p))
    return TraceReadResult(lambda s: _stream_dicts(p, ids, since_ts, s), stats)


def read_traces(
    path: Path | str,
    *,
    run_id: str | Iterable[str] | None = None,
    since: float | datetime | None = None,
) -> TraceReadResult[TraceRow]:
    """Stream validated `TraceRow`s; rows that fail validation count as malformed.

    Args:
        path: the trace log.
        run_id: keep only these run id(s).
        since: keep only runs started at or after this time (unix seconds or a datetime).
    """
    inner = iter_trace_dicts(path, run_id=run_id, since=since)

    def rows(stats: TraceReadStats) -> Iterator[TraceRow]:
        for obj in inner:
            try:
                yield TraceRow.model_validate(obj)
            except ValidationError:
                stats.skipped_malformed += 1
                stats.rows_read -= 1
                stats.rows_matched -= 1

    return TraceReadResult(rows, inner.stats)


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: float | None = None) -> float:
    """Parse `--since`: a relative age (`90s`, `30m`, `24h`, `7d`, `2w`) or an ISO date/time.

    Returns unix seconds. ISO values without a timezone are local time.
    """
    match = _RELATIVE.match(text)
    if match:
        age = float(match.group(1)) * _UNIT_S[match.group(2).lower()]
        return (time.time() if now is None else now) - age
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"cannot parse --since {text!r}",
            hint="use an age like 24h / 7d / 30m or an ISO time like 2025-01-31T12:00",
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(UTC).timestamp()
