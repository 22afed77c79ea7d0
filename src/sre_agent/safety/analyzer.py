"""Plugs our deterministic risk analysis into the OpenHands SDK as a security analyzer.

The SDK asks an analyzer for the risk of every pending action before it runs (and its
confirmation policy then decides). Ours judges `terminal` commands and `file_editor` actions
against the incident's workspace, never trusts the model's own label (the worse of the two
wins), and reports each verdict to `on_verdict` so the trace can say why.

The SDK takes seconds to import, so the class is built on first use by `analyzer_class()`;
importing this module is cheap. The class is created once per process under a stable
module-level name, which the SDK needs to serialise and re-load conversation state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sre_agent.safety.assess import assess_command, assess_file_edit
from sre_agent.safety.levels import Risk
from sre_agent.safety.verdict import RiskVerdict
from sre_agent.sdk import prepare_environment
from sre_agent.workspace.fileops import Refused, resolve

logger = logging.getLogger(__name__)

OnVerdict = Callable[[str, str, RiskVerdict], None]
_CLASS: Any = None
# Keys the terminal accepts with is_input=True: they go to the running program, not a shell.
_SPECIAL_KEYS = re.compile(r"C-[a-zA-Z]|UP|DOWN|LEFT|RIGHT|HOME|END|PGUP|PGDN|TAB|ESC|BS|ENTER|"
                           r"[yYnNqQ]|yes|no")
_QUIET_TOOLS = {"finish", "think", "invoke_skill", "task_tracker"}
# Tools whose every effect is a fixed set of commands rated LOW before the run (no arguments).
_READ_ONLY_TOOLS = {"triage": "triage: runs only the incident's read-only checks (vetted LOW)"}


def judge_action(tool_name: str, action: Any, workspace: str | None) -> tuple[str, RiskVerdict]:
    """Our verdict on one SDK action object: (text shown in traces, verdict)."""
    if tool_name == "terminal":
        text = str(getattr(action, "command", "") or "")
        if getattr(action, "is_input", False) and _SPECIAL_KEYS.fullmatch(text.strip()):
            return text, RiskVerdict(risk=Risk.LOW, reasons=["key sent to the running program"])
        if not text.strip():
            return text, RiskVerdict(risk=Risk.LOW, reasons=["no command (reads pending output)"])
        return text, assess_command(text, workspace)
    if tool_name == "file_editor":
        verb = str(getattr(action, "command", ""))
        path = str(getattr(action, "path", ""))
        return f"{verb} {path}", _resolved(assess_file_edit(verb, path, workspace), verb, path,
                                           workspace)
    if tool_name in _READ_ONLY_TOOLS:
        return tool_name, RiskVerdict(risk=Risk.LOW, reasons=[_READ_ONLY_TOOLS[tool_name]])
    if tool_name in _QUIET_TOOLS:
        return tool_name, RiskVerdict(risk=Risk.LOW, reasons=[f"{tool_name}: no side effect"])
    return tool_name, RiskVerdict(
        risk=Risk.MEDIUM, reasons=[f"tool {tool_name!r} is not analysed: treated as MEDIUM"]
    )


def _resolved(verdict: RiskVerdict, verb: str, path: str, workspace: str | None) -> RiskVerdict:
    """Judge where the path *leads*: a symlink (or `..` through one) out of the workspace is
    HIGH. Reads links on this machine, opens nothing (the edit itself runs in the sandbox)."""
    if workspace is None or verdict.risk == Risk.HIGH:
        return verdict
    try:
        resolve(workspace, path)
    except Refused as exc:
        return RiskVerdict(risk=Risk.HIGH, reasons=[f"file_editor {verb}: {exc}",
                                                    *verdict.reasons])
    except OSError as exc:
        return RiskVerdict(risk=Risk.HIGH, reasons=[f"file_editor {verb}: {exc}"])
    return verdict


def analyzer_class() -> Any:
    """The SDK analyzer class (built once; imports the SDK)."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    prepare_environment()
    # Lazy on purpose: the SDK takes seconds to import and must be prepared first (AGENTS.md);
    # this is the one place safety touches it.
    from openhands.sdk.event import ActionEvent
    from openhands.sdk.security.analyzer import SecurityAnalysis, SecurityAnalyzerBase
    from openhands.sdk.security.risk import SecurityRisk
    from pydantic import PrivateAttr

    class SreRiskAnalyzer(SecurityAnalyzerBase):
        """Deterministic risk analysis of terminal and file_editor actions (sre-agent)."""

        workspace: str | None = None
        _on_verdict: OnVerdict | None = PrivateAttr(default=None)

        def security_risk(self, action: ActionEvent) -> SecurityRisk:
            return self.analyze_action(action).risk

        def analyze_action(self, action: ActionEvent) -> SecurityAnalysis:
            if action.action is None:
                verdict = RiskVerdict(risk=Risk.LOW, reasons=["no executable action"])
                text = action.tool_name
            else:
                text, verdict = judge_action(action.tool_name, action.action, self.workspace)
            label = action.security_risk
            if label is not None and label != SecurityRisk.UNKNOWN:
                verdict = verdict.with_label(label.value, source="model")
            if self._on_verdict is not None:
                try:
                    self._on_verdict(action.tool_name, text, verdict)
                except Exception:  # a broken trace hook must not decide what runs
                    logger.exception("on_verdict callback failed")
            return SecurityAnalysis(
                risk=SecurityRisk(verdict.risk.value),
                details={"reasons": verdict.reasons, "analyzer": "sre-agent"},
            )

    # A function-local class is rejected by the SDK's (de)serialisation registry: give it the
    # module-level identity it effectively has (it is created once and exported below).
    SreRiskAnalyzer.__qualname__ = "SreRiskAnalyzer"
    SreRiskAnalyzer.__module__ = __name__
    globals()["SreRiskAnalyzer"] = SreRiskAnalyzer
    _CLASS = SreRiskAnalyzer
    return _CLASS


def make_security_analyzer(
    workspace: Path | str | None, on_verdict: OnVerdict | None = None
) -> Any:
    """An SDK security analyzer for one incident's workspace.

    Use with `conversation.set_security_analyzer(...)`. `on_verdict(tool_name, text, verdict)`
    is called for every judged action.
    """
    cls = analyzer_class()
    analyzer = cls(workspace=None if workspace is None else str(Path(workspace).absolute()))
    analyzer._on_verdict = on_verdict
    return analyzer


def __getattr__(name: str) -> Any:
    if name == "SreRiskAnalyzer":
        return analyzer_class()
    raise AttributeError(name)


__all__ = ["analyzer_class", "judge_action", "make_security_analyzer"]
