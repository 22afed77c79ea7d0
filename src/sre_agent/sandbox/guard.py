"""Defence in depth: any terminal the OpenHands SDK itself opens lands inside its incident.

The agent's own terminal tool does not use it (`sandbox/terminal.py` starts the entry script
directly); this guard covers every other way the SDK might start a shell.

The SDK's tmux terminal ignores `shell_path` and takes its shell from `$SHELL` of the process
that starts the tmux server, and a `reset` re-creates panes. So `SHELL` is pointed, process-
wide, at one wrapper that enters the sandbox whose workdir the pane starts in (each sandbox
writes its own entry script beside its workdir) and refuses to start anywhere else: a
terminal outside an incident fails closed instead of running on the host.
(The per-sandbox entry script is `Sandbox.write_entry_script`.)
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from sre_agent.sandbox.base import runtime_root

_UNIVERSAL = """#!/bin/bash
# sre-agent: enter the incident sandbox whose workdir this shell starts in; refuse elsewhere.
d="$PWD"
while [ -n "$d" ] && [ "$d" != "/" ]; do
  if [ "${d##*/}" = work ] && [ -x "${d%/*}/shell" ] && [ -f "${d%/*}/sandbox.json" ]; then
    exec "${d%/*}/shell" "$@"
  fi
  d="${d%/*}"
done
echo "sre-agent: refusing to open a shell outside an incident sandbox (cwd: $PWD)" >&2
exit 126
"""


def universal_wrapper() -> Path:
    """The process-wide `SHELL`: written once under the runtime directory."""
    path = runtime_root() / "sre-agent-shell"
    if not path.exists() or path.read_text() != _UNIVERSAL:
        path.parent.mkdir(parents=True, exist_ok=True)
        # unique per writer: threads of one process may write it at the same time
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}")
        tmp.write_text(_UNIVERSAL)
        tmp.chmod(0o755)
        tmp.replace(path)
    return path


def install_shell_guard() -> Path:
    """Point `SHELL` at the universal wrapper (before the SDK starts any terminal)."""
    path = universal_wrapper()
    os.environ["SHELL"] = str(path)
    return path
