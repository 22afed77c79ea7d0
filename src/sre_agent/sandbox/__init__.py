"""Sandboxes: one isolated copy of the service per incident (backends `ns`, `local`, `docker`).

Public face: choose and create a sandbox (`create_sandbox`, `attach_sandbox`,
`select_backend`) and the interface every backend implements (`Sandbox`).
"""

from sre_agent.sandbox.base import ExecResult, Sandbox, SandboxError
from sre_agent.sandbox.registry import (
    BackendChoice,
    attach_sandbox,
    backend_class,
    backend_names,
    check_backend,
    create_sandbox,
    prune,
    select_backend,
)

__all__ = [
    "BackendChoice", "ExecResult", "Sandbox", "SandboxError", "attach_sandbox", "backend_class",
    "backend_names", "check_backend", "create_sandbox", "prune", "select_backend",
]
