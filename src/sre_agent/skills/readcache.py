"""The router's reading of its labelled examples, kept on disk between processes.

Reading a text (masks, error signatures, concepts, words: `router._Query.read`) costs ~0.5 ms;
the ~4000 shipped examples cost ~2 s of CPU in every process that routes (a CLI's `triage`,
each fan-out process, each test process). The reads are kept in `paths.cache_dir()`, one JSON
file per version of the reader's own code (its modules' sources and the Python version), so a
change to any reading rule is a new file, never a stale read. The file holds plain data
(text -> terms), is written atomically, and is ignored when unreadable, malformed, too big or
not a regular file (a symlink is not followed):
the texts are then read again. Nothing an agent can write reaches it (it lives on the host).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from sre_agent import paths

MAX_BYTES = 64 * 1024 * 1024
_READER_MODULES = ("alerts.py", "context.py", "masks.py", "router.py", "service_signatures.py",
                   "sigbase.py", "signatures.py", "textnorm.py")


def reader_version() -> str:
    """A digest of the code that reads a text (and the interpreter's version)."""
    h = hashlib.sha256(sys.version.encode())
    here = Path(__file__).resolve().parent
    for name in _READER_MODULES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()[:20]


def _load(path: Path) -> dict[str, list[str]]:
    """The cached reads; {} unless `path` is a regular file (never followed as a symlink, a
    FIFO never blocks) of at most MAX_BYTES holding the expected shape."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return {}
        with os.fdopen(os.dup(fd), "rb") as raw:
            data = json.loads(raw.read(MAX_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if isinstance(k, str) and isinstance(v, list) and all(isinstance(t, str) for t in v)}


def _save(path: Path, reads: dict[str, list[str]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".reads-", dir=path.parent)
    except OSError:
        return  # a cache that cannot be written is only slower
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(reads, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def read_all(texts: Sequence[str], read: Callable[[str], list[str]]) -> list[list[str]]:
    """`read(text)` for every text, from the cache where it has it; what was missing is read
    and added to it."""
    path = paths.cache_dir() / f"router-reads-{reader_version()}.json"
    known = _load(path)
    out, added = [], False
    for text in texts:
        terms = known.get(text)
        if terms is None:
            terms = known[text] = read(text)
            added = True
        out.append(terms)
    if added:
        _save(path, known)
    return out


__all__ = ["read_all", "reader_version"]
