"""Running a plan's commands inside the sandbox: in parallel, each bounded in time and size.

`Execute` is how one command reaches the sandbox: `sandbox_executor(sandbox)` for a sandbox
object of this process, `shell_executor(root)` through the sandbox's entry script (what the
agent's own tools use, also on a worker). Every distinct command runs once per look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sre_agent.sandbox.process import run_bounded
from sre_agent.triage.model import CheckRun, Plan

CHECK_TIMEOUT_S = 3.0
MAX_OUTPUT_BYTES = 32 * 1024
# 8 at a time, also for the triage command: all at once (webstack: 38) would halve a starved
# app's look, but its `ss` would count TIME-WAIT sockets before the look's own curls close theirs,
# and ws_ephemeral_port_range would lose its time-wait evidence (bench/triage_cli.py compare).
PARALLEL = 8

Execute = Callable[[str, float], CheckRun]


def sandbox_executor(sandbox: Any) -> Execute:
    """Commands through `Sandbox.exec` (clean environment, cwd = workdir, bounded)."""

    def execute(command: str, timeout: float) -> CheckRun:
        done = sandbox.exec(command, timeout)
        return CheckRun(command=command, exit_code=done.exit_code,
                        output=done.output[-MAX_OUTPUT_BYTES:], duration_s=done.duration_s,
                        timed_out=done.output.endswith("[timed out]"))

    return execute


def shell_executor(root: Path | str) -> Execute:
    """Commands through `<root>/shell`, the sandbox's entry script (as the agent's terminal)."""
    shell = str(Path(root) / "shell")

    def execute(command: str, timeout: float) -> CheckRun:
        done = run_bounded([shell, "-c", command], timeout=timeout, max_bytes=MAX_OUTPUT_BYTES)
        return CheckRun(command=command, exit_code=done.exit_code,
                        output=done.output.decode("utf-8", errors="replace"),
                        duration_s=round(done.duration_s, 4), timed_out=done.timed_out)

    return execute


def run_plan(plan: Plan, execute: Execute, *,
             timeout: float = CHECK_TIMEOUT_S) -> tuple[dict[str, CheckRun], float]:
    """Run every distinct command of the plan; (command -> run, wall-clock seconds)."""
    commands = plan.commands()
    t0 = time.perf_counter()
    if not commands:
        return {}, 0.0

    def one(command: str) -> CheckRun:
        try:
            return execute(command, timeout)
        except OSError as exc:  # the sandbox is gone or cannot be entered: no evidence
            return CheckRun(command=command, exit_code=None, output=f"[not run: {exc}]",
                            duration_s=0.0)

    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(commands)),
                            thread_name_prefix="triage") as pool:
        runs = dict(zip(commands, pool.map(one, commands), strict=True))
    return runs, time.perf_counter() - t0
