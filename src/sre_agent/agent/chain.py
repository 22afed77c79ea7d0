"""The offline policy with triage: play the chosen runbook, look again, chain the next one.

`ChainedRunbookModel` starts from the harness's routing decision (text and evidence): nothing
to fix (finish, changed nothing), escalate (finish with the evidence), or play a runbook. When
a runbook ends, whether it ran to its end or a step did not fit, it calls the `triage` tool:
green -> FIXED (or NOTHING_TO_FIX if nothing was changed), unless the evidence supports a skill
not tried yet (the probes can lag a fault the fix uncovered): that skill plays; red -> the best
fitting skill it may still play; none -> ESCALATE with what triage saw; a blocked step ->
ESCALATE at once.

A runbook is never repeated once it ran to its end, nor retried while nothing changed since
its last attempt; at most `max_runbooks` are played. Like `RunbookModel` it is stateless: the
call ids (`rb-<attempt>-<step>-<skill>`, `tri-<n>`) let it replay its history on every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sre_agent.agent.chat import call_name, finish, history, text, tool_call, tool_names
from sre_agent.agent.runbook import (
    RunbookStep,
    StepBlocked,
    StepMisfit,
    check_step,
    compile_step,
    substitute,
)
from sre_agent.triage.render import parse_observation

MAX_RUNBOOKS = 3
_RB_ID = re.compile(r"^rb-(\d+)-(\d+)-([a-z0-9-]+)$")


@dataclass
class _Attempt:
    skill: str
    steps: int = 0  # steps whose observation fitted
    mutated: bool = False
    state: str = "running"  # running | done | misfit | blocked
    why: str = ""
    variables: dict[str, str] = field(default_factory=dict)


class _Finish(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChainedRunbookModel:
    """See the module doc. `runbooks`: skill id -> steps (frontmatter mappings or
    RunbookStep); `decision`: the harness's RoutingDecision as data (outcome, skill, reason)."""

    def __init__(self, runbooks: Mapping[str, Sequence[Any]], decision: Mapping[str, Any], *,
                 max_runbooks: int = MAX_RUNBOOKS) -> None:
        self.runbooks = {skill: [compile_step(RunbookStep.coerce(s)) for s in steps]
                         for skill, steps in runbooks.items()}
        self.decision = dict(decision)
        self.max_runbooks = max_runbooks

    # The OfflineModel protocol ----------------------------------------------------------------
    def next_message(self, messages: list[dict], tools: list[dict]) -> dict:
        names = tool_names(tools)
        can_finish = not names or "finish" in names
        try:
            if names and "terminal" not in names:
                raise _Finish("ESCALATE: the terminal tool is not available; escalating")
            return self._advance(history(messages), "triage" in names)
        except _Finish as end:
            return finish(end.message, call_id="rb-finish") if can_finish else text(end.message)

    # Replay -------------------------------------------------------------------------------------
    def _advance(self, calls: list[tuple[dict, str | None]], can_triage: bool) -> dict:
        attempts: list[_Attempt] = []
        looks: list[tuple[int, dict[str, Any] | None]] = []  # (attempts ended, report)
        for call, result in calls:
            name = call_name(call)
            if name == "triage":
                looks.append((len(attempts), parse_observation(result or "")))
                continue
            found = _RB_ID.match(str(call.get("id", "")))
            if name != "terminal" or not found:
                continue
            index, skill = int(found.group(1)), found.group(3)
            if index == len(attempts):
                attempts.append(_Attempt(skill))
            self._replay(attempts[index], int(found.group(2)), result)
        current = attempts[-1] if attempts else None
        if current is None:
            return self._first()
        if current.state == "running":
            return self._step(len(attempts) - 1, current)
        if current.state == "blocked":
            raise _Finish(f"ESCALATE: {current.why}; escalating")
        if not can_triage:
            raise _Finish(self._single_ending(current))
        if not looks or looks[-1][0] < len(attempts):
            return tool_call("triage", call_id=f"tri-{len(looks)}")
        return self._next(attempts, looks[-1][1])

    def _replay(self, attempt: _Attempt, step_index: int, result: str | None) -> None:
        steps = self.runbooks.get(attempt.skill)
        if steps is None or step_index != attempt.steps or attempt.state != "running":
            return
        compiled = steps[step_index]
        try:
            check_step(compiled, result, attempt.variables)
        except StepBlocked as exc:
            attempt.state, attempt.why = "blocked", str(exc)
            return
        except StepMisfit as exc:
            attempt.state, attempt.why = "misfit", str(exc)
            attempt.mutated = attempt.mutated or compiled.step.mutates
            return
        attempt.steps += 1
        attempt.mutated = attempt.mutated or compiled.step.mutates
        if attempt.steps == len(steps):
            attempt.state = "done"

    # Decisions ----------------------------------------------------------------------------------
    def _first(self) -> dict:
        outcome = self.decision.get("outcome")
        reason = str(self.decision.get("reason") or "")
        skill = self.decision.get("skill")
        if outcome == "nothing_to_fix":
            raise _Finish(f"NOTHING_TO_FIX: triage found the service healthy ({reason}); "
                          "changed nothing")
        if outcome != "play" or skill not in self.runbooks:
            raise _Finish(f"ESCALATE: no runbook fits: escalating to a human ({reason})")
        return self._step(0, _Attempt(str(skill)))

    def _step(self, index: int, attempt: _Attempt) -> dict:
        step = self.runbooks[attempt.skill][attempt.steps].step
        try:
            command = substitute(step, attempt.variables)
        except KeyError as missing:
            raise _Finish(f"ESCALATE: runbook step {step.name} of {attempt.skill} uses "
                          f"{{{missing.args[0]}}}, which no earlier step captured") from None
        return tool_call("terminal", call_id=f"rb-{index}-{attempt.steps}-{attempt.skill}",
                         command=command, security_risk=step.security_risk, summary=step.name)

    def _next(self, attempts: list[_Attempt], report: dict[str, Any] | None) -> dict:
        played = ", then ".join(f"{a.skill} ({a.state})" for a in attempts)
        changed = any(a.mutated for a in attempts)
        if report is None:
            raise _Finish(f"ESCALATE: triage gave no report after {played}; escalating")
        if report.get("healthy"):
            lagging = [skill for skill in report.get("fitting") or [] if skill in self.runbooks
                       and not any(a.skill == skill for a in attempts)]
            if lagging and len(attempts) < self.max_runbooks:
                # the probes can lag a fault a fix just uncovered (a crash loop behind a
                # heartbeat that has not expired yet): evidence of a skill not tried yet wins
                return self._step(len(attempts), _Attempt(lagging[0]))
            if changed:
                raise _Finish(f"FIXED: applied runbooks {played}; triage sees every health "
                              "check green")
            raise _Finish(f"NOTHING_TO_FIX: triage sees every health check green; {played} "
                          "changed nothing")
        if len(attempts) >= self.max_runbooks:
            raise _Finish(f"ESCALATE: still red after {len(attempts)} runbooks ({played}); "
                          "escalating")
        for skill in report.get("fitting") or []:
            if skill in self.runbooks and _may_play(skill, attempts):
                return self._step(len(attempts), _Attempt(skill))
        last = attempts[-1]
        why = f"; last: {last.why}" if last.why else ""
        raise _Finish(f"ESCALATE: still red after {played} and no other runbook fits what "
                      f"triage sees{why}; escalating")

    def _single_ending(self, attempt: _Attempt) -> str:
        if attempt.state == "done":
            return f"FIXED: Applied runbook {attempt.skill}; service should be healthy"
        return f"ESCALATE: {attempt.why}; escalating"


def _may_play(skill: str, attempts: list[_Attempt]) -> bool:
    """Never repeat a runbook that ran to its end, nor one that changed nothing since."""
    tried = [i for i, a in enumerate(attempts) if a.skill == skill]
    if not tried:
        return True
    last = tried[-1]
    if attempts[last].state == "done":
        return False
    return any(a.mutated for a in attempts[last + 1:])
