"""One exception hierarchy for user-facing failures.

The core raises these; the CLI renders them once, without a traceback. Anything else that
escapes is a bug in our code and keeps its traceback.
"""

from __future__ import annotations


class SreAgentError(Exception):
    """A failure the user can act on: a message and an optional hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(SreAgentError):
    """Bad input: an unknown name, a malformed file, an impossible value. Exit code 2."""

    exit_code = 2


class BackendUnavailable(SreAgentError):
    """A requested backend (sandbox engine, model endpoint) cannot be used here. Exit code 2."""

    exit_code = 2
