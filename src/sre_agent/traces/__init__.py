"""Traces: one versioned JSONL row per run (schema), the append-only writer, the reader."""

from sre_agent.traces.schema import (
    OBSERVATION_MAX_CHARS,
    RISK_ORDER,
    TRACE_SCHEMA_VERSION,
    TraceAction,
    TraceReadResult,
    TraceReadStats,
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
    truncate_middle,
)

__all__ = [
    "OBSERVATION_MAX_CHARS", "RISK_ORDER", "TRACE_SCHEMA_VERSION", "TraceAction",
    "TraceReadResult", "TraceReadStats", "TraceRow", "TraceVerdict", "TraceWriter",
    "VerifierProbe", "check_trace_log", "iter_trace_dicts", "parse_since", "read_traces",
    "summarize_actions", "time_to_mitigate", "truncate_middle",
]
