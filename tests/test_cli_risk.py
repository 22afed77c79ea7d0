"""`sre-agent risk` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.cli.main import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["risk", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rm -rf /"], capsys)
    assert code == 0
    first, *rest = out.splitlines()
    assert first.split() == ["HIGH", "block", "rm", "-rf", "/"]
    assert rest and all(line.startswith("  - ") for line in rest)


def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--json", "--workspace", str(tmp_path), "rm -f run/service.lock"],
                        capsys)
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == {"command", "risk", "decision", "reasons"}
    assert obj == {**obj, "command": "rm -f run/service.lock", "risk": "MEDIUM",
                   "decision": "allow"}
    assert obj["reasons"] and all(isinstance(r, str) for r in obj["reasons"])


def test_policy_flags(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["--json", "--max-security-risk", "high", "rm -rf /"], capsys)
    assert json.loads(out)["decision"] == "allow"
    _, out, _ = _run(["--json", "--require-confirmation-for-risk", "MEDIUM", "svc restart app"],
                     capsys)
    assert json.loads(out)["decision"] == "confirm"
    _, out, _ = _run(["--max-security-risk", "low", "svc restart app"], capsys)
    assert out.split()[:2] == ["MEDIUM", "block"]
    _, out, _ = _run(["--require-confirmation-for-risk", "low", "--auto-confirm", "ls"], capsys)
    assert out.split()[:2] == ["LOW", "confirm(auto)"]


def test_file_keeps_order_and_skips_comments(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cmds.txt"
    f.write_text("# header\nsvc status\n\nrm -rf /\n  # indented comment\nsvc restart app\n",
                 encoding="utf-8")
    code, out, _ = _run(["--json", "--file", str(f)], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["command"] for r in rows] == ["svc status", "rm -rf /", "svc restart app"]
    assert [r["risk"] for r in rows] == ["LOW", "HIGH", "MEDIUM"]
    code, out, _ = _run(["--file", str(f)], capsys)
    assert [ln.split()[0] for ln in out.splitlines() if not ln.startswith("  ")] == \
        ["LOW", "HIGH", "MEDIUM"]


@pytest.mark.parametrize("workspace", [None, "/tmp/ws"])
def test_pwd_is_the_workspace(workspace: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--workspace", workspace] if workspace else []
    for command, risk in (('rm -f "$PWD/run/x.lock"', "MEDIUM"), ('rm -rf "$PWD"', "HIGH"),
                          ('cd "$PWD/run" && rm -f x.lock', "MEDIUM")):
        code, out, _ = _run(["--json", *where, command], capsys)
        obj = json.loads(out)
        assert code == 0 and obj["risk"] == risk, obj
        assert not any("root filesystem" in r for r in obj["reasons"])


@pytest.mark.parametrize("args", [
    [], ["--file", "/nonexistent/cmds.txt"], ["--max-security-risk", "extreme", "ls"],
    ["--require-confirmation-for-risk", "sometimes", "ls"],
])
def test_bad_input_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(args, capsys)
    assert code == 2
    assert out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_risk_command_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = ("import sys; from sre_agent.cli.main import main; main(['risk', '--json', 'ls']); "
            "print('openhands.sdk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
