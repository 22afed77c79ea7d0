"""The agent's terminal: one persistent bash inside its incident's sandbox, spoken to over pipes.

The SDK's tmux terminal starts a tmux client process for every step of every command (one per
environment variable copied into the session, per key sent, per screen read, and per pane
looked up to format a debug message): ~180 processes per incident, about a fifth of a fan-out's
CPU. This terminal keeps one bash for the whole conversation and starts nothing per command:

- The shell is the sandbox's own entry script (`<root>/shell`, `Sandbox.write_entry_script`):
  an empty environment, then the sandbox's namespaces. The root is found from the working
  directory the harness gave the conversation (`<root>/work`), by the same rule as the `$SHELL`
  guard (`sandbox/guard.py`); a directory that is not a sandbox's workdir is refused.
- A command is sent as one line, `eval <quoted command> </dev/null 2>&1`, followed by a marker
  line with a fresh random nonce, the exit code and the working directory. Its output is read
  up to the marker. Commands read no input (a heredoc or a file instead); a syntax error is the
  command's error, not the shell's end.
- Output is capped (head and tail kept, the middle counted and dropped): a flood cannot fill
  the harness's memory.
- A command silent for `no_change_timeout_s`, past its own timeout (at most `MAX_CALL_S`), or
  still writing after `MAX_READ_PER_CALL` bytes in one call, is reported as still running
  (exit code -1; a flood then waits in the pipe, costing nothing): an empty command reads on,
  `C-c` ends it. Ending a command (and `reset`) ends the shell with everything started from
  it, and the next command gets a new shell in the workdir: long-running programs belong to
  the sandbox's supervisor (`svc`).
"""

from __future__ import annotations

import os
import secrets
import selectors
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sre_agent.sandbox import procs
from sre_agent.sandbox.common import SandboxError

MAX_OUTPUT_BYTES = 512 * 1024  # kept per command: half from its start, half from its end
MAX_CALL_S = 120.0  # one call returns by then even if output keeps coming (a flood)
MAX_READ_PER_CALL = 16 * 1024 * 1024  # ... or once this much was read: the rest waits in the pipe
_READ = 65536
_MARK = "__SRE_AGENT_DONE_"


@dataclass
class TerminalResult:
    """What one call to the terminal saw."""

    output: str
    exit_code: int  # -1: still running
    cwd: str = ""
    note: str = ""  # what the harness says about the call (timeouts, restarts, refusals)
    error: bool = False  # the call itself was refused (not the command's failure)


