"""The agent's file editor, run inside its sandbox (the host-side half).

The OpenHands `file_editor` runs in the harness process and follows any path, including
symlinked directories the agent made inside the sandbox (`ln -s .. up`, `ln -s /proc/self/root
r`). Here every view/create/str_replace/insert runs *inside* the sandbox instead, as
`python -I -S -c <sre_agent/fileops.py>` entered through the sandbox's own entry script, where
`/` is read-only, only the workdir is writable and `/proc/self/root` is the sandbox's root; the
script also refuses any path that leaves the workdir. The host keeps only the undo history
(contents it was sent back, never a path it opens).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sre_agent.sandbox.process import run_bounded
from sre_agent.workspace import editing, fileops

EDIT_TIMEOUT_S = 20.0
MAX_ANSWER_BYTES = 3 * fileops.MAX_FILE_BYTES
HISTORY_PER_FILE = 10


def inside_source() -> str:
    """The script the sandbox runs: `fileops` followed by `editing`, as one stdlib-only
    source (editing's import of fileops is dropped: the names are defined just above it)."""
    editor = Path(editing.__file__).read_text()
    start = editor.index("from sre_agent.workspace.fileops import (")
    end = editor.index(")\n", start) + 2
    body = editor[:start] + editor[end:]
    body = body.replace("from __future__ import annotations\n", "", 1)
    return Path(fileops.__file__).read_text() + "\n\n" + body


class SandboxEditor:
    """File editor commands for one sandbox (by its root directory on this machine)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        state = json.loads((self.root / "sandbox.json").read_text())
        self.workdir = str(self.root / "work")
        self.python = str(state.get("python") or "python3")
        self.history: dict[str, list[str]] = defaultdict(list)

    def _inside(self, request: dict[str, Any]) -> dict[str, Any]:
        argv = [str(self.root / "shell"), "-c", 'exec "$@"', "sre-agent-editor",
                self.python, "-I", "-S", "-c", inside_source()]
        payload = json.dumps({**request, "root": self.workdir}).encode()
        done = run_bounded(argv, stdin=payload, timeout=EDIT_TIMEOUT_S,
                           max_bytes=MAX_ANSWER_BYTES, merge_stderr=False)
        if done.timed_out:
            return {"ok": False, "error": f"the file operation did not finish within "
                                          f"{EDIT_TIMEOUT_S:g}s and was stopped"}
        try:
            answer = json.loads(done.output.decode("utf-8", errors="replace"))
        except ValueError:
            answer = None
        if done.truncated or not isinstance(answer, dict):
            return {"ok": False, "error": "the file operation failed inside the sandbox "
                                          f"(exit code {done.exit_code})"}
        return answer

    def run(self, command: str, path: str, **args: Any) -> dict[str, Any]:
        """One editor command -> {ok, text | error}. Mutations keep the undo history."""
        if command == "undo_edit":
            return self._undo(path)
        request = {"op": command, "path": path,
                   **{k: v for k, v in args.items() if v is not None}}
        answer = self._inside(request)
        if answer.get("ok") and command in ("str_replace", "insert") and "old" in answer:
            stack = self.history[path]
            stack.append(str(answer.pop("old")))
            del stack[:-HISTORY_PER_FILE]
        answer.pop("old", None)
        return answer

    def _undo(self, path: str) -> dict[str, Any]:
        stack = self.history.get(path)
        if not stack:
            return {"ok": False, "error": f"No edit history found for {path}."}
        previous = stack[-1]
        answer = self._inside({"op": "write", "path": path, "file_text": previous})
        if not answer.get("ok"):
            return answer
        stack.pop()
        shown = editing.numbered(previous, path)
        return {"ok": True, "text": f"Last edit to {path} undone successfully. {shown}"}
