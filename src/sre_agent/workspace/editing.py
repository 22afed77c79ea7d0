"""The agent's file editor (the SDK's `file_editor` semantics), run inside the sandbox.

`python -I -S -c <fileops source + this source>` reads one JSON request on stdin and prints
one JSON answer (`sandbox/editor.py` builds that source). Every path
goes through `fileops`: confined to the workdir, links out refused, regular files only.
Stdlib only. When run inside, the `fileops` import below is replaced by the module itself.
"""

from __future__ import annotations

import json
import os
import sys

from sre_agent.workspace.fileops import (  # inside: fileops is prepended
    DIR_FLAGS,
    Refused,
    is_dir,
    open_dir,
    read_bytes,
    resolve,
    write_text,
)

MAX_RESPONSE_CHARS = 16000  # the SDK editor's limit on what one observation shows
SNIPPET_LINES = 4
TRUNCATED = ("<response clipped><NOTE>Due to the max output limit, only part of this file has "
             "been shown to you. Use `grep -n` in the terminal to find the line numbers you "
             "need, then view a range.</NOTE>")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RESPONSE_CHARS else text[:MAX_RESPONSE_CHARS] + TRUNCATED


def numbered(content: str, what: str, start: int = 1) -> str:
    lines = _clip(content).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "\n".join(f"{i + start:6}\t{line}" for i, line in enumerate(lines))
    return f"Here's the result of running `cat -n` on {what}:\n" + (body + "\n" if body else "")


