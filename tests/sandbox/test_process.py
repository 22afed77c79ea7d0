"""`run_bounded`: a process's output and time are capped, whatever it does."""

from __future__ import annotations

import sys

from sre_agent.sandbox.process import run_bounded


def test_output_is_capped_and_the_rest_drained() -> None:
    done = run_bounded([sys.executable, "-c", "import sys; sys.stdout.write('x' * 5_000_000)"],
                       max_bytes=1000, timeout=30)
    assert done.exit_code == 0 and done.truncated and done.output == b"x" * 1000


def test_a_process_past_its_deadline_is_killed_with_its_children() -> None:
    done = run_bounded(["/bin/sh", "-c", "sleep 60 & sleep 60; echo never"], timeout=0.5)
    assert done.timed_out and done.exit_code == 124 and b"never" not in done.output
    assert done.duration_s < 10


def test_stdin_is_delivered_and_stdout_returned() -> None:
    done = run_bounded(["/bin/cat"], stdin=b"hello" * 100000, timeout=30)
    assert done.exit_code == 0 and done.output == b"hello" * 100000
