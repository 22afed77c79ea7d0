"""Shared rendering helpers for the CLI: JSON to stdout, messages to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(obj: Any) -> None:
    """Print one JSON document (or JSONL line) to stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


def note(message: str) -> None:
    """A human-facing note on stderr (stdout is for results)."""
    sys.stderr.write(message + "\n")

