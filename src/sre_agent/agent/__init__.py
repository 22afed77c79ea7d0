"""The agent: one OpenHands conversation in an incident's sandbox, and the models behind it.

`run_agent(AgentSetup)` drives the conversation (sandbox-bound tools, our security analyzer,
the block/confirm policy, hard limits) and reports what happened; it never judges success.
The model is a real LLM (`llm.py`, litellm through the SDK) or an offline one served on
loopback (`model_server.py`): the runbook model plays a skill's runbook as tool calls.
"""

from sre_agent.agent.chat import CLAIM_KINDS, ClaimKind, finish, parse_claim, text, tool_call
from sre_agent.agent.confirm import ConfirmAnswer, Confirmer, PendingAction, fixed_answer
from sre_agent.agent.driver import AgentOutcome, AgentSetup, run_agent
from sre_agent.agent.llm import ModelConfig, build_llm, resolve_model
from sre_agent.agent.model_server import ModelServer
from sre_agent.agent.runbook import RunbookModel, RunbookStep

__all__ = [
    "CLAIM_KINDS", "AgentOutcome", "AgentSetup", "ClaimKind", "ConfirmAnswer", "Confirmer",
    "ModelConfig", "ModelServer", "PendingAction", "RunbookModel", "RunbookStep", "build_llm",
    "finish", "fixed_answer", "parse_claim", "resolve_model", "run_agent", "text", "tool_call",
]
