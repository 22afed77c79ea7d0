"""Confirmation of risky actions: an operator on a real pseudo-terminal, and nobody at all."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import needs_ns

pytestmark = [
    pytest.mark.e2e,
    needs_ns,
]
PROMPT = b"Run it?"
BASE = [sys.executable, "-m", "sre_agent.cli.main", "run", "--scenario", "stale_lockfile",
        "--simulate", "--sandbox", "ns", "--verify-interval-s", "0.3",
        "--require-confirmation-for-risk", "MEDIUM"]


def _run_on_pty(args: list[str], answers: list[bytes], timeout: float = 150) -> tuple[int, bytes]:
    """Run the CLI with stdin/stdout/stderr on a pty; answer each prompt in turn."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "COLUMNS": "200"})
    os.close(slave)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the pty
                    break
                if not chunk:
                    break
                seen += chunk
                while pending and seen.count(PROMPT) > len(answers) - len(pending):
                    os.write(master, pending.pop(0))
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, seen


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_operator_says_yes_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    code, seen = _run_on_pty([*BASE, "--trace-log", str(log)], [b"y\n", b"y\n", b"y\n"])
    assert b"Confirmation needed" in seen and b"MEDIUM" in seen
    assert code == 0, seen.decode(errors="replace")[-2000:]
    (row,) = _rows(log)
    assert row["confirmed_actions"] >= 2 and row["status"] == "fixed"


def test_operator_says_no_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    code, seen = _run_on_pty([*BASE, "--trace-log", str(log)], [b"n\n"])
    assert code == 1, seen.decode(errors="replace")[-2000:]
    (row,) = _rows(log)
    assert row["status"] != "fixed" and not row["service_up"]
    assert [a["decision"] for a in row["actions"]].count("confirm_rejected") == 1


def test_non_interactive_run_rejects_unless_auto_confirm(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    done = subprocess.run([*BASE, "--trace-log", str(log), "--json"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=150)
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["status"] == "escalated" and not summary["service_up"]
    assert any(a["decision"] == "confirm_rejected" for a in _rows(log)[0]["actions"])
    done = subprocess.run([*BASE, "--trace-log", str(log), "--json", "--auto-confirm"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=150)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _rows(log)[1]["confirmed_actions"] >= 2
