"""The optimizer registry: installed optimizers (entry points) by name."""

from __future__ import annotations

from sre_agent import plugins
from sre_agent.optimizer.base import Optimizer

ENTRY_POINT_GROUP = "sre_agent.optimizers"


def optimizer_names() -> list[str]:
    return list(plugins.installed(ENTRY_POINT_GROUP))


def get_optimizer(name: str) -> Optimizer:
    """A new instance of the optimizer registered as `name`; UsageError listing the others."""
    optimizer: Optimizer = plugins.load(ENTRY_POINT_GROUP, name, kind="optimizer")()
    return optimizer
