"""Test doubles that ship with the package (as httpx ships MockTransport): a scripted model
for the loopback model server, and an address where no model answers. Not used in production
paths; tests and benchmarks import them from here."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sre_agent import net
from sre_agent.agent.chat import tool_call, tool_names


def unreachable_base_url() -> str:
    """A loopback base URL where nothing listens (a port picked free, then left unbound)."""
    return f"http://127.0.0.1:{net.free_port()}/v1"


# --- the scripted test double --------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedRequest:
    """One request a `ScriptedModel` received (for assertions)."""

    messages: list[dict]
    tools: list[dict]

    @property
    def tool_names(self) -> set[str]:
        return tool_names(self.tools)


class ScriptExhausted(RuntimeError):
    """The scripted policy was asked for more messages than it holds."""


class ScriptedModel:
    """A deterministic test double: returns `responses` in order, recording every request.

    Empty tool-call ids are filled in with unique ids (`call-<n>-<k>`). Asked past the end of
    the script it raises `ScriptExhausted` (the server answers 500), so a test that expected
    fewer calls fails loudly.
    """

    def __init__(self, responses: Sequence[dict], *, repeat_last: bool = False) -> None:
        if not responses:
            raise ValueError("a scripted policy needs at least one response")
        self._responses = [json.loads(json.dumps(r)) for r in responses]
        self._repeat_last = repeat_last
        self._lock = threading.Lock()
        self.requests: list[ScriptedRequest] = []

    @classmethod
    def loop(cls, command: str, *, security_risk: str = "LOW") -> ScriptedModel:
        """Repeat the same terminal call forever (for stuck-detection tests)."""
        call = tool_call("terminal", command=command, security_risk=security_risk,
                         summary="repeat")
        return cls([call], repeat_last=True)

    def next_message(self, messages: list[dict], tools: list[dict]) -> dict:
        with self._lock:
            n = len(self.requests)
            self.requests.append(ScriptedRequest(messages=messages, tools=tools))
            if n >= len(self._responses) and not self._repeat_last:
                raise ScriptExhausted(
                    f"scripted policy exhausted after {len(self._responses)} responses"
                )
        message = json.loads(json.dumps(self._responses[min(n, len(self._responses) - 1)]))
        for k, call in enumerate(message.get("tool_calls") or []):
            if not call.get("id"):
                call["id"] = f"call-{n}-{k}"
        return message
