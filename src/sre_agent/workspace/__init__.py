"""The incident's workspace seen from code that must not trust it: every path resolved
beneath the workdir, links out refused, FIFOs and devices refused, sizes and time bounded.

`fileops` is stdlib-only and self-contained: the agent's file editor runs its source inside
the sandbox, and host-side readers (ground truths) import it.
"""

from sre_agent.workspace.fileops import (
    MAX_FILE_BYTES,
    Refused,
    is_dir,
    lstat,
    read_bytes,
    resolve,
    tree_size,
    write_text,
)

__all__ = ["MAX_FILE_BYTES", "Refused", "is_dir", "lstat", "read_bytes", "resolve", "tree_size",
           "write_text"]
