"""`{...}` templates in pack files: `{port:NAME}`, `{param:NAME}`, `{workdir}`, `{pack}`,
`{python}`, `{instance}`. Other braces (shell groups, JSON, format strings) are left alone; an
unknown port or parameter is an error that names it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sre_agent.errors import UsageError

_TEMPLATE = re.compile(r"\{(?:(port|param):([A-Za-z0-9_-]+)|(workdir|pack|python|instance))\}")


@dataclass(frozen=True)
class Values:
    """What the templates of one incident resolve to."""

    ports: Mapping[str, int] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    workdir: str = ""
    pack: str = ""
    python: str = "python3"
    instance: str = ""

    def render(self, text: str, where: str = "") -> str:
        def one(match: re.Match[str]) -> str:
            kind, name, plain = match.groups()
            if plain:
                return str(getattr(self, plain))
            table = self.ports if kind == "port" else self.params
            if name not in table:
                known = ", ".join(sorted(table)) or "none"
                raise UsageError(f"{where or 'template'}: unknown {kind} {name!r} in {text!r}",
                                 f"declared {kind}s: {known}")
            return str(table[name])

        return _TEMPLATE.sub(one, text)

    def render_obj(self, obj: Any, where: str = "") -> Any:
        """Render every string inside lists and dicts (keys included)."""
        if isinstance(obj, str):
            return self.render(obj, where)
        if isinstance(obj, list | tuple):
            return [self.render_obj(item, where) for item in obj]
        if isinstance(obj, dict):
            return {self.render_obj(k, where): self.render_obj(v, where) for k, v in obj.items()}
        return obj


def names_used(text: str) -> set[tuple[str, str]]:
    """The (kind, name) pairs a text refers to, for checks before anything runs."""
    return {(m.group(1), m.group(2)) for m in _TEMPLATE.finditer(text) if m.group(1)}
