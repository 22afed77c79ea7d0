"""The SDK adapter, exercised with real OpenHands action and event objects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sre_agent.agent.sdk import prepare_environment
from sre_agent.safety import Risk, RiskVerdict

prepare_environment()
sdk_event = pytest.importorskip("openhands.sdk.event")
from openhands.sdk.llm.message import MessageToolCall  # noqa: E402
from openhands.sdk.security import ConfirmRisky, SecurityAnalyzerBase, SecurityRisk  # noqa: E402
from openhands.tools.file_editor.definition import FileEditorAction  # noqa: E402
from openhands.tools.terminal.definition import TerminalAction  # noqa: E402

from sre_agent.safety import make_security_analyzer  # noqa: E402


def _event(tool: str, action, label: SecurityRisk = SecurityRisk.UNKNOWN):
    args = action.model_dump(mode="json", exclude={"kind"})
    return sdk_event.ActionEvent(
        thought=[],
        action=action,
        tool_name=tool,
        tool_call_id="call-1",
        tool_call=MessageToolCall(id="call-1", name=tool, arguments=json.dumps(args),
                                  origin="completion"),
        llm_response_id="resp-1",
        security_risk=label,
    )


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    return tmp_path


def test_model_label_low_does_not_hide_a_destructive_command(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    event = _event("terminal", TerminalAction(command="rm -rf /"), SecurityRisk.LOW)
    assert analyzer.security_risk(event) == SecurityRisk.HIGH
    [(_, analysis)] = analyzer.analyze_actions([event])
    assert analysis.risk == SecurityRisk.HIGH
    assert any("outside the workspace" in r for r in analysis.details["reasons"])


def test_model_label_high_raises_a_harmless_command(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    event = _event("terminal", TerminalAction(command="ls -la"), SecurityRisk.HIGH)
    assert analyzer.security_risk(event) == SecurityRisk.HIGH
    low = _event("terminal", TerminalAction(command="ls -la"))
    assert analyzer.security_risk(low) == SecurityRisk.LOW


def test_workspace_decides_inside_versus_outside(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    inside = _event("terminal", TerminalAction(command=f"rm -f {workspace}/run/service.lock"))
    outside = _event("terminal", TerminalAction(command="rm -f /etc/service.lock"))
    assert analyzer.security_risk(inside) == SecurityRisk.MEDIUM
    assert analyzer.security_risk(outside) == SecurityRisk.HIGH


def test_file_editor_actions(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    view = _event("file_editor", FileEditorAction(command="view", path=str(workspace / "etc")))
    edit = _event("file_editor", FileEditorAction(
        command="str_replace", path=str(workspace / "etc/service.conf"), old_str="a", new_str="b"))
    escape = _event("file_editor", FileEditorAction(
        command="create", path="/etc/cron.d/x", file_text="* * * * * root sh\n"))
    secret = _event("file_editor", FileEditorAction(command="view", path="/etc/shadow"))
    assert analyzer.security_risk(view) == SecurityRisk.LOW
    assert analyzer.security_risk(edit) == SecurityRisk.MEDIUM
    assert analyzer.security_risk(escape) == SecurityRisk.HIGH
    assert analyzer.security_risk(secret) == SecurityRisk.HIGH


def test_on_verdict_reports_every_judgement(workspace: Path) -> None:
    seen: list[tuple[str, str, RiskVerdict]] = []
    analyzer = make_security_analyzer(workspace, on_verdict=lambda *a: seen.append(a))
    analyzer.security_risk(_event("terminal", TerminalAction(command="svc status")))
    analyzer.security_risk(_event("file_editor", FileEditorAction(command="view", path="/tmp")))
    assert [(t, c) for t, c, _ in seen] == [
        ("terminal", "svc status"), ("file_editor", "view /tmp")
    ]
    assert seen[0][2].risk == Risk.LOW


def test_broken_callback_does_not_change_the_verdict(workspace: Path) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("trace sink down")

    analyzer = make_security_analyzer(workspace, on_verdict=boom)
    event = _event("terminal", TerminalAction(command="svc restart app"))
    assert analyzer.security_risk(event) == SecurityRisk.MEDIUM


def test_special_keys_and_confirmation_policy(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    key = _event("terminal", TerminalAction(command="C-c", is_input=True))
    assert analyzer.security_risk(key) == SecurityRisk.LOW
    risky = analyzer.security_risk(_event("terminal", TerminalAction(command="pkill -f python")))
    assert ConfirmRisky(threshold=SecurityRisk.HIGH).should_confirm(risky)


def test_survives_sdk_serialisation(workspace: Path) -> None:
    analyzer = make_security_analyzer(workspace)
    dumped = analyzer.model_dump(mode="json")
    assert dumped["kind"] == "SreRiskAnalyzer"
    again = SecurityAnalyzerBase.model_validate(dumped)
    assert type(again) is type(analyzer)
    assert again.workspace == str(workspace)
    assert make_security_analyzer(workspace).__class__ is type(analyzer)  # built once


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, sre_agent.safety.analyzer; print('openhands.sdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