def sandbox_root_of(working_dir: str | Path) -> Path:
    """The sandbox whose workdir `working_dir` is (`<root>/work`, with `<root>/shell` and
    `<root>/sandbox.json`); SandboxError anywhere else."""
    work = Path(os.path.abspath(working_dir))
    root = work.parent
    entry = root / "shell"
    if (work.name != "work" or not (root / "sandbox.json").is_file()
            or entry.is_symlink() or not os.access(entry, os.X_OK)):
        raise SandboxError(f"refusing a terminal outside an incident sandbox ({work})")
    return root


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        for pid in reversed(procs.descendants(proc.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class _Output:
    """One command's output, capped: past `MAX_OUTPUT_BYTES`, its first half is set apart
    (`head`) and only the last half of the rest is kept (`tail`). The marker, always at the
    end, is therefore always in `tail`, whole."""

    def __init__(self) -> None:
        self.head = b""
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        half = MAX_OUTPUT_BYTES // 2
        self.tail += chunk
        if not self.head and len(self.tail) > MAX_OUTPUT_BYTES:
            self.head = bytes(self.tail[:half])
            del self.tail[:half]
        if self.head and len(self.tail) > half:
            extra = len(self.tail) - half
            self.dropped += extra
            del self.tail[:extra]

    def text(self, end: int | None = None) -> str:
        """The output; with `end`, only up to that offset of `tail`."""
        middle = (f"\n[... {self.dropped} bytes of output dropped ...]\n".encode()
                  if self.dropped else b"")
        return (self.head + middle + bytes(self.tail[:end])).decode("utf-8", errors="replace")


class SandboxTerminal:
    """A persistent bash inside one sandbox (thread-safe: one call at a time)."""

    def __init__(self, working_dir: str | Path, *, no_change_timeout_s: float = 20.0) -> None:
        self.root = sandbox_root_of(working_dir)
        self.workdir = self.root / "work"
        self.no_change_timeout_s = no_change_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: tuple[str, _Output] | None = None  # (nonce, output) of a running command
        self._carry = b""
        self._lock = threading.Lock()

    # the shell -----------------------------------------------------------------------------
    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [str(self.root / "shell")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, cwd=str(self.workdir), env={},
                start_new_session=True)
            os.set_blocking(self._proc.stdout.fileno(), False)  # type: ignore[union-attr]
            self._pending, self._carry = None, b""
        return self._proc

    def _end(self, *, gently: bool = False) -> None:
        """End the shell and everything started from it (`gently`: when idle, end of input
        is enough, and the sandbox's teardown ends what it left in the background)."""
        proc, self._proc = self._proc, None
        idle = self._pending is None
        self._pending, self._carry = None, b""
        if proc is None:
            return
        if not (gently and idle):
            _kill_tree(proc)
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
        if proc.stdout is not None:
            proc.stdout.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        with self._lock:
            self._end(gently=True)

    # calls ---------------------------------------------------------------------------------
    def run(self, command: str, *, timeout_s: float | None = None, is_input: bool = False,
            reset: bool = False) -> TerminalResult:
        """One call of the agent's `terminal` tool."""
        with self._lock:
            if reset:
                self._end()
                return TerminalResult("", 0, str(self.workdir),
                                      "[terminal reset: a new shell starts in the workdir]")
            if is_input:
                return self._input(command)
            if self._pending is not None:
                if command.strip():
                    return TerminalResult(
                        "", -1, note="[a command is still running: send an empty command to "
                        "read more of its output, or C-c (is_input) to end it]", error=True)
                return self._read(self._pending, timeout_s)
            if not command.strip():
                return TerminalResult("", 0, note="[no command given]", error=True)
            return self._send(command, timeout_s)

    def _input(self, text: str) -> TerminalResult:
        if text.strip() in ("C-c", "C-d", "C-z", "C-\\"):
            if self._pending is None:
                return TerminalResult("", 0, note="[no command is running]")
            output = self._pending[1].text()
            self._end()
            return TerminalResult(output, 130, note="[interrupted: the command and its shell "
                                  "were ended; the next command starts in a new shell in the "
                                  "workdir]")
        return TerminalResult("", -1 if self._pending else 0, error=True,
                              note="[this terminal takes no interactive input: commands read "
                              "no stdin (use a heredoc or a file); C-c ends a running command]")

    def _send(self, command: str, timeout_s: float | None) -> TerminalResult:
        proc = self._start()
        nonce = secrets.token_hex(8)
        line = (f"eval {shlex.quote(' ' + command)} </dev/null 2>&1; __sre_rc=$?; "
                f"printf '\\n%s %d %s\\n' {_MARK}{nonce} \"$__sre_rc\" \"$PWD\"\n")
        try:
            assert proc.stdin is not None
            proc.stdin.write(line.encode("utf-8", errors="surrogateescape"))
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._end()
            return TerminalResult("", -1, note="[the shell had ended; send the command again "
                                  "to run it in a new shell]", error=True)
        self._pending = (nonce, _Output())
        if self._carry:
            self._pending[1].add(self._carry)
            self._carry = b""
        return self._read(self._pending, timeout_s)

    def _read(self, pending: tuple[str, _Output], timeout_s: float | None) -> TerminalResult:
        nonce, out = pending
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        marker = f"\n{_MARK}{nonce} ".encode()
        start = last_change = time.monotonic()
        read = 0
        fresh = len(out.tail)  # bytes not yet searched (a carry from before)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                if fresh:
                    area = out.tail
                    window = max(0, len(area) - fresh - len(marker) - 128)
                    at = area.find(marker, window)
                    line_end = area.find(b"\n", at + len(marker)) if at >= 0 else -1
                    if line_end >= 0:
                        return self._finish(out, area, at, len(marker), line_end)
                    fresh = 0 if at < 0 else len(area) - at  # a half-read marker line
                now = time.monotonic()
                call_end = start + min(timeout_s or MAX_CALL_S, MAX_CALL_S)
                limit = min(last_change + self.no_change_timeout_s, call_end)
                if now >= limit or read >= MAX_READ_PER_CALL:
                    why = (f"no new output for {now - last_change:.0f} s" if now >= limit
                           and now < call_end else f"still writing after {now - start:.0f} s "
                           f"and {read // 1024} KiB")
                    return TerminalResult(out.text(), -1, note=(
                        f"[{why}; the command is still running: send an empty command to read "
                        "more, or C-c (is_input) to end it]"))
                if not sel.select(min(limit - now, 1.0)):
                    continue
                try:
                    chunk = os.read(proc.stdout.fileno(), _READ)
                except BlockingIOError:
                    continue
                if not chunk:  # the shell ended (`exit`, or it was killed)
                    code = proc.wait(5)
                    output = out.text()
                    self._end()
                    return TerminalResult(output, code, note=(
                        f"[the shell exited with code {code}; the next command starts in a "
                        "new shell in the workdir]"))
                out.add(chunk)
                fresh += len(chunk)
                read += len(chunk)
                last_change = time.monotonic()
        finally:
            sel.close()

    def _finish(self, out: _Output, area: bytearray, at: int, mark_len: int,
                line_end: int) -> TerminalResult:
        code_text, _, cwd = area[at + mark_len:line_end].decode(
            "utf-8", errors="replace").partition(" ")
        self._carry = bytes(area[line_end + 1:])
        self._pending = None
        try:
            code = int(code_text)
        except ValueError:
            code = -1
        return TerminalResult(out.text(end=at), code, cwd)


__all__ = ["MAX_OUTPUT_BYTES", "SandboxTerminal", "TerminalResult", "sandbox_root_of"]
