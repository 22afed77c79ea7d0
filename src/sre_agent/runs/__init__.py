"""Runs: one incident end to end (sandbox, strategy, agent, verifier, trace row).

`run_incident(RunRequest, RunHooks)` is the whole path; its parts (`run_conversation`, the row
helpers) are shared with remote workers, which run the same steps on another machine.
"""

from sre_agent.runs.progress import progress
from sre_agent.runs.request import RunHooks, RunRequest, check_request
from sre_agent.runs.row import apply_routing, fill_row, finish_row, new_row, observability, redacted
from sre_agent.runs.runner import run_conversation, run_incident, shared_model_server
from sre_agent.runs.strategy import (
    MANUAL_HINT,
    Strategy,
    choose_strategy,
    promoted_candidate_path,
    task_text,
    triaged_strategy,
)

__all__ = [
    "MANUAL_HINT", "RunHooks", "RunRequest", "Strategy", "check_request", "choose_strategy",
    "fill_row", "finish_row", "new_row", "observability", "progress", "promoted_candidate_path",
    "redacted", "run_conversation", "run_incident", "shared_model_server", "task_text",
    "triaged_strategy", "apply_routing",
]
