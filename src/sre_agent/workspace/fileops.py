"""File operations confined to one workspace: the agent's file editor and host-side reads.

Stdlib only, and self-contained, because it runs in two places:

- *inside* the sandbox, as the base of the agent's `file_editor` (`editing.py` appended to
  this source, run as `python -I -S -c <source>`): the file operations of the model happen in
  the sandbox's own mount namespace, where `/` is read-only and only the workdir is writable;
- *on the host*, imported, wherever harness code reads files the agent could have made
  (ground-truth checks): `read_bytes`, `lstat`, `is_dir`, `tree_size`.

Either way a path is resolved beneath the workspace root one component at a time: `..` above
the root, a symlink that leads outside (`ln -s /proc/self/root r`, `ln -s .. up`), too many
links, a FIFO, a device, a socket or a file with more than one hard link is refused, and the
final open walks directory file descriptors with `O_NOFOLLOW` so a component swapped for a
symlink after the check is refused at use, not followed. Reads are non-blocking and capped.
"""

from __future__ import annotations

import errno
import os
import stat
import time

MAX_FILE_BYTES = 2 * 1024 * 1024  # larger files: use the terminal (head, grep, sed)
MAX_LINKS = 40
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    """The operation is not allowed or not possible; the message is shown to the model."""


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve(root: str, path: str) -> tuple[list[str], bool]:
    """Components of `path` below `root` with every symlink resolved, and whether it exists.

    Refused when the path is relative, starts outside the root, or leads outside it (through
    `..` or a symlink). A missing component ends the walk: the rest is returned as written
    (it must not climb with `..`).
    """
    if not path.startswith("/"):
        raise Refused(f"{path} is not an absolute path (paths start with {root}/)")
    root_parts = _parts(root)
    parts = _parts(path)
    if parts[:len(root_parts)] != root_parts:
        raise Refused(f"{path} is outside the incident workspace {root}")
    rest = parts[len(root_parts):]
    done: list[str] = []
    links = 0
    while rest:
        name = rest.pop(0)
        if name == "..":
            if not done:
                raise Refused(f"{path} leads outside the incident workspace {root}")
            done.pop()
            continue
        here = "/".join([root.rstrip("/"), *done, name])
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            if ".." in rest:
                raise Refused(f"{path}: a missing directory followed by '..'") from None
            return [*done, name, *rest], False
        except OSError as exc:
            raise Refused(f"{path}: {exc.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise Refused(f"{path}: too many levels of symbolic links")
            target = os.readlink(here)
            if target.startswith("/"):
                target_parts = _parts(target)
                if target_parts[:len(root_parts)] != root_parts:
                    raise Refused(f"{path}: {'/'.join([*done, name])} is a symbolic link that "
                                  f"leads outside the incident workspace (to {target})")
                done, rest = [], target_parts[len(root_parts):] + rest
            else:
                rest = _parts(target) + rest
            continue
        if rest and not stat.S_ISDIR(info.st_mode):
            raise Refused(f"{path}: {'/'.join([*done, name])} is not a directory")
        done.append(name)
    return done, True


def open_dir(root: str, parts: list[str]) -> int:
    """A file descriptor of root/parts, each step opened without following a symlink."""
    fd = os.open(root, DIR_FLAGS)
    try:
        for name in parts:
            nxt = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Refused(f"{'/'.join(parts)} changed into a link or file while in use") \
                from None
        raise Refused(f"{'/'.join(parts) or '.'}: {exc.strerror}") from None
    return fd


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def _check_regular(info: os.stat_result, shown: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{shown} is {_kind(info.st_mode)}, not a regular file")
    if info.st_nlink > 1:
        raise Refused(f"{shown} has {info.st_nlink} hard links: refusing a file that may be "
                      "shared with a place outside the workspace")


def read_bytes(root: str, path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The content of a regular file beneath `root` (absolute, or relative to it).

    Non-blocking, never follows a link out, refuses anything but a regular file with one
    link, and refuses files larger than `max_bytes`.
    """
    full = path if path.startswith("/") else f"{root.rstrip('/')}/{path}"
    parts, exists = resolve(root, full)
    shown = "/".join(parts) or "."
    if not exists or not parts:
        raise Refused(f"{shown} does not exist" if not exists else f"{shown} is a directory")
    dfd = open_dir(root, parts[:-1])
    try:
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
                         | os.O_NOCTTY, dir_fd=dfd)
        except OSError as exc:
            raise Refused(f"{shown}: {exc.strerror}") from None
    finally:
        os.close(dfd)
    try:
        info = os.fstat(fd)
        _check_regular(info, shown)
        if info.st_size > max_bytes:
            raise Refused(f"{shown} is too large ({info.st_size} bytes, the limit is "
                          f"{max_bytes}): use the terminal (head, grep, sed -n)")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(65536, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise Refused(f"{shown} grew past {max_bytes} bytes while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def lstat(root: str, path: str) -> os.stat_result | None:
    """`lstat` of a path beneath `root` (None when it does not exist); never follows out."""
    full = path if path.startswith("/") else f"{root.rstrip('/')}/{path}"
    parts, exists = resolve(root, full)
    if not exists:
        return None
    if not parts:
        return os.lstat(root)
    dfd = open_dir(root, parts[:-1])
    try:
        return os.lstat(parts[-1], dir_fd=dfd)
    except FileNotFoundError:
        return None
    finally:
        os.close(dfd)


def is_dir(root: str, path: str) -> bool:
    info = lstat(root, path)
    return info is not None and stat.S_ISDIR(info.st_mode)


def tree_size(root: str, path: str, *, max_entries: int = 100000,
              deadline_s: float = 5.0) -> int:
    """Apparent size in bytes of the regular files under root/path (links not followed).

    Bounded: more than `max_entries` entries or `deadline_s` seconds is refused.
    """
    full = path if path.startswith("/") else f"{root.rstrip('/')}/{path}"
    parts, exists = resolve(root, full)
    if not exists:
        return 0
    deadline = time.monotonic() + deadline_s
    total, seen = 0, 0
    stack = [open_dir(root, parts)]
    try:
        while stack:
            fd = stack.pop()
            try:
                with os.scandir(fd) as entries:
                    for entry in entries:
                        seen += 1
                        if seen > max_entries or time.monotonic() > deadline:
                            raise Refused(f"{'/'.join(parts)} holds too many entries to size")
                        info = entry.stat(follow_symlinks=False)
                        if stat.S_ISREG(info.st_mode):
                            total += info.st_size
                        elif stat.S_ISDIR(info.st_mode):
                            try:
                                stack.append(os.open(entry.name, DIR_FLAGS, dir_fd=fd))
                            except OSError:
                                continue
            finally:
                os.close(fd)
    finally:
        for fd in stack:
            os.close(fd)
    return total


def write_text(root: str, path: str, text: str, *, create_only: bool = False) -> bool:
    """Write `text` to a regular file beneath `root` atomically (temp file + rename).

    Returns whether the file existed before. Keeps the mode of a file it replaces.
    """
    parts, exists = resolve(root, path)
    shown = "/".join(parts) or "."
    if not parts:
        raise Refused(f"{shown} is the workspace itself")
    if not exists and len(parts) > 1:
        parent, parent_exists = resolve(root, "/".join([root.rstrip("/"), *parts[:-1]]))
        if not parent_exists:
            raise Refused(f"the directory of {shown} does not exist (create it with mkdir -p)")
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise Refused(f"the new content is too large ({len(data)} bytes, limit "
                      f"{MAX_FILE_BYTES})")
    dfd = open_dir(root, parts[:-1])
    try:
        mode = 0o644
        existed = False
        try:
            info = os.lstat(parts[-1], dir_fd=dfd)
            existed = True
        except FileNotFoundError:
            info = None
        if existed:
            if create_only:
                raise Refused(f"File already exists at: {path}. Cannot overwrite files using "
                              "command `create`.")
            assert info is not None
            _check_regular(info, shown)
            mode = stat.S_IMODE(info.st_mode)
        tmp = f".{parts[-1]}.sre-edit-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode, dir_fd=dfd)
        try:
            os.fchmod(fd, mode)  # exactly the old mode, whatever the umask
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.rename(tmp, parts[-1], src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        return existed
    except OSError as exc:
        raise Refused(f"{shown}: {exc.strerror}") from None
    finally:
        os.close(dfd)
