"""Marker text the shell analysis puts in place of what it cannot know: the one home of each.

Markers travel inside ordinary strings (argv fields, paths), so each is built around its own
control character, one that a command line practically never holds; no two markers share one,
so a marker can never be mistaken for, or cut apart by, another's use
(`tests/safety/test_markers.py` checks that).

Word splitting needs no marker: `expand` keeps field breaks out of band, so a value holding
any of these characters (`"$PWD"` without a workspace) is never split.
"""

from __future__ import annotations

import re

UNKNOWN = "\x00"
"""Text known only at run time (`$X` unset, `$(cmd)`, `$((1+2))`): a path holding it is
unresolvable or a glob from there on, an argv holding it is not evaluated further."""

NO_WORKSPACE = "/\x01workspace"
"""The workspace when the caller gave none: relative paths land inside it, `$PWD` expands to
it. An absolute, normalised one-component path, without glob or other marker characters."""

FOUND = "\x02"
""""Some file under this directory": what `find ... -delete`, `xargs` or an archive extraction
acts on (`<dir>/<FOUND>`)."""

REMOTE_ROOT = "/\x03remote-host"
"""The workspace on another machine (`ssh host cmd`, `kubectl exec`): nothing there is ours."""

REMOTE_HOME = "/\x04remote-home"
"""`~` on another machine."""

RUNTIME_WORD = "__runtime_value__"
"""Replaces `UNKNOWN` in shell text handed back to the parser (`eval "$X"`, `sh -c "$X"`): an
ordinary word, free of quote, glob, operator and marker characters."""

MARKER_CHARS = {
    UNKNOWN: "\x00", NO_WORKSPACE: "\x01", FOUND: "\x02", REMOTE_ROOT: "\x03",
    REMOTE_HOME: "\x04",
}
"""Each marker and the control character that is its own (pairwise distinct)."""

# What a reader sees instead: whole markers first (alternation order), then the workspace
# marker cut by a basename, then lone marker characters (from the command text itself,
# `$'\x01'`), escaped.
_SHOWN = {
    REMOTE_HOME: "~", REMOTE_ROOT: "<remote>", NO_WORKSPACE: "<workspace>",
    NO_WORKSPACE[1:]: "<workspace>", UNKNOWN: "…", FOUND: "<found>",
    **{ch: f"\\x{ord(ch):02x}" for ch in ("\x01", "\x03", "\x04")},
}
_ANY_MARKER = re.compile("|".join(re.escape(text) for text in _SHOWN))


def readable(text: str) -> str:
    """`text` with every marker replaced by what a reader should see (reasons, paths shown)."""
    return _ANY_MARKER.sub(lambda m: _SHOWN[m.group()], text)


__all__ = ["FOUND", "MARKER_CHARS", "NO_WORKSPACE", "REMOTE_HOME", "REMOTE_ROOT", "RUNTIME_WORD",
           "UNKNOWN", "readable"]
