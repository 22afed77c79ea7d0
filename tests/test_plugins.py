"""Plugins: the built-ins are entry points like any third-party plugin would be."""

from __future__ import annotations

import pytest

from sre_agent import plugins
from sre_agent.errors import UsageError


def test_built_in_backends_and_optimizers_are_entry_points() -> None:
    assert set(plugins.installed("sre_agent.sandboxes")) >= {"ns", "local", "docker"}
    assert set(plugins.installed("sre_agent.optimizers")) >= {"gepa", "iterative", "manual"}
    cls = plugins.load("sre_agent.sandboxes", "local", kind="sandbox backend")
    assert cls.__name__ == "LocalSandbox"


def test_an_unknown_name_lists_the_installed_ones() -> None:
    with pytest.raises(UsageError, match="unknown sandbox backend 'vm'") as info:
        plugins.load("sre_agent.sandboxes", "vm", kind="sandbox backend", extra_choices=("auto",))
    assert info.value.hint and info.value.hint.startswith("choose one of: auto, ")
