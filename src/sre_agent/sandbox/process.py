"""Running a process whose output and time are bounded (its output may be the agent's).

Every harness call into a sandbox goes through `run_bounded`: the process gets its own
session, its output is read up to a cap (the rest is drained and dropped, so a flood cannot
fill the harness's memory), and at the deadline the whole process group is killed.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass
class Bounded:
    exit_code: int
    output: bytes
    truncated: bool = False
    timed_out: bool = False
    duration_s: float = 0.0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_bounded(argv: list[str], *, stdin: bytes = b"", timeout: float = 30.0,
                max_bytes: int = DEFAULT_MAX_BYTES, env: dict[str, str] | None = None,
                cwd: str | None = None, merge_stderr: bool = True) -> Bounded:
    """Run `argv` to its end or its deadline; stdout (and stderr) capped at `max_bytes`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.DEVNULL,
        env=env, cwd=cwd, start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    truncated = timed_out = False
    sel = selectors.DefaultSelector()
    try:
        os.set_blocking(proc.stdin.fileno(), False)
        pending = memoryview(stdin)
        if pending:
            sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(min(left, 0.5)):
                if key.fileobj is proc.stdin:
                    try:
                        written = os.write(proc.stdin.fileno(), pending[:65536])
                    except (BrokenPipeError, BlockingIOError):
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    sel.unregister(proc.stdout)
                    continue
                if size < max_bytes:
                    chunks.append(chunk[: max_bytes - size])
                    truncated = truncated or size + len(chunk) > max_bytes
                else:
                    truncated = True
                size += len(chunk)
    finally:
        sel.close()
        if not proc.stdin.closed:
            proc.stdin.close()
    if timed_out:
        _kill_group(proc)
    try:
        code = proc.wait(max(0.1, deadline - time.monotonic()) if not timed_out else 5)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        code = proc.wait(5)
    proc.stdout.close()
    return Bounded(124 if timed_out else code, b"".join(chunks), truncated, timed_out,
                   time.perf_counter() - t0)
