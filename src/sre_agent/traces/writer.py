"""The append-only trace log writer: one whole line per run, safe across threads and processes.

The file is only ever appended to: `TraceWriter.append` writes one whole line with a single
`os.write` on an `O_APPEND` descriptor while holding an exclusive `flock`, so concurrent runs in
other threads or processes never interleave. `check_trace_log` is the preflight: nothing runs
whose row could not be written.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from sre_agent.errors import UsageError
from sre_agent.traces.schema import TraceRow


def check_trace_log(path: Path | str) -> None:
    """A trace log we can append to: a regular file (or none yet) in a writable directory.

    Raises `UsageError` naming what is wrong; checked before a run starts so nothing runs
    whose row could not be written.
    """
    path = Path(path)
    hint = "pass a file path with --trace-log, or --disable-trace-log"
    real = os.path.realpath(path)
    if any(real == top or real.startswith(top + "/") for top in ("/proc", "/sys", "/dev")):
        raise UsageError(f"trace log {path} is not a regular file", hint)
    if path.is_dir():
        raise UsageError(f"trace log {path} is a directory", hint)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise UsageError(f"trace log {path} is not a regular file", hint)
        if not os.access(path, os.W_OK):
            raise UsageError(f"trace log {path} is not writable", hint)
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create trace log {path}: {parent} is not a writable "
                         "directory", hint)


class TraceWriter:
    """Appends rows to a trace log; safe across threads and processes.

    The file is opened per append (so a rotated or deleted log is recreated, never truncated)
    with `O_APPEND`, locked with `flock(LOCK_EX)`, and the line goes out in one `os.write`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def append(self, row: TraceRow) -> None:
        if row.model_extra:
            # Rows read from a newer writer may carry unknown fields; a row built here may not:
            # an unknown keyword is a typo that would otherwise vanish silently.
            raise ValueError(f"unknown TraceRow field(s): {sorted(row.model_extra)}")
        data = (row.model_dump_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Non-blocking: a FIFO put where the log was must not hang the run.
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                     | os.O_NONBLOCK, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"trace log {self.path} is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a torn last line must not swallow this row
                written = os.write(fd, data)
                while written < len(data):  # short write (e.g. signal); still under our lock
                    written += os.write(fd, data[written:])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
