"""The trace log: one versioned JSONL row per run, an append-only writer, a forgiving reader.

Every run, failed or not, becomes one `TraceRow` line in the trace log (default
`artifacts/runs/trace_log.jsonl`). The file is only ever appended to: `TraceWriter.append`
writes one whole line with a single `os.write` on an `O_APPEND` descriptor while holding an
exclusive `flock`, so concurrent runs in other threads or processes never interleave.

Reading is streaming and forgiving (`read_traces`, `iter_trace_dicts`): a torn last line (a
writer died mid-line), malformed lines and rows of an unknown schema version are skipped and
counted, never fatal. Unknown *fields* are kept (`extra="allow"`): a newer writer may add fields
without a version bump; a change that alters the meaning of an existing field bumps
`TRACE_SCHEMA_VERSION`, and this reader then skips those rows as unknown schema.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sre_agent.errors import UsageError

TRACE_SCHEMA_VERSION = 1
OBSERVATION_MAX_CHARS = 2000

Risk = Literal["LOW", "MEDIUM", "HIGH"]
RISK_ORDER: dict[str, int] = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}
Decision = Literal["allow", "block", "confirm_approved", "confirm_rejected"]
Mode = Literal["baseline", "optimized"]
StrategySource = Literal["skills", "manual", "optimizer", "none"]
Status = Literal[
    "fixed", "not_fixed", "escalated", "nothing_to_fix", "error", "limit", "cancelled"
]


def truncate_middle(text: str, limit: int = OBSERVATION_MAX_CHARS) -> str:
    """Keep the head and the tail of `text` (errors tend to be at the end), at most ~`limit`."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return f"{text[:head]}\n...[{len(text) - limit} chars truncated]...\n{text[-tail:]}"


class TraceAction(BaseModel):
    """One tool call the agent made, with the safety decision and what it observed."""

    model_config = ConfigDict(extra="allow")

    step: int
    tool: str  # "terminal" | "file_editor" | "finish" | ...
    command: str = ""
    path: str | None = None
    risk: Risk | None = None  # our deterministic analysis
    model_risk: str | None = None  # what the model claimed; recorded, never trusted
    decision: Decision = "allow"
    reasons: list[str] = Field(default_factory=list)
    mutating: bool = False
    observation: str = ""
    exit_code: int | None = None
    started_at: float = 0.0
    duration_s: float = 0.0

    @field_validator("observation")
    @classmethod
    def _truncate(cls, value: str) -> str:
        return truncate_middle(value)


class VerifierProbe(BaseModel):
    """One probe the verifier sent and what came back."""

    model_config = ConfigDict(extra="allow")

    attempt: int
    at: float
    url: str
    status: int | None = None
    latency_ms: float | None = None
    ok: bool = False
    error: str | None = None


class TraceVerdict(BaseModel):
    """The verifier's verdict: the probes, the out-of-sandbox ground truth, and why."""

    model_config = ConfigDict(extra="allow")

    healthy: bool
    probes: list[VerifierProbe] = Field(default_factory=list)
    ground_truth_ok: bool | None = None
    ground_truth_detail: str = ""
    reason: str = ""


class TraceRow(BaseModel):
    """One run of one incident, as written to the trace log."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = TRACE_SCHEMA_VERSION
    run_id: str
    started_at: float
    ended_at: float | None = None
    incident_started_at: float | None = None  # when the fault went live; TTM starts here
    scenario: str = ""
    seed: int | None = None
    incident_id: str = ""
    incident_text: str = ""
    mode: Mode = "baseline"
    strategy_source: StrategySource = "skills"
    skill_id: str | None = None
    skill_version: str | None = None
    route_confidence: float | None = None
    model: str = "runbook"  # "runbook" for the offline policy, else a litellm model string
    simulated: bool = False  # True for the offline runbook policy
    sandbox_backend: str = "local"
    worker: str | None = None
    steps: int = 0
    actions: list[TraceAction] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    claimed_fixed: bool = False
    escalated: bool = False
    claim_text: str = ""
    service_up: bool = False  # the verifier's verdict; the agent's claim never sets this
    verdict: TraceVerdict | None = None
    ttm_s: float | None = None  # None unless the verifier saw the service green
    status: Status = "error"
    reason: str = ""
    highest_risk: Risk | None = None
    blocked_actions: int = 0
    confirmed_actions: int = 0
    rejected_actions: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)


def summarize_actions(actions: Iterable[TraceAction]) -> dict[str, Any]:
    """The row-level safety summary of a list of actions, ready to pass to `TraceRow(...)`."""
    highest: str | None = None
    counts = {"block": 0, "confirm_approved": 0, "confirm_rejected": 0}
    for action in actions:
        if action.risk and RISK_ORDER[action.risk] > RISK_ORDER.get(highest or "", 0):
            highest = action.risk
        if action.decision in counts:
            counts[action.decision] += 1
    return {
        "highest_risk": highest,
        "blocked_actions": counts["block"],
        "confirmed_actions": counts["confirm_approved"],
        "rejected_actions": counts["confirm_rejected"],
    }


def time_to_mitigate(
    incident_started_at: float | None, verdict: TraceVerdict | None
) -> float | None:
    """Seconds from the fault going live to the first probe of the verifier's final green streak.

    None unless the verdict is healthy and the incident start is known: a service the verifier
    never saw green has no time to mitigate. Earlier green probes followed by a red one do not
    count (the service was not mitigated then).
    """
    if incident_started_at is None or verdict is None or not verdict.healthy:
        return None
    first_green: float | None = None
    for probe in verdict.probes:
        if probe.ok:
            first_green = probe.at if first_green is None else first_green
        else:
            first_green = None
    if first_green is None:
        return None
    return max(0.0, first_green - incident_started_at)


def check_trace_log(path: Path | str) -> None:
    """A trace log we can append to: a regular file (or none yet) in a writable directory.

    Raises `UsageError` naming what is wrong; checked before a run starts so nothing runs
    whose row could not be written.
    """
    path = Path(path)
    hint = "pass a file path with --trace-log, or --disable-trace-log"
    real = os.path.realpath(path)
    if any(real == top or real.startswith(top + "/") for top in ("/proc", "/sys", "/dev")):
        raise UsageError(f"trace log {path} is not a regular file", hint)
    if path.is_dir():
        raise UsageError(f"trace log {path} is a directory", hint)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise UsageError(f"trace log {path} is not a regular file", hint)
        if not os.access(path, os.W_OK):
            raise UsageError(f"trace log {path} is not writable", hint)
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create trace log {path}: {parent} is not a writable "
                         "directory", hint)


class TraceWriter:
    """Appends rows to a trace log; safe across threads and processes.

    The file is opened per append (so a rotated or deleted log is recreated, never truncated)
    with `O_APPEND`, locked with `flock(LOCK_EX)`, and the line goes out in one `os.write`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def append(self, row: TraceRow) -> None:
        if row.model_extra:
            # Rows read from a newer writer may carry unknown fields; a row built here may not:
            # an unknown keyword is a typo that would otherwise vanish silently.
            raise ValueError(f"unknown TraceRow field(s): {sorted(row.model_extra)}")
        data = (row.model_dump_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Non-blocking: a FIFO put where the log was must not hang the run.
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                     | os.O_NONBLOCK, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"trace log {self.path} is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a torn last line must not swallow this row
                written = os.write(fd, data)
                while written < len(data):  # short write (e.g. signal); still under our lock
                    written += os.write(fd, data[written:])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


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
