"""Sandbox backends behind one interface, registered like plugins.

Built-ins (`ns`, `local`, `docker`) are declared as entry points in the `sre_agent.sandboxes`
group, exactly as a third-party backend would be. `auto` picks docker if an engine answers
within a few seconds, else `ns` if its self-test passes, else `local`, and says why.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sre_agent import net, plugins
from sre_agent.errors import BackendUnavailable, UsageError
from sre_agent.incidents import plan_incident
from sre_agent.sandbox.base import ExecResult, Sandbox, SandboxError, runtime_root
from sre_agent.sandbox.reaper import PruneReport, reap_orphans

ENTRY_POINT_GROUP = "sre_agent.sandboxes"
AUTO_ORDER = ("docker", "ns", "local")


@dataclass
class BackendChoice:
    name: str
    reason: str


def backend_names() -> list[str]:
    return list(plugins.installed(ENTRY_POINT_GROUP))


def backend_class(name: str) -> type[Sandbox]:
    cls: type[Sandbox] = plugins.load(ENTRY_POINT_GROUP, name, kind="sandbox backend",
                                      extra_choices=("auto",))
    return cls


def check_backend(name: str) -> tuple[bool, str]:
    """(usable here?, why) for one backend, without starting a sandbox."""
    cls = backend_class(name)
    test: Callable[[], tuple[bool, str]] | None = getattr(
        importlib.import_module(cls.__module__), "self_test", None)
    return test() if test else (True, cls.description)


def select_backend(name: str = "auto") -> BackendChoice:
    """Resolve `auto` (or check an explicit name) into a usable backend and the reason."""
    if name != "auto":
        ok, why = check_backend(name)
        if not ok:
            others = [n for n in backend_names() if n != name]
            raise BackendUnavailable(f"sandbox backend {name!r} is not usable here: {why}",
                                     f"try --sandbox {' or --sandbox '.join(others)}")
        return BackendChoice(name, why)
    reasons = []
    for candidate in AUTO_ORDER:
        ok, why = check_backend(candidate)
        if ok:
            note = f"; skipped: {'; '.join(reasons)}" if reasons else ""
            return BackendChoice(candidate, f"{why}{note}")
        reasons.append(f"{candidate}: {why}")
    raise BackendUnavailable("no sandbox backend is usable", "; ".join(reasons))


def create_sandbox(scenario: str, seed: int, backend: str = "auto", *,
                   keep: bool = False, inject: bool = True) -> Sandbox:
    """Plan the incident and build its sandbox (not started: call `.start()`)."""
    choice = select_backend(backend)
    cls = backend_class(choice.name)
    prune()  # a crashed run's sandboxes go before new ones come
    # A backend that shares the host's network gets ports free on the host.
    incident = plan_incident(scenario, seed,
                             host_ports=net.free_ports if cls.shares_host_network else None)
    sandbox = cls(incident, keep=keep, inject=inject)
    sandbox.choice_reason = choice.reason  # type: ignore[attr-defined]
    return sandbox


def attach_sandbox(ref: str | Path) -> Sandbox:
    """A kept sandbox, by id (under the runtime directory) or by its directory path."""
    ref = str(ref)
    root = Path(ref) if "/" in ref else runtime_root() / ref
    if root.name == "work":
        root = root.parent
    if not (root / "sandbox.json").exists():
        raise UsageError(f"no kept sandbox at {root}",
                         "pass the id or directory printed by `sre-agent run --keep-sandbox`")
    backend = json.loads((root / "sandbox.json").read_text())["backend"]
    return backend_class(backend).attach(root)


def prune() -> PruneReport:
    """Reap the sandboxes whose owner died (processes, cgroups, directories)."""
    return reap_orphans(attach_sandbox)


__all__ = [
    "attach_sandbox",
    "BackendChoice", "ExecResult", "Sandbox", "SandboxError", "backend_class", "backend_names",
    "check_backend", "create_sandbox", "prune", "select_backend",
]
