"""The SDK adapter, exercised with real OpenHands action and event objects.

The SDK is imported by the `sdk` fixture, after `prepare_environment`, never while collecting.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sre_agent.safety import Risk, RiskVerdict, make_security_analyzer
from sre_agent.sdk import prepare_environment


@pytest.fixture(scope="module")
def sdk() -> SimpleNamespace:
    """The SDK classes these tests use."""
    prepare_environment()
    event = pytest.importorskip("openhands.sdk.event")
    from openhands.sdk.llm.message import MessageToolCall
    from openhands.sdk.security import ConfirmRisky, SecurityAnalyzerBase, SecurityRisk
    from openhands.tools.file_editor.definition import FileEditorAction
    from openhands.tools.terminal.definition import TerminalAction

    return SimpleNamespace(
        ActionEvent=event.ActionEvent, MessageToolCall=MessageToolCall, ConfirmRisky=ConfirmRisky,
        SecurityAnalyzerBase=SecurityAnalyzerBase, Risk=SecurityRisk,
        FileEditorAction=FileEditorAction, TerminalAction=TerminalAction,
    )


def _event(sdk: SimpleNamespace, tool: str, action: Any, label: Any = None) -> Any:
    args = action.model_dump(mode="json", exclude={"kind"})
    return sdk.ActionEvent(
        thought=[],
        action=action,
        tool_name=tool,
        tool_call_id="call-1",
        tool_call=sdk.MessageToolCall(id="call-1", name=tool, arguments=json.dumps(args),
                                      origin="completion"),
        llm_response_id="resp-1",
        security_risk=sdk.Risk.UNKNOWN if label is None else label,
    )


def _terminal(sdk: SimpleNamespace, command: str, label: Any = None, **kw: Any) -> Any:
    return _event(sdk, "terminal", sdk.TerminalAction(command=command, **kw), label)


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    return tmp_path


def test_model_label_low_does_not_hide_a_destructive_command(sdk: SimpleNamespace,
                                                             workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    event = _terminal(sdk, "rm -rf /", sdk.Risk.LOW)
    assert analyzer.security_risk(event) == sdk.Risk.HIGH
    [(_, analysis)] = analyzer.analyze_actions([event])
    assert analysis.risk == sdk.Risk.HIGH
    assert any("outside the workspace" in r for r in analysis.details["reasons"])


def test_model_label_high_raises_a_harmless_command(sdk: SimpleNamespace,
                                                    workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    event = _terminal(sdk, "ls -la", sdk.Risk.HIGH)
    assert analyzer.security_risk(event) == sdk.Risk.HIGH
    low = _terminal(sdk, "ls -la")
    assert analyzer.security_risk(low) == sdk.Risk.LOW


def test_workspace_decides_inside_versus_outside(sdk: SimpleNamespace, workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    inside = _terminal(sdk, f"rm -f {workspace}/run/service.lock")
    outside = _terminal(sdk, "rm -f /etc/service.lock")
    assert analyzer.security_risk(inside) == sdk.Risk.MEDIUM
    assert analyzer.security_risk(outside) == sdk.Risk.HIGH


def test_file_editor_actions(sdk: SimpleNamespace, workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    edit_action = sdk.FileEditorAction
    view = _event(sdk, "file_editor", edit_action(command="view", path=str(workspace / "etc")))
    edit = _event(sdk, "file_editor", edit_action(
        command="str_replace", path=str(workspace / "etc/service.conf"), old_str="a", new_str="b"))
    escape = _event(sdk, "file_editor", edit_action(
        command="create", path="/etc/cron.d/x", file_text="* * * * * root sh\n"))
    secret = _event(sdk, "file_editor", edit_action(command="view", path="/etc/shadow"))
    assert analyzer.security_risk(view) == sdk.Risk.LOW
    assert analyzer.security_risk(edit) == sdk.Risk.MEDIUM
    assert analyzer.security_risk(escape) == sdk.Risk.HIGH
    assert analyzer.security_risk(secret) == sdk.Risk.HIGH


def test_on_verdict_reports_every_judgement(sdk: SimpleNamespace, workspace: Path) -> None:
    seen: list[tuple[str, str, RiskVerdict]] = []
    analyzer = make_security_analyzer(workspace, on_verdict=lambda *a: seen.append(a))
    analyzer.security_risk(_terminal(sdk, "svc status"))
    analyzer.security_risk(_event(sdk, "file_editor",
                                  sdk.FileEditorAction(command="view", path="/tmp")))
    assert [(t, c) for t, c, _ in seen] == [
        ("terminal", "svc status"), ("file_editor", "view /tmp")
    ]
    assert seen[0][2].risk == Risk.LOW


def test_broken_callback_does_not_change_the_verdict(sdk: SimpleNamespace,
                                                     workspace: Path) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("trace sink down")

    analyzer = make_security_analyzer(workspace, on_verdict=boom)
    event = _terminal(sdk, "svc restart app")
    assert analyzer.security_risk(event) == sdk.Risk.MEDIUM


def test_special_keys_and_confirmation_policy(sdk: SimpleNamespace, workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    key = _terminal(sdk, "C-c", is_input=True)
    assert analyzer.security_risk(key) == sdk.Risk.LOW
    risky = analyzer.security_risk(_terminal(sdk, "pkill -f python"))
    assert sdk.ConfirmRisky(threshold=sdk.Risk.HIGH).should_confirm(risky)


def test_survives_sdk_serialisation(sdk: SimpleNamespace, workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    dumped = analyzer.model_dump(mode="json")
    assert dumped["kind"] == "SreRiskAnalyzer"
    again = sdk.SecurityAnalyzerBase.model_validate(dumped)
    assert type(again) is type(analyzer)
    assert again.workspace == str(workspace)
    assert make_security_analyzer(workspace).__class__ is type(analyzer)  # built once


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, sre_agent.safety.analyzer; print('openhands.sdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_triage_is_read_only_and_unknown_tools_are_not() -> None:
    from sre_agent.safety.analyzer import judge_action

    text, verdict = judge_action("triage", SimpleNamespace(), "/w")
    assert (text, verdict.risk) == ("triage", Risk.LOW) and "read-only" in verdict.reasons[0]
    assert judge_action("browser", SimpleNamespace(), "/w")[1].risk == Risk.MEDIUM
