"""Which rule judges which command: filled by the rule modules' `@rule` decorators, read by
the engine (`lookup`). The engine never imports a rule module; `assess` imports
`sre_agent.safety.rules`, which imports each of them once.

A name has at most one rule (registering a second is an error). Names no rule claims are tried
against the `@rule_matching` patterns in registration order, then go to the `@fallback`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sre_agent.safety.call import Call

Rule = Callable[[Call], None]

_BY_NAME: dict[str, Rule] = {}
_BY_PATTERN: list[tuple[re.Pattern[str], Rule]] = []
_FALLBACK: list[Rule] = []


def rule(*names: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the rule for each command name in `names`."""

    def register(fn: Rule) -> Rule:
        for name in names:
            if _BY_NAME.get(name, fn) is not fn:
                raise ValueError(f"two rules for {name!r}: {_BY_NAME[name].__name__}, "
                                 f"{fn.__name__}")
            _BY_NAME[name] = fn
        return fn

    return register


def rule_matching(pattern: str) -> Callable[[Rule], Rule]:
    """Register the decorated function for names that fully match `pattern` (`mkfs.ext4`)."""

    def register(fn: Rule) -> Rule:
        _BY_PATTERN.append((re.compile(pattern), fn))
        return fn

    return register


def fallback(fn: Rule) -> Rule:
    """Register the rule for commands nothing else claims (there is one)."""
    if _FALLBACK and _FALLBACK[0] is not fn:
        raise ValueError(f"two fallback rules: {_FALLBACK[0].__name__}, {fn.__name__}")
    _FALLBACK[:] = [fn]
    return fn


def lookup(name: str) -> Rule:
    """The rule for command `name` (a basename: `rm`, `python3.12`)."""
    found = _BY_NAME.get(name)
    if found is not None:
        return found
    for pattern, fn in _BY_PATTERN:
        if pattern.fullmatch(name):
            return fn
    if not _FALLBACK:
        raise RuntimeError("no rules registered: import sre_agent.safety.rules first")
    return _FALLBACK[0]


def names() -> frozenset[str]:
    """Every command name with its own rule."""
    return frozenset(_BY_NAME)


__all__ = ["Rule", "fallback", "lookup", "names", "rule", "rule_matching"]
