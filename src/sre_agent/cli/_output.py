"""Shared rendering helpers for the CLI: JSON to stdout, messages to stderr, and text from a run
made safe for the terminal that shows it.

What a run produced (the agent's commands and claims, a sandbox's output, a skill the optimizer
wrote from traces) is the model's text, aimed at whoever reads it next. On a terminal, its
control characters would be obeyed: an escape sequence can clear the screen and draw a fake
green verdict, retitle the window, or write to the clipboard (OSC 52), and a bidirectional
override can show a command in another order than it runs. Every human-facing CLI output goes
through `terminal_text` (plain writes) or `console` (rich output, where it is applied to every
piece of text rich did not generate itself), so none of it reaches the terminal as a control.
JSON output needs nothing: `json.dumps` escapes every control character.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# C0 controls but newline and tab, DEL, C1 controls, and the bidirectional formatting marks
_OTHERS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[{_OTHERS}]")
# ... and, where one line is expected, newline and tab too (a newline would start a fake line)
_LINE_CONTROLS = re.compile(f"[\t\n{_OTHERS}]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


def terminal_text(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\e`, `\\x07`, `\\u202e`)
    instead of obeyed; `one_line` shows newlines and tabs that way too (`\\n`, `\\t`)."""
    return (_LINE_CONTROLS if one_line else _CONTROLS).sub(_visible, text)


@cache
def _safe_console_class() -> type[Console]:
    from rich.console import Console  # lazy: commands that print no table start faster
    from rich.segment import Segment

    class SafeConsole(Console):
        """A rich console that shows the control characters of the text it prints: rich's own
        styling and cursor codes are added after this, so colours and live displays still
        work. (`_render_buffer` is where rich turns segments into output; rich is pinned in
        uv.lock and tests/cli/test_output.py fails if this stops covering it.)"""

        def _render_buffer(self, buffer: Any) -> str:
            return super()._render_buffer(
                segment if segment.control
                else Segment(terminal_text(segment.text), segment.style)
                for segment in buffer)

    return SafeConsole


def console(**kwargs: Any) -> Console:
    """The rich console every CLI command prints with (see the module's docstring)."""
    return _safe_console_class()(**kwargs)


def emit_json(obj: Any) -> None:
    """Print one JSON document (or JSONL line) to stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


def note(message: str) -> None:
    """A human-facing note on stderr (stdout is for results)."""
    sys.stderr.write(terminal_text(message) + "\n")
