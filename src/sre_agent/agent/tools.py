"""The agent's tools, bound to its incident's sandbox (OpenHands SDK classes, built lazily).

- `file_editor`: the SDK's tool definition (same name, schema and description the model
  knows) with an executor that performs every file operation *inside* the sandbox
  (`sre_agent.sandbox.editor`), never in the harness process.
- `terminal`: the SDK's tool definition with an executor that keeps one bash inside the
  sandbox, spoken to over pipes (`sre_agent.sandbox.terminal`): no tmux, no process per step.
- `triage`: the incident's read-only triage checks, on demand (`sre_agent.agent.triage_tool`).

Both executors redact known secrets from what they send back, so nothing the harness holds
reaches the model even if it appeared in a command's output. They are registered under our
own registry names (`sandbox_file_editor`, `sandbox_terminal`) in every process that runs
conversations: the harness, and the agent-server of a worker (`sre_agent.fleet.worker_server`).
"""

from __future__ import annotations

import threading
from typing import Any

from sre_agent.agent.triage_tool import TRIAGE_TOOL, triage_tool_class
from sre_agent.safety import Redactor
from sre_agent.sandbox.editor import SandboxEditor
from sre_agent.sandbox.terminal import SandboxTerminal
from sre_agent.sdk import prepare_environment

EDITOR_TOOL = "sandbox_file_editor"
TERMINAL_TOOL = "sandbox_terminal"
_lock = threading.Lock()
_registered = False


def _redact_observation(observation: Any, redactor: Any) -> Any:
    """A copy of an SDK observation with secrets redacted from its text parts."""
    content = getattr(observation, "content", None)
    if not isinstance(content, list):
        return observation
    changed = False
    parts = []
    for part in content:
        text = getattr(part, "text", None)
        if isinstance(text, str):
            clean = redactor.redact(text)
            if clean != text:
                part = part.model_copy(update={"text": clean})
                changed = True
        parts.append(part)
    return observation.model_copy(update={"content": parts}) if changed else observation


def register_tools() -> None:
    """Register the sandbox-bound tools with the SDK (once per process; imports the SDK)."""
    global _registered
    with _lock:
        if _registered:
            return
        prepare_environment()
        # lazy: the OpenHands SDK boundary
        from openhands.sdk.tool import ToolExecutor, register_tool
        from openhands.tools.file_editor import FileEditorTool
        from openhands.tools.file_editor.definition import FileEditorObservation
        from openhands.tools.terminal import TerminalObservation, TerminalTool
        from openhands.tools.terminal.metadata import CmdOutputMetadata

        class _RedactingExecutor(ToolExecutor):
            def __init__(self, inner: Any) -> None:
                self.inner = inner
                self.redactor = Redactor.from_environment()

            def __call__(self, action: Any, conversation: Any = None) -> Any:
                return _redact_observation(self.inner(action, conversation), self.redactor)

            def close(self) -> None:
                self.inner.close()

        class _SandboxEditorExecutor(ToolExecutor):
            def __init__(self, sandbox_root: str) -> None:
                self.editor = SandboxEditor(sandbox_root)
                self.redactor = Redactor.from_environment()

            def __call__(self, action: Any, conversation: Any = None) -> Any:
                answer = self.editor.run(
                    action.command, action.path, file_text=action.file_text,
                    view_range=action.view_range, old_str=action.old_str,
                    new_str=action.new_str, insert_line=action.insert_line)
                if not answer.get("ok"):
                    return FileEditorObservation.from_text(
                        text=self.redactor.redact(str(answer.get("error", "failed"))),
                        command=action.command, path=action.path, is_error=True)
                return FileEditorObservation.from_text(
                    text=self.redactor.redact(str(answer.get("text", ""))),
                    command=action.command, path=action.path,
                    prev_exist=bool(answer.get("prev_exist", True)))

        class SandboxFileEditorTool(FileEditorTool):
            name = "file_editor"  # what the model calls; the registry name is EDITOR_TOOL

            @classmethod
            def create(cls, conv_state: Any, sandbox_root: str = "") -> Any:  # type: ignore[override]
                if not sandbox_root:
                    raise ValueError("sandbox_file_editor needs the sandbox_root parameter")
                tools = super().create(conv_state)
                return [tool.set_executor(_SandboxEditorExecutor(sandbox_root))
                        for tool in tools]

        class _SandboxTerminalExecutor(ToolExecutor):
            def __init__(self, working_dir: str, no_change_timeout_s: float) -> None:
                self.terminal = SandboxTerminal(working_dir,
                                                no_change_timeout_s=no_change_timeout_s)

            def __call__(self, action: Any, conversation: Any = None) -> Any:
                done = self.terminal.run(action.command, timeout_s=action.timeout,
                                         is_input=action.is_input, reset=action.reset)
                text = done.output + (f"\n{done.note}" if done.note else "")
                return TerminalObservation.from_text(
                    text=text, is_error=done.error, command=action.command,
                    exit_code=done.exit_code, timeout=done.exit_code == -1,
                    metadata=CmdOutputMetadata(exit_code=done.exit_code,
                                               working_dir=done.cwd or None))

            def close(self) -> None:
                self.terminal.close()

        class SandboxTerminalTool(TerminalTool):
            name = "terminal"  # what the model calls; the registry name is TERMINAL_TOOL

            @classmethod
            def create(cls, conv_state: Any,  # type: ignore[override]
                       no_change_timeout_seconds: float = 20.0, **_: Any) -> Any:
                executor = _SandboxTerminalExecutor(conv_state.workspace.working_dir,
                                                    no_change_timeout_seconds)
                tools = super().create(conv_state, executor=executor)
                return [tool.set_executor(_RedactingExecutor(tool.executor)) for tool in tools]

        register_tool(EDITOR_TOOL, SandboxFileEditorTool)
        register_tool(TERMINAL_TOOL, SandboxTerminalTool)
        register_tool(TRIAGE_TOOL, triage_tool_class())
        _registered = True


def tool_specs(sandbox_root: str, terminal_params: dict[str, Any],
               triage_plan: dict[str, Any] | None = None) -> list[Any]:
    """The `Tool` specs of one conversation in the sandbox whose root is `sandbox_root`
    (with `triage` when the incident has a triage plan)."""
    register_tools()
    from openhands.sdk import Tool  # lazy: the SDK boundary

    specs = [Tool(name=TERMINAL_TOOL, params=terminal_params),
             Tool(name=EDITOR_TOOL, params={"sandbox_root": sandbox_root})]
    if triage_plan is not None:
        specs.append(Tool(name=TRIAGE_TOOL,
                          params={"sandbox_root": sandbox_root, "plan": triage_plan}))
    return specs
