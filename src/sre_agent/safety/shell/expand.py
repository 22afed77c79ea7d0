"""Word expansion as bash does it, for judging: quotes, `$'...'`, `$VAR`, `${VAR:-x}`, `~`,
`$(...)` (evaluated when literal, see `literal`) and word splitting of unquoted results.
Text only known at run time becomes the `UNKNOWN` marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sre_agent.safety.shell.markers import UNKNOWN
from sre_agent.safety.shell.scan import match_close

_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_USER_HOME = re.compile(r"~([a-z_][a-z0-9_-]*)(/|$)")
_PLAIN = re.compile(r"[^\\'\"$`<>~]*")  # a word without these expands to itself

Lookup = Callable[[str], str | None]
SubEval = Callable[[str], str | None]
# One piece of an expanded word: text, or None where word splitting breaks the field. Keeping
# breaks out of band (not as a character) means no value, however odd, is ever split by them.
_Piece = str | None


def decode_escapes(text: str) -> str:
    """Backslash escapes as `$'...'`, `echo -e` and `printf` interpret them."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
                continue
        if nxt in "01234567":
            m = re.match(r"0?[0-7]{1,3}", text[i + 1:])
            if m:
                out.append(chr(int(m.group(), 8) & 0xFF))
                i += 1 + len(m.group())
                continue
        if nxt == "u":
            m = re.match(r"[0-9a-fA-F]{1,4}", text[i + 2:])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
                continue
        out.append(_ANSI.get(nxt, "\\" + nxt))
        i += 2
    return "".join(out)


def expand(raw: str, lookup: Lookup, sub_eval: SubEval, home: str) -> list[str]:
    """Expand one raw word into argv fields. Run-time-only text becomes `UNKNOWN`."""
    if _PLAIN.fullmatch(raw):
        return [raw]
    out: list[_Piece] = []
    i, n = 0, len(raw)
    dq = False
    if raw.startswith("~") and (n == 1 or raw[1] == "/"):
        out.append(home)
        i = 1
    elif user := _USER_HOME.match(raw):
        name = user.group(1)
        out.append("/root" if name == "root" else f"/home/{name}")
        i = 1 + len(name)

    def unquoted(value: str) -> list[_Piece]:
        if dq:
            return [value]
        pieces: list[_Piece] = []
        for k, part in enumerate(re.split(r"[ \t\n]+", value)):
            pieces.extend([None, part] if k else [part])
        return pieces

    while i < n:
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1:i + 2]
            if dq and nxt not in ('"', "\\", "$", "`", "\n"):
                out.append("\\" + nxt)
            elif nxt != "\n":
                out.append(nxt)
            i += 2
        elif ch == "'" and not dq:
            j = raw.find("'", i + 1)
            j = n if j < 0 else j
            out.append(raw[i + 1:j])
            i = j + 1
        elif raw.startswith("$'", i) and not dq:
            j = i + 2
            while j < n and raw[j] != "'":
                j += 2 if raw[j] == "\\" else 1
            out.append(decode_escapes(raw[i + 2:j]))
            i = j + 1
        elif ch == '"':
            dq = not dq
            i += 1
        elif raw.startswith("$((", i):
            j = match_close(raw, i + 1, "(", ")")
            out.append(UNKNOWN)
            i = j
        elif raw.startswith("$(", i) or ch == "`":
            if ch == "`":
                j = raw.find("`", i + 1)
                j = n if j < 0 else j
                inner, i = raw[i + 1:j], j + 1
            else:
                j = match_close(raw, i + 1, "(", ")")
                inner, i = raw[i + 2:j - 1], j
            value = sub_eval(inner)
            out.extend([UNKNOWN] if value is None else unquoted(value.rstrip("\n")))
        elif raw.startswith("${", i):
            j = match_close(raw, i + 1, "{", "}")
            out.extend(unquoted(_brace_param(raw[i + 2:j - 1], lookup, sub_eval, home)))
            i = j
        elif ch == "$" and i + 1 < n and (raw[i + 1].isalnum() or raw[i + 1] in "_@*#?$!-"):
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]", raw[i + 1:])
            name = m.group() if m else raw[i + 1]
            value = lookup(name)
            out.extend([UNKNOWN] if value is None else unquoted(value))
            i += 1 + len(name)
        elif raw.startswith(("<(", ">("), i) and not dq:
            j = match_close(raw, i + 1, "(", ")")
            out.append("/dev/fd/63")
            i = j
        else:
            out.append(ch)
            i += 1
    return _fields(out)


def _fields(pieces: list[_Piece]) -> list[str]:
    """Join pieces into fields; once a word was split, empty fields vanish (as in bash)."""
    if None not in pieces:
        return ["".join(filter(None, pieces))]
    fields: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if piece is None:
            fields.append("".join(current))
            current = []
        else:
            current.append(piece)
    fields.append("".join(current))
    return [f for f in fields if f]


def _brace_param(body: str, lookup: Lookup, sub_eval: SubEval, home: str) -> str:
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!])(.*)", body, re.S)
    if not m or body.startswith("#") or body.startswith("!"):
        return UNKNOWN
    name, rest = m.group(1), m.group(2)
    value = lookup(name)
    if not rest:
        return UNKNOWN if value is None else value
    op = re.match(r":?[-=?+]", rest)
    if op:
        word = "".join(expand(rest[op.end():], lookup, sub_eval, home))
        if op.group().endswith("+"):
            return word if value else ""
        # ${X:-default}: unknown X may be set to anything, so only a known value is certain.
        return value if value else (word if value == "" else UNKNOWN)
    return UNKNOWN  # ${X%...}, ${X/...}, ${X:1:2}: computed at run time


__all__ = ["Lookup", "SubEval", "decode_escapes", "expand"]
