"""The chat-completions vocabulary the offline models speak: assistant messages with tool
calls, the claim convention of a final `finish`, and reading a history back.

The claim convention (for every model, and asked of a real LLM in the task prompt): the
agent's final `finish` tool call carries a `message` that starts with exactly one of

- ``FIXED:`` the agent believes it repaired the service;
- ``NOTHING_TO_FIX:`` the agent found the service healthy and changed nothing;
- ``ESCALATE:`` the agent stopped and hands the incident to a human (the reason follows).

`parse_claim` reads it back. A claim is only a claim: the verifier decides success.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

ClaimKind = Literal["FIXED", "NOTHING_TO_FIX", "ESCALATE"]
CLAIM_KINDS: tuple[ClaimKind, ...] = ("FIXED", "NOTHING_TO_FIX", "ESCALATE")

# How the SDK tells the model an action did not run (UserRejectObservation.to_llm_message):
# confirmation rejections and PreToolUse hook blocks both read "Action rejected: <reason>".
_REJECTED = re.compile(r"^\s*Action (?:rejected|blocked):\s*(?P<reason>.*)", re.DOTALL)
# The terminal's own notes when a command did not finish; the next command would be refused.
_UNFINISHED = re.compile(
    r"\[The command (?:has no new output after|timed out after)|is still running - You CANNOT"
)
# Metadata lines the terminal adds around the command output (not part of what it printed).
_TERMINAL_META = re.compile(
    r"^\[(?:Current working directory|Python interpreter|Command finished with exit code"
    r"|The command completed with exit code)[^\n]*\]$",
    re.MULTILINE,
)
# Terminal control sequences: the subprocess terminal echoes bracketed-paste toggles
# (ESC[?2004l ... ESC[?2004h) around every output, which would break `^...$` expectations.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")



class OfflineModel(Protocol):
    """The model behind one conversation."""

    def next_message(self, messages: list[dict], tools: list[dict]) -> dict:
        """Return the next assistant message (`role`, `content`, optional `tool_calls`)."""
        ...


# --- message helpers -----------------------------------------------------------------------


def tool_call(name: str, *, call_id: str = "", **arguments: Any) -> dict:
    """An assistant message with one tool call; an empty `call_id` is filled in when served."""
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def finish(message: str, *, call_id: str = "") -> dict:
    """An assistant message calling the SDK's `finish` tool."""
    return tool_call("finish", call_id=call_id, message=message)


def text(content: str) -> dict:
    """A plain assistant text message (no tool call)."""
    return {"role": "assistant", "content": content}


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message whose `content` is a string or a list of content parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, Mapping)]
    return "\n".join(p for p in parts if isinstance(p, str))


def parse_claim(message: str) -> tuple[ClaimKind | None, str]:
    """Split a final message into its claim kind and the rest (kind None if no prefix)."""
    stripped = message.strip()
    for kind in CLAIM_KINDS:
        if stripped.startswith(kind + ":"):
            return kind, stripped[len(kind) + 1 :].strip()
    return None, stripped


def tool_names(tools: Sequence[Mapping[str, Any]]) -> set[str]:
    names = set()
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            names.add(fn["name"])
    return names


def history(messages: Sequence[Mapping[str, Any]]) -> list[tuple[dict, str | None]]:
    """Every assistant tool call in order, paired with its tool result text (None if absent)."""
    results = {
        m.get("tool_call_id"): message_text(m) for m in messages if m.get("role") == "tool"
    }
    calls: list[tuple[dict, str | None]] = []
    for m in messages:
        if m.get("role") != "assistant":
            continue
        for call in m.get("tool_calls") or []:
            calls.append((call, results.get(call.get("id"))))
    return calls


def command_output(observation: str) -> str:
    """The command's own output: terminal control sequences and metadata lines removed."""
    cleaned = _ANSI.sub("", observation).replace("\r\n", "\n").replace("\r", "\n")
    return _TERMINAL_META.sub("", cleaned).rstrip()


def call_name(call: Mapping[str, Any]) -> str | None:
    fn = call.get("function")
    return fn.get("name") if isinstance(fn, Mapping) else None
