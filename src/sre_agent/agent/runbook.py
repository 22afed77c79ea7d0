"""Model policies served by the local model server: the offline runbook policy and a test double.

A policy is the "model" behind `sre_agent.agent.model_server.ModelServer`: it receives the chat
history the OpenHands SDK sends (OpenAI chat-completions `messages` and `tools`) and returns
the next assistant message (text and/or `tool_calls`).

The runbook policy (`RunbookModel`) plays a skill's runbook (see docs/skill-contract.md):
each step becomes one `terminal` tool call ``{"command": run, "security_risk": ...,
"summary": step name}``; after its observation it applies the step's `expect` (a MULTILINE
regex that must match) and `capture` (name -> one-group regex); a miss ends the run with an
``ESCALATE:`` finish naming the step. It is stateless: its position is recomputed from the
history on every request (it replays its own earlier tool calls and their results), so a
retried request gets the same answer and one instance serves concurrent conversations.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sre_agent.agent.chat import (
    _REJECTED,
    _UNFINISHED,
    call_name,
    command_output,
    finish,
    history,
    text,
    tool_call,
    tool_names,
)
from sre_agent.errors import UsageError
from sre_agent.safety.levels import RISK_LEVELS

RISKS = ("UNKNOWN", *RISK_LEVELS)
_VAR = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
class CompiledStep:
    step: RunbookStep
    expect: re.Pattern[str] | None
    capture: dict[str, re.Pattern[str]]


def compile_step(step: RunbookStep) -> CompiledStep:
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
    return CompiledStep(step, expect, capture)


class StepMisfit(Exception):
    """A step's observation does not fit its runbook (the message says how)."""


class StepBlocked(StepMisfit):
    """A step did not run: the safety policy or the operator refused it."""


def check_step(compiled: CompiledStep, result: str | None, variables: dict[str, str]) -> str:
    """Apply one step's expect/capture to its observation (captures go into `variables`);
    returns the command's output, raises StepBlocked / StepMisfit when it does not fit."""
    step = compiled.step
    if result is None:
        raise StepMisfit(f"runbook step {step.name} got no observation")
    rejected = _REJECTED.match(result)
    if rejected:
        reason = rejected.group("reason").strip() or "no reason given"
        raise StepBlocked(f"runbook step {step.name} was blocked: {reason}")
    if _UNFINISHED.search(result):
        raise StepMisfit(f"runbook step {step.name} did not finish")
    output = command_output(result)
    if compiled.expect is not None and not compiled.expect.search(output):
        raise StepMisfit(f"runbook step {step.name} did not fit: expected /{step.expect}/")
    for var, rx in compiled.capture.items():
        found = rx.search(output)
        if not found:
            raise StepMisfit(f"runbook step {step.name} did not fit: expected /{rx.pattern}/ "
                             f"to capture {var}")
        variables[var] = found.group(1)
    return output


def substitute(step: RunbookStep, variables: Mapping[str, str]) -> str:
    """`run` with each `{var}` replaced by its shell-quoted captured value; KeyError names
    a variable no earlier step captured."""
    return _VAR.sub(lambda m: shlex.quote(variables[m.group(1)]), step.run)


class _Stop(Exception):
    """Internal: the runbook cannot go on; `message` is the final claim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunbookModel:
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
        self._compiled = [compile_step(s) for s in all_steps]
        self._variables = dict(variables or {})
        self._health_verdict = False

    @classmethod
    def no_skill(cls) -> RunbookModel:
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

    # The OfflineModel protocol-----------------------------------------------------------------

    def next_message(self, messages: list[dict], tools: list[dict]) -> dict:
        names = tool_names(tools)
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
        played = [(c, r) for c, r in history(messages) if call_name(c) == "terminal"]
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
        try:
            return substitute(step, variables)
        except KeyError as missing:
            raise _Stop(self._escalation(f"runbook step {step.name} uses {{{missing.args[0]}}}, "
                                         "which no earlier step captured")) from None

    def _check(self, compiled: CompiledStep, result: str | None, variables: dict[str, str]) -> str:
        try:
            return check_step(compiled, result, variables)
        except StepBlocked as stop:
            raise _Stop(f"ESCALATE: {stop}; escalating") from None
        except StepMisfit as stop:
            raise _Stop(self._escalation(str(stop))) from None

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
