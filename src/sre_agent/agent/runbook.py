"""Model policies served by the local model server: the offline runbook policy and a test double.

A policy is the "model" behind `sre_agent.agent.model_server.ModelServer`: it receives the chat
history the OpenHands SDK sends (OpenAI chat-completions `messages` and `tools`) and returns
the next assistant message (text and/or `tool_calls`).

The claim convention (for every policy, and asked of a real LLM in the task prompt): the
agent's final `finish` tool call carries a `message` that starts with exactly one of

- ``FIXED:`` the agent believes it repaired the service;
- ``NOTHING_TO_FIX:`` the agent found the service healthy and changed nothing;
- ``ESCALATE:`` the agent stopped and hands the incident to a human (the reason follows).

`parse_claim` reads it back. A claim is only a claim: the verifier decides success.

The runbook policy (`RunbookPolicy`) plays a skill's runbook (see docs/skill-contract.md):
each step becomes one `terminal` tool call ``{"command": run, "security_risk": ...,
"summary": step name}``; after its observation it applies the step's `expect` (a MULTILINE
regex that must match) and `capture` (name -> one-group regex); a miss ends the run with an
``ESCALATE:`` finish naming the step. It is stateless: its position is recomputed from the
history on every request (it replays its own earlier tool calls and their results), so a
retried request gets the same answer and one instance serves concurrent conversations.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sre_agent.errors import UsageError

ClaimKind = Literal["FIXED", "NOTHING_TO_FIX", "ESCALATE"]
CLAIM_KINDS: tuple[ClaimKind, ...] = ("FIXED", "NOTHING_TO_FIX", "ESCALATE")
RISKS = ("UNKNOWN", "LOW", "MEDIUM", "HIGH")

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
_VAR = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Policy(Protocol):
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


def unreachable_base_url() -> str:
    """A loopback base URL where nothing listens (a port bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _tool_names(tools: Sequence[Mapping[str, Any]]) -> set[str]:
    names = set()
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            names.add(fn["name"])
    return names


def _history(messages: Sequence[Mapping[str, Any]]) -> list[tuple[dict, str | None]]:
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


# --- the runbook policy ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunbookStep:
    """One runbook step, as declared in a skill's `metadata.runbook` (docs/skill-contract.md)."""

    name: str
    run: str
    expect: str | None = None
    capture: Mapping[str, str] = field(default_factory=dict)
    mutates: bool = False
    risk: str | None = None

    @classmethod
    def coerce(cls, step: Any) -> RunbookStep:
        """Accept a `RunbookStep`, a mapping from the frontmatter, or any object with fields."""
        if isinstance(step, RunbookStep):
            return step
        get: Callable[[str, Any], Any]
        if isinstance(step, Mapping):
            get = step.get
        else:
            def get(key: str, default: Any = None) -> Any:
                return getattr(step, key, default)
        name, run = get("name", None), get("run", None)
        if not isinstance(name, str) or not isinstance(run, str) or not name or not run:
            raise UsageError(f"runbook step {step!r} needs a non-empty 'name' and 'run'")
        risk = get("risk", None)
        return cls(
            name=name,
            run=run,
            expect=get("expect", None),
            capture=dict(get("capture", None) or {}),
            mutates=bool(get("mutates", False)),
            risk=str(risk).upper() if risk else None,
        )

    @property
    def security_risk(self) -> str:
        """The label sent with the call (the safety layer re-rates it; it never trusts it)."""
        return self.risk or ("MEDIUM" if self.mutates else "LOW")


@dataclass(frozen=True)
class _Compiled:
    step: RunbookStep
    expect: re.Pattern[str] | None
    capture: dict[str, re.Pattern[str]]


def _compile(step: RunbookStep) -> _Compiled:
    try:
        expect = re.compile(step.expect, re.MULTILINE) if step.expect else None
        capture = {k: re.compile(v, re.MULTILINE) for k, v in step.capture.items()}
    except re.error as exc:
        raise UsageError(f"runbook step {step.name}: invalid regex: {exc}") from exc
    for var, rx in capture.items():
        if rx.groups != 1:
            raise UsageError(f"runbook step {step.name}: capture {var} needs exactly one group")
    if step.risk and step.risk not in RISKS:
        raise UsageError(f"runbook step {step.name}: risk must be one of {', '.join(RISKS)}")
    return _Compiled(step, expect, capture)


def command_output(observation: str) -> str:
    """The command's own output: terminal control sequences and metadata lines removed."""
    cleaned = _ANSI.sub("", observation).replace("\r\n", "\n").replace("\r", "\n")
    return _TERMINAL_META.sub("", cleaned).rstrip()


class _Stop(Exception):
    """Internal: the runbook cannot go on; `message` is the final claim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunbookPolicy:
    """Plays a runbook as `terminal` tool calls, then finishes with a claim (see module doc).

    Args:
        steps: the runbook (RunbookStep, frontmatter mappings, or objects with those fields).
        skill_id: the skill whose runbook this is (named in the final claim).
        preamble_steps: steps played before the runbook (same format), e.g. a common triage.
        variables: values known before the first step (rarely needed: runbooks discover).

    Captured values are shell-quoted (`shlex.quote`) when substituted into `run`, so text
    captured from a log cannot inject shell syntax. `${VAR}` is left to the shell.
    """

    def __init__(
        self,
        steps: Sequence[Any],
        *,
        skill_id: str | None,
        preamble_steps: Sequence[Any] = (),
        variables: Mapping[str, str] | None = None,
    ) -> None:
        all_steps = [RunbookStep.coerce(s) for s in (*preamble_steps, *steps)]
        if not all_steps:
            raise UsageError(f"runbook of {skill_id or 'no skill'} has no steps")
        self.skill_id = skill_id
        self.steps: tuple[RunbookStep, ...] = tuple(all_steps)
        self._compiled = [_compile(s) for s in all_steps]
        self._variables = dict(variables or {})
        self._health_verdict = False

    @classmethod
    def no_skill(cls) -> RunbookPolicy:
        """Diagnose only (status, clients.conf, /health), then NOTHING_TO_FIX or ESCALATE."""
        policy = cls(
            [
                RunbookStep(name="status", run="svc status"),
                RunbookStep(
                    name="clients-conf",
                    run="cat etc/clients.conf",
                    capture={"port": r"upstream\s*=\s*127\.0\.0\.1:(\d+)"},
                ),
                RunbookStep(name="health", run="curl -sS -m 3 http://127.0.0.1:{port}/health"),
            ],
            skill_id=None,
        )
        policy._health_verdict = True
        return policy

    # The Policy protocol --------------------------------------------------------------------

    def next_message(self, messages: list[dict], tools: list[dict]) -> dict:
        names = _tool_names(tools)
        can_finish = not names or "finish" in names
        try:
            if names and "terminal" not in names:
                raise _Stop("ESCALATE: the terminal tool is not available; escalating")
            return self._advance(messages)
        except _Stop as stop:
            return finish(stop.message, call_id="rb-finish") if can_finish else text(stop.message)

    # Internals ------------------------------------------------------------------------------

    def _advance(self, messages: Sequence[Mapping[str, Any]]) -> dict:
        variables = dict(self._variables)
        played = [(c, r) for c, r in _history(messages) if _call_name(c) == "terminal"]
        output = ""
        for index, compiled in enumerate(self._compiled):
            if index >= len(played):
                return self._call(index, compiled.step, variables)
            result = played[index][1]
            output = self._check(compiled, result, variables)
        raise _Stop(self._conclusion(output, variables))

    def _call(self, index: int, step: RunbookStep, variables: Mapping[str, str]) -> dict:
        return tool_call(
            "terminal",
            call_id=f"rb-{index}",
            command=self._substitute(step, variables),
            security_risk=step.security_risk,
            summary=step.name,
        )

    def _substitute(self, step: RunbookStep, variables: Mapping[str, str]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise _Stop(
                    self._escalation(f"runbook step {step.name} uses {{{name}}}, "
                                     "which no earlier step captured")
                )
            return shlex.quote(variables[name])

        return _VAR.sub(replace, step.run)

    def _check(self, compiled: _Compiled, result: str | None, variables: dict[str, str]) -> str:
        """Apply expect/capture to one step's observation; raise _Stop when it does not fit."""
        step = compiled.step
        if result is None:
            raise _Stop(self._escalation(f"runbook step {step.name} got no observation"))
        rejected = _REJECTED.match(result)
        if rejected:
            reason = rejected.group("reason").strip() or "no reason given"
            raise _Stop(
                f"ESCALATE: runbook step {step.name} was blocked: {reason}; escalating"
            )
        if _UNFINISHED.search(result):
            raise _Stop(self._escalation(f"runbook step {step.name} did not finish"))
        output = command_output(result)
        if compiled.expect is not None and not compiled.expect.search(output):
            raise _Stop(self._escalation(
                f"runbook step {step.name} did not fit: expected /{step.expect}/"
            ))
        for var, rx in compiled.capture.items():
            found = rx.search(output)
            if not found:
                raise _Stop(self._escalation(
                    f"runbook step {step.name} did not fit: expected /{rx.pattern}/ "
                    f"to capture {var}"
                ))
            variables[var] = found.group(1)
        return output

    def _escalation(self, why: str) -> str:
        if self._health_verdict:
            return f"ESCALATE: no runbook fits: escalating to a human ({why})"
        return f"ESCALATE: {why}; escalating"

    def _conclusion(self, last_output: str, variables: Mapping[str, str]) -> str:
        if self._health_verdict:
            if re.search(r'"status"\s*:\s*"ok"', last_output):
                return (
                    f"NOTHING_TO_FIX: /health on port {variables.get('port', '?')} reports ok; "
                    "changed nothing"
                )
            first = last_output.strip().splitlines()[0][:200] if last_output.strip() else ""
            return f"ESCALATE: no runbook fits: escalating to a human (health: {first!r})"
        names = ", ".join(s.name for s in self.steps)
        captured = ", ".join(f"{k}={v}" for k, v in variables.items())
        summary = f"ran {len(self.steps)} steps ({names})"
        if captured:
            summary += f" with {captured}"
        return f"FIXED: Applied runbook {self.skill_id}: {summary}; service should be healthy"


def _call_name(call: Mapping[str, Any]) -> str | None:
    fn = call.get("function")
    return fn.get("name") if isinstance(fn, Mapping) else None


# --- the scripted test double --------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedRequest:
    """One request a `ScriptedPolicy` received (for assertions)."""

    messages: list[dict]
    tools: list[dict]

    @property
    def tool_names(self) -> set[str]:
        return _tool_names(self.tools)


class ScriptExhausted(RuntimeError):
    """The scripted policy was asked for more messages than it holds."""


class ScriptedPolicy:
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
    def loop(cls, command: str, *, security_risk: str = "LOW") -> ScriptedPolicy:
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
