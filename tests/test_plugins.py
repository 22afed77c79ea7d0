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


def test_the_installed_plugins_are_read_once_per_import_path(monkeypatch) -> None:  # noqa: ANN001
    """Scanning every distribution's metadata costs tens of ms; a fan-out asks per incident."""
    calls = []
    real = plugins.entry_points

    def counting(**kw):  # noqa: ANN003, ANN202
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(plugins, "entry_points", counting)
    monkeypatch.setattr("sys.path", [*__import__("sys").path, "/nonexistent-sre-test"])
    first = plugins.installed("sre_agent.sandboxes")
    first["mutated"] = "x"  # a caller's copy: the cache is not touched
    assert plugins.installed("sre_agent.sandboxes") == {k: v for k, v in first.items()
                                                        if k != "mutated"}
    assert len(calls) == 1
    monkeypatch.setattr("sys.path", [*__import__("sys").path, "/another-sre-test"])
    plugins.installed("sre_agent.sandboxes")
    assert len(calls) == 2  # a new import path is read again
