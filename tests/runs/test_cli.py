"""`sre-agent run` input handling: bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sre_agent.cli.main import main


@pytest.mark.parametrize("args, message", [
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["--scenario", "disk_full", "--mode", "fast"], "--mode 'fast'"),
    (["--scenario", "disk_full", "--strategy-source", "x"], "--strategy-source 'x'"),
    (["--scenario", "disk_full", "--simulate", "--model", "openai/gpt-4o"], "exclude each other"),
    (["--scenario", "disk_full", "--max-security-risk", "EXTREME"], "not a risk level"),
    (["--scenario", "disk_full", "--max-steps", "0"], "--max-steps"),
    (["--scenario", "disk_full", "--sandbox", "vm"], "unknown sandbox backend 'vm'"),
    (["--scenario", "disk_full", "--verify-consecutive-successes", "9"], "exceeds"),
    (["--scenario", "disk_full", "--mode", "baseline", "--skill-id", "disk-full"], "baseline"),
    (["--scenario", "disk_full", "--skill-id", "nope"], "nope"),
    (["--scenario", "disk_full", "--model", "anthropic/claude-x"], "no API key"),
    ([], "--scenario"),
    (["--scenario", "disk_full", "--require-confirmation-for-risk", "HIGH"],
     "is above --max-security-risk MEDIUM"),
    (["--scenario", "disk_full", "--run-id", "../../etc/x"], "not a valid run id"),
    (["--scenario", "disk_full", "--run-id", "a b"], "not a valid run id"),
    (["--scenario", "disk_full", "--trace-log", "/tmp"], "is a directory"),
    (["--scenario", "disk_full", "--trace-log", "/proc/version"], "not a regular file"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], message: str,
                                      capsys: pytest.CaptureFixture) -> None:
    code = main(["run", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_help_lists_the_original_flags(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--mode", "--strategy-source", "--skill-id", "--simulate", "--max-security-risk",
                 "--require-confirmation-for-risk", "--auto-confirm", "--trace-log",
                 "--disable-trace-log", "--run-id", "--verify-max-attempts", "--keep-sandbox"):
        assert flag in out


def test_bad_trace_logs_fail_before_any_sandbox_starts(tmp_path: Path, runtime_dir: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    before = sorted(runtime_dir.iterdir())
    cases = [(fifo, "not a regular file")]
    if os.geteuid() != 0:  # root writes anywhere
        cases.append((locked / "t.jsonl", "not a writable directory"))
    for path, message in cases:
        assert main(["run", "--scenario", "disk_full", "--simulate", "--trace-log",
                     str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert sorted(runtime_dir.iterdir()) == before, "a sandbox was started"