def _read_text(root: str, path: str) -> str:
    data = read_bytes(root, path)
    if b"\0" in data[:8192]:
        raise Refused(f"{path} appears to be binary: this tool reads and edits text only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"{path} is not UTF-8 text: use the terminal for it") from None


def _view_dir(root: str, path: str, parts: list[str]) -> str:
    lines = [path.rstrip("/") or "/"]
    hidden = 0
    dfd = open_dir(root, parts)
    try:
        with os.scandir(dfd) as entries:
            top = sorted(entries, key=lambda e: e.name)
        for entry in top:
            if entry.name.startswith("."):
                hidden += 1
                continue
            shown = f"{path.rstrip('/')}/{entry.name}"
            if entry.is_symlink():
                lines.append(f"{shown} -> {os.readlink(entry.name, dir_fd=dfd)}")
            elif entry.is_dir(follow_symlinks=False):
                lines.append(shown + "/")
                try:
                    sub = os.open(entry.name, DIR_FLAGS, dir_fd=dfd)
                except OSError:
                    continue
                try:
                    with os.scandir(sub) as children:
                        for child in sorted(children, key=lambda e: e.name):
                            if child.name.startswith("."):
                                continue
                            suffix = "/" if child.is_dir(follow_symlinks=False) else ""
                            lines.append(f"{shown}/{child.name}{suffix}")
                finally:
                    os.close(sub)
            else:
                lines.append(shown)
    finally:
        os.close(dfd)
    text = (f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden "
            "items:\n" + "\n".join(lines))
    if hidden:
        text += (f"\n\n{hidden} hidden files/directories in this directory are excluded. You can "
                 f"use 'ls -la {path}' to see them.")
    return _clip(text)


def _view(root: str, path: str, view_range: list[int] | None) -> dict:
    parts, exists = resolve(root, path)
    if not exists:
        raise Refused(f"The path {path} does not exist. Please provide a valid path.")
    if is_dir(root, path):
        if view_range:
            raise Refused("The `view_range` parameter is not allowed when `path` points to a "
                          "directory.")
        return {"text": _view_dir(root, path, parts)}
    content = _read_text(root, path)
    if not view_range:
        return {"text": numbered(content, path)}
    lines = content.split("\n")
    if content.endswith("\n"):
        lines.pop()
    if len(view_range) != 2 or not all(isinstance(i, int) for i in view_range):
        raise Refused(f"Invalid `view_range` {view_range}: it should be two integers.")
    start, end = view_range
    if start < 1 or start > max(1, len(lines)):
        raise Refused(f"Invalid `view_range` {view_range}: its first element should be within "
                      f"the range of lines of the file: [1, {len(lines)}].")
    note = ""
    if end == -1:
        end = len(lines)
    elif end > len(lines):
        note = (f"NOTE: We only show up to {len(lines)} since there're only {len(lines)} lines "
                "in this file.\n")
        end = len(lines)
    if end < start:
        raise Refused(f"Invalid `view_range` {view_range}: its second element should be greater "
                      "than or equal to the first.")
    return {"text": note + numbered("\n".join(lines[start - 1:end]) + "\n", path, start)}


def _snippet(content: str, first_line: int, added_lines: int, path: str) -> str:
    lines = content.split("\n")
    start = max(0, first_line - 1 - SNIPPET_LINES)
    end = min(len(lines), first_line + SNIPPET_LINES + added_lines)
    return numbered("\n".join(lines[start:end]), f"a snippet of {path}", start + 1)


def _str_replace(root: str, path: str, old: str, new: str) -> dict:
    if old == new:
        raise Refused("No replacement was performed. `new_str` and `old_str` must be different.")
    content = _read_text(root, path)
    needle = old
    count = content.count(needle)
    if count == 0 and old.strip() and old.strip() != old:
        needle = old.strip()
        count = content.count(needle)
    if count == 0:
        raise Refused(f"No replacement was performed, old_str `{old}` did not appear verbatim "
                      f"in {path}.")
    if count > 1:
        at, lines, pos = 0, [], content.find(needle)
        while pos != -1:
            lines.append(content.count("\n", 0, pos) + 1)
            at = pos + 1
            pos = content.find(needle, at)
        raise Refused(f"No replacement was performed. Multiple occurrences of old_str `{old}` "
                      f"in lines {sorted(set(lines))}. Please ensure it is unique.")
    idx = content.find(needle)
    updated = content[:idx] + new + content[idx + len(needle):]
    write_text(root, path, updated)
    line = content.count("\n", 0, idx) + 1
    text = (f"The file {path} has been edited. " + _snippet(updated, line, new.count("\n"), path)
            + "Review the changes and make sure they are as expected. Edit the file again if "
              "necessary.")
    return {"text": text, "old": content}


def _insert(root: str, path: str, line: int, new: str) -> dict:
    content = _read_text(root, path)
    lines = content.split("\n")
    trailing = content.endswith("\n")
    if trailing:
        lines.pop()
    if line < 0 or line > len(lines):
        raise Refused(f"Invalid `insert_line` parameter: {line}. It should be within the range "
                      f"of allowed values: [0, {len(lines)}]")
    added = new.split("\n")
    updated_lines = lines[:line] + added + lines[line:]
    updated = "\n".join(updated_lines) + ("\n" if trailing or not content else "")
    write_text(root, path, updated)
    text = (f"The file {path} has been edited. "
            + _snippet(updated, line + 1, len(added) - 1, path)
            + "Review the changes and make sure they are as expected (correct indentation, no "
              "duplicate lines, etc). Edit the file again if necessary.")
    return {"text": text, "old": content}


def handle(request: dict) -> dict:
    """Run one editor request: {op, root, path, ...} -> {ok, text, old?, prev_exist?}."""
    root = str(request["root"])
    path = str(request.get("path") or "")
    op = request.get("op")
    try:
        if op == "view":
            result = _view(root, path, request.get("view_range"))
        elif op == "create":
            if request.get("file_text") is None:
                raise Refused("Parameter `file_text` is required for command: create.")
            write_text(root, path, str(request["file_text"]), create_only=True)
            result = {"text": f"File created successfully at: {path}", "prev_exist": False}
        elif op == "str_replace":
            if request.get("old_str") is None:
                raise Refused("Parameter `old_str` is required for command: str_replace.")
            result = _str_replace(root, path, str(request["old_str"]),
                                  str(request.get("new_str") or ""))
        elif op == "insert":
            if request.get("insert_line") is None or request.get("new_str") is None:
                raise Refused("Parameters `insert_line` and `new_str` are required for command: "
                              "insert.")
            result = _insert(root, path, int(request["insert_line"]), str(request["new_str"]))
        elif op == "write":  # undo: put back an earlier content
            existed = write_text(root, path, str(request.get("file_text") or ""))
            result = {"text": "", "prev_exist": existed}
        elif op == "read":
            result = {"text": _read_text(root, path)}
        else:
            raise Refused(f"Unrecognized command {op!r}.")
    except Refused as exc:
        return {"ok": False, "error": str(exc)}
    except (OSError, ValueError, TypeError) as exc:
        return {"ok": False, "error": f"{path}: {exc}"}
    return {"ok": True, **result}


def main() -> None:
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdout.write(json.dumps(handle(request)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
