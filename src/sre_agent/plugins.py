"""Plugins: what is installed in an entry-point group, and loading one by name.

The built-in backends (sandboxes, optimizers, scenario packs) are declared as entry points in
`pyproject.toml` exactly as a third-party distribution would declare its own; nothing else
lists them. An unknown name is a usage error that names the installed ones.
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from sre_agent.errors import UsageError


def installed(group: str) -> dict[str, str]:
    """Name -> "module:attribute" of every plugin installed in `group`.

    Read once per import path: scanning every installed distribution's metadata costs tens of
    milliseconds, and a fan-out asks several times per incident. A distribution installed
    while the process runs is seen by the next process (or after `sys.path` changes)."""
    return dict(_installed(group, tuple(sys.path)))


@lru_cache(maxsize=32)
def _installed(group: str, path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((ep.name, ep.value) for ep in entry_points(group=group))


def load(group: str, name: str, *, kind: str, extra_choices: tuple[str, ...] = ()) -> Any:
    """The object the plugin `name` of `group` points at (a class, usually)."""
    targets = installed(group)
    if name not in targets:
        choices = ", ".join([*extra_choices, *targets])
        raise UsageError(f"unknown {kind} {name!r}", f"choose one of: {choices}")
    module_name, _, attr = targets[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module
