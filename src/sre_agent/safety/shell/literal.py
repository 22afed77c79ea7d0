"""What a small pipeline prints, when it is computable without running anything.

`echo`/`printf`/here-strings of literal text, through decoders (`base64 -d`, `base32 -d`,
`xxd -r -p`, `rev`, `tr`, `gunzip`, ...). This is how `echo <b64> | base64 -d | sh` and
`$(printf 'r\\x6d') -rf /` are seen for what they run. Anything else: None.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import lzma
import re
import zlib
from collections.abc import Callable

from sre_agent.safety.shell.expand import decode_escapes
from sre_agent.safety.shell.markers import UNKNOWN
from sre_agent.safety.shell.tree import Command, Script

_MAX_OUT = 1 << 20

Expand = Callable[[str], list[str]]
"""Raw word -> argv fields, in the caller's shell state (variables, cwd)."""


def literal_output(script: Script, expand: Expand) -> bytes | None:
    """What a one-pipeline script prints, or None when that is not computable."""
    if len(script.pipelines) != 1:
        return None
    data: bytes | None = None
    for part in script.pipelines[0].parts:
        if not isinstance(part, Command) or part.subs and not part.words:
            return None
        data = step(part, expand, data)
        if data is None or len(data) > _MAX_OUT:
            return None
    return data


def _stdin_of(cmd: Command, expand: Expand, piped: bytes | None) -> bytes | None:
    for red in cmd.redirects:
        if red.op == "<<":
            return (red.target + "\n").encode()
        if red.op == "<<<":
            return (" ".join(expand(red.target)) + "\n").encode()
        if red.op == "<":
            return None
    return piped


def step(cmd: Command, expand: Expand, piped: bytes | None) -> bytes | None:
    """What one command prints given `piped` on stdin, or None when not computable."""
    argv: list[str] = []
    for raw in cmd.words:
        argv.extend(expand(raw))
    if not argv or any(UNKNOWN in a for a in argv):
        return None
    name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    stdin = _stdin_of(cmd, expand, piped)
    flags = {a for a in args if a.startswith("-")}
    try:
        if name == "echo":
            return _echo(args)
        if name == "printf":
            return _printf(args)
        if name in ("cat", "tee") and not [a for a in args if not a.startswith("-")]:
            return stdin
        if stdin is None:
            return None
        if name in ("base64", "base32", "basenc") and flags & {"-d", "--decode", "-D", "-di"}:
            text = re.sub(rb"\s+", b"", stdin)
            if name == "base32":
                return base64.b32decode(text + b"=" * (-len(text) % 8))
            return base64.b64decode(text + b"=" * (-len(text) % 4), validate=False)
        if name == "xxd" and "-r" in flags:
            return binascii.unhexlify(re.sub(rb"[^0-9a-fA-F]", b"", stdin))
        if name == "rev":
            lines = stdin.decode("utf-8", "replace").split("\n")
            return "\n".join(line[::-1] for line in lines).encode()
        if name == "tr" and len(args) == 2 and not flags:
            src, dst = _tr_set(args[0]), _tr_set(args[1])
            if not src or not dst:
                return None
            dst = dst + dst[-1] * (len(src) - len(dst))
            table = str.maketrans(src, dst[: len(src)])
            return stdin.decode("utf-8", "replace").translate(table).encode()
        if name in ("gunzip", "zcat") or (name == "gzip" and flags & {"-d", "-dc", "-cd"}):
            return gzip.decompress(stdin)
        if name in ("bzcat", "bunzip2") or (name == "bzip2" and "-d" in flags):
            return bz2.decompress(stdin)
        if name in ("xzcat", "unxz") or (name == "xz" and "-d" in flags):
            return lzma.decompress(stdin)
        if name == "openssl" and args[:1] in (["base64"], ["enc"]) and "-d" in flags:
            return base64.b64decode(re.sub(rb"\s+", b"", stdin))
    except (ValueError, binascii.Error, OSError, EOFError, lzma.LZMAError, zlib.error):
        return None
    return None


def _echo(args: list[str]) -> bytes:
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or (escapes and "E" not in args[0])
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = decode_escapes(text)
    return (text + ("\n" if newline else "")).encode()


def _printf(args: list[str]) -> bytes | None:
    if not args:
        return None
    fmt, values = args[0], list(args[1:])
    if re.search(r"%(?![sb%])", fmt):
        return None
    out: list[str] = []
    pieces = re.split(r"(%[sb%])", decode_escapes(fmt))
    for piece in pieces:
        if piece == "%%":
            out.append("%")
        elif piece in ("%s", "%b"):
            value = values.pop(0) if values else ""
            out.append(decode_escapes(value) if piece == "%b" else value)
        else:
            out.append(piece)
    return "".join(out).encode()


def _tr_set(spec: str) -> str:
    if "[:" in spec:
        return ""
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            lo, hi = ord(spec[i]), ord(spec[i + 2])
            if hi < lo:
                return ""
            out.extend(chr(c) for c in range(lo, hi + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


__all__ = ["Expand", "literal_output", "step"]
