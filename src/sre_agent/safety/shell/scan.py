"""Quote-aware scanning of raw shell text: matching brackets and finding substitutions.

Shared by the fallback tokenizer and the word expander; bashlex does its own scanning.
"""

from __future__ import annotations


def match_close(src: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index just past the bracket closing the one at `start` (quotes respected)."""
    depth, i, n = 0, start, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            j = src.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch == '"':
            i = skip_dquote(src, i)
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def skip_dquote(src: str, i: int) -> int:
    """Index just past the double-quoted string opening at `i`."""
    n = len(src)
    i += 1
    while i < n:
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        if src.startswith("$(", i):
            i = match_close(src, i + 1, "(", ")")
            continue
        i += 1
    return n


def substitutions(word: str) -> list[tuple[str, str]]:
    """The `$(...)`, backtick and `<(...)` bodies inside a raw word (not in single quotes),
    as `("cmd" | "proc", body)`."""
    found: list[tuple[str, str]] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch == "\\":
            i += 2
        elif ch == "'" and (i == 0 or word[i - 1] != "$"):
            j = word.find("'", i + 1)
            i = n if j < 0 else j + 1
        elif word.startswith(("$(", "<(", ">("), i):
            j = match_close(word, i + 1, "(", ")")
            inner = word[i + 2:j - 1]
            if ch == "$" and inner.startswith("(") and inner.endswith(")"):
                inner = inner[1:-1]  # arithmetic: look for substitutions inside
                found.extend(substitutions(inner))
            else:
                found.append(("proc" if ch != "$" else "cmd", inner))
            i = j
        elif ch == "`":
            j = word.find("`", i + 1)
            j = n if j < 0 else j
            found.append(("cmd", word[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return found


__all__ = ["match_close", "skip_dquote", "substitutions"]
