"""The agent's `triage` tool: the same read-only look the harness takes before a run, on demand.

It takes no arguments (the model cannot choose what runs): its executor runs the incident's
triage plan (vetted LOW when it was built, sent as the tool's parameters) inside the sandbox
through the sandbox's entry script, and answers with the ranked skills, the evidence for and
against each, the health checks, and one JSON line (what the offline policy reads). Secrets
are redacted from the answer like every other observation.
"""

from __future__ import annotations

from typing import Any

from sre_agent.safety import Redactor
from sre_agent.triage.look import shell_executor
from sre_agent.triage.model import Plan
from sre_agent.triage.render import observation_text
from sre_agent.triage.session import look

TRIAGE_TOOL = "sandbox_triage"
DESCRIPTION = (
    "Look at the system before (and after) acting: runs every read-only triage check the "
    "runbooks of this system declare (supervisor status, recent logs, config consistency, "
    "health probes) inside the sandbox, and returns the runbooks the evidence supports, best "
    "first, with the lines that support or rule out each, and whether the service is healthy. "
    "Takes no arguments; changes nothing. Call it when the alert is vague, when the evidence "
    "might contradict the alert, and after a runbook to see whether another fault remains."
)


def triage_tool_class() -> Any:
    """The SDK tool class (built on first use: the SDK is imported here)."""
    from openhands.sdk.tool import Action, Observation, ToolAnnotations, ToolDefinition
    from openhands.sdk.tool import ToolExecutor as Executor

    class TriageAction(Action):
        """Run the triage checks (no arguments)."""

    class TriageObservation(Observation):
        """The triage report."""

    # The SDK deserialises events (a remote conversation's, on the orchestrator) by class name
    # and refuses classes local to a function: these two are published as module-level names
    # (built here only so that importing this module does not import the SDK).
    for kind in (TriageAction, TriageObservation):
        kind.__qualname__ = kind.__name__
        globals()[kind.__name__] = kind

    class _TriageExecutor(Executor):
        def __init__(self, sandbox_root: str, plan: dict[str, Any]) -> None:
            self.execute = shell_executor(sandbox_root)
            self.plan = Plan.model_validate(plan)
            self.redactor = Redactor.from_environment()

        def __call__(self, action: Any, conversation: Any = None) -> Any:
            report = look(self.plan, self.execute)
            return TriageObservation.from_text(
                text=self.redactor.redact(observation_text(report)))

    class SandboxTriageTool(ToolDefinition[TriageAction, TriageObservation]):
        name = "triage"  # what the model calls; the registry name is TRIAGE_TOOL

        @classmethod
        def create(cls, conv_state: Any = None, sandbox_root: str = "",  # type: ignore[override]
                   plan: dict[str, Any] | None = None) -> list[Any]:
            if not sandbox_root or plan is None:
                raise ValueError("sandbox_triage needs the sandbox_root and plan parameters")
            return [cls(description=DESCRIPTION, action_type=TriageAction,
                        observation_type=TriageObservation,
                        executor=_TriageExecutor(sandbox_root, plan),
                        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False,
                                                    idempotentHint=True, openWorldHint=False))]

    return SandboxTriageTool
