"""Running a plan's commands inside the sandbox: in parallel, each bounded in time and size.

`Execute` is how one command reaches the sandbox: `sandbox_executor(sandbox)` for a sandbox
object of this process, `shell_executor(root)` through the sandbox's entry script (what the
agent's own tools use, also on a worker). Both also run a whole plan in one entry (`many`,
see `batch.py`); any other `Execute` runs one command per call on threads. Every distinct
command runs once per look.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sre_agent.sandbox.process import Bounded, run_bounded
from sre_agent.triage import batch
from sre_agent.triage.model import CheckRun, Plan

CHECK_TIMEOUT_S = 3.0
MAX_OUTPUT_BYTES = 32 * 1024
# 8 at a time, also for the triage command: all at once (webstack: 38) would halve a starved
# app's look, but its `ss` would count TIME-WAIT sockets before the look's own curls close theirs,
# and ws_ephemeral_port_range would lose its time-wait evidence (bench/triage_cli.py compare).
PARALLEL = 8

Execute = Callable[[str, float], CheckRun]
Enter = Callable[[str, float, int], Bounded]  # command, timeout, output cap -> how it ran


class EntryExecute:
    """An `Execute` over one way into the sandbox: a command per call, or a plan per entry."""

    def __init__(self, enter: Enter) -> None:
        self.enter = enter

    def __call__(self, command: str, timeout: float) -> CheckRun:
        done = self.enter(command, timeout, MAX_OUTPUT_BYTES)
        output = done.output.decode("utf-8", errors="replace")
        if done.truncated:
            output += "\n[output truncated]"
        if done.timed_out:
            output += "\n[timed out]"
        return CheckRun(command=command, exit_code=None if done.timed_out else done.exit_code,
                        output=output, duration_s=round(done.duration_s, 4),
                        timed_out=done.timed_out)

    def many(self, commands: list[str], timeout: float) -> dict[str, CheckRun] | None:
        """Every command in one entry (None: the batch could not run there)."""
        nonce = secrets.token_hex(8)
        script = batch.script(commands, nonce, timeout=timeout, cap=MAX_OUTPUT_BYTES,
                              parallel=PARALLEL)
        done = self.enter(script, batch.budget(commands, timeout=timeout, parallel=PARALLEL),
                          batch.output_bound(commands, cap=MAX_OUTPUT_BYTES))
        return batch.parse(done.output, commands, nonce, timeout=timeout)


def sandbox_executor(sandbox: Any) -> EntryExecute:
    """Commands through the sandbox's own shell (clean environment, cwd = workdir, bounded)."""

    def enter(command: str, timeout: float, max_bytes: int) -> Bounded:
        return sandbox.exec_raw(command, timeout, max_bytes=max_bytes)

    return EntryExecute(enter)


def shell_executor(root: Path | str) -> EntryExecute:
    """Commands through `<root>/shell`, the sandbox's entry script (as the agent's terminal)."""
    shell = str(Path(root) / "shell")

    def enter(command: str, timeout: float, max_bytes: int) -> Bounded:
        return run_bounded([shell, "-c", command], timeout=timeout, max_bytes=max_bytes)

    return EntryExecute(enter)


def run_plan(plan: Plan, execute: Execute, *,
             timeout: float = CHECK_TIMEOUT_S) -> tuple[dict[str, CheckRun], float]:
    """Run every distinct command of the plan; (command -> run, wall-clock seconds)."""
    commands = plan.commands()
    t0 = time.perf_counter()
    if not commands:
        return {}, 0.0

    many = getattr(execute, "many", None)
    if many is not None:
        try:
            runs = many(commands, timeout)
        except OSError:  # the sandbox is gone or cannot be entered: each command says so below
            runs = None
        if runs is not None:
            return runs, time.perf_counter() - t0

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
