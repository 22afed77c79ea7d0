"""The small syntax tree the risk engine walks: pipelines of commands with raw words.

Words keep their raw source text (quotes included); `expand` turns one into argv fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Redirect:
    op: str  # '>', '>>', '<', '<<', '<<<', '>&', '&>', '>|', '<>' ...
    target: str  # raw word, or the here-document body for '<<'


@dataclass
class Command:
    words: list[str] = field(default_factory=list)
    assigns: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    subs: list[Script] = field(default_factory=list)  # $(...) and `...`: they run too
    procsubs: list[Script] = field(default_factory=list)  # <(...) >(...)


@dataclass
class Block:
    """A compound command: group, subshell, loop, if, function definition."""

    kind: str
    body: Script
    var: str | None = None
    items: list[str] = field(default_factory=list)
    name: str | None = None
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    parts: list[Command | Block]
    background: bool = False


@dataclass
class Script:
    pipelines: list[Pipeline]
    parsed_by: str = "bashlex"  # or "tokenizer": the engine floors its verdict at MEDIUM
    note: str | None = None


__all__ = ["Block", "Command", "Pipeline", "Redirect", "Script"]
