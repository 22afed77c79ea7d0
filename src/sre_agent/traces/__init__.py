"""Traces: one versioned JSONL row per run (schema), the append-only writer, the reader."""

from sre_agent.traces.reader import (
    TraceReadResult,
    TraceReadStats,
    iter_trace_dicts,
    parse_since,
    read_traces,
)
from sre_agent.traces.schema import (
    OBSERVATION_MAX_CHARS,
    TRACE_SCHEMA_VERSION,
    TraceAction,
    TraceRow,
    TraceVerdict,
    VerifierProbe,
    count_mutations,
    is_mutation,
    summarize_actions,
    time_to_mitigate,
    truncate_middle,
)
from sre_agent.traces.writer import TraceWriter, check_trace_log

__all__ = [
    "OBSERVATION_MAX_CHARS", "TRACE_SCHEMA_VERSION", "TraceAction",
    "TraceReadResult", "TraceReadStats", "TraceRow", "TraceVerdict", "TraceWriter",
    "VerifierProbe", "check_trace_log", "count_mutations", "is_mutation", "iter_trace_dicts",
    "parse_since", "read_traces", "summarize_actions", "time_to_mitigate", "truncate_middle",
]
