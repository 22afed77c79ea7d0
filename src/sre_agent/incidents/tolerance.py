"""Does an observed value fit a tolerance (Chaos Toolkit's vocabulary)?

- a plain value: equal (numbers compare as numbers, `"200"` fits 200);
- a list: one of its items;
- `{type: range, range: [a, b]}`: a number within [a, b];
- `{type: regex, pattern: ...}`: the text matches (search, multi-line);
- `{type: jsonpath, path: ..., expect: ...}`: the JSON document has a match at the path, equal
  to `expect` when given.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from sre_agent.errors import UsageError
from sre_agent.incidents.spec import JsonPathTolerance, RangeTolerance, RegexTolerance


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equal(observed: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(observed, bool):
        return type(observed) is type(expected) and observed == expected  # 1 is not True
    a, b = _number(observed), _number(expected)
    if a is not None and b is not None:
        return a == b
    return str(observed) == str(expected) if isinstance(expected, str) else observed == expected


def jsonpath_values(document: Any, path: str) -> list[Any]:
    """Every value at `path` in `document` (a parsed JSON object, or its text)."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    try:
        expression = _compiled(path)
    except (JsonPathParserError, Exception) as exc:  # the parser raises several kinds
        raise UsageError(f"invalid jsonpath {path!r}: {exc}") from None
    return [match.value for match in expression.find(document)]


@functools.lru_cache(maxsize=256)
def _compiled(path: str) -> Any:
    """A parsed jsonpath (parsing costs ~1 ms; every probe of a verifier asks again)."""
    return parse_jsonpath(path)


def fits(observed: Any, tolerance: Any) -> bool:
    """Whether `observed` fits `tolerance` (see the module docstring)."""
    if isinstance(tolerance, RangeTolerance):
        number = _number(observed)
        low, high = tolerance.range
        return number is not None and low <= number <= high
    if isinstance(tolerance, RegexTolerance):
        text = observed.decode(errors="replace") if isinstance(observed, bytes) else str(observed)
        return re.search(tolerance.pattern, text, re.MULTILINE) is not None
    if isinstance(tolerance, JsonPathTolerance):
        values = jsonpath_values(observed, tolerance.path)
        if tolerance.expect is None:
            return bool(values)
        return any(fits(value, tolerance.expect) for value in values)
    if isinstance(tolerance, list):
        return any(fits(observed, option) for option in tolerance)
    return _equal(observed, tolerance)


def describe(tolerance: Any) -> str:
    """A short human reading of a tolerance, for verdict details."""
    if isinstance(tolerance, RangeTolerance):
        return f"in [{tolerance.range[0]:g}, {tolerance.range[1]:g}]"
    if isinstance(tolerance, RegexTolerance):
        return f"matching /{tolerance.pattern}/"
    if isinstance(tolerance, JsonPathTolerance):
        return f"{tolerance.path} = {tolerance.expect!r}" if tolerance.expect is not None \
            else f"{tolerance.path} present"
    if isinstance(tolerance, list):
        return "one of " + ", ".join(repr(t) for t in tolerance)
    return repr(tolerance)


def as_data(tolerance: Any) -> Any:
    """A tolerance as plain data (to render its templates)."""
    return tolerance.model_dump() if hasattr(tolerance, "model_dump") else tolerance


def from_data(tolerance: Any) -> Any:
    """Plain data back into a typed tolerance (a dict with a known `type`), else as is."""
    if isinstance(tolerance, dict) and "type" in tolerance:
        model = {"range": RangeTolerance, "regex": RegexTolerance,
                 "jsonpath": JsonPathTolerance}.get(tolerance["type"])
        if model is not None:
            return model.model_validate(tolerance)
    return tolerance
