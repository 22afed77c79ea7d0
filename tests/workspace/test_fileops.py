"""`fileops`: file access confined to a workspace, for the agent's editor and host-side reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sre_agent.workspace import fileops
from sre_agent.workspace.editing import handle
from sre_agent.workspace.fileops import Refused, read_bytes, resolve, tree_size, write_text


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "app.conf").write_text("port = 1\nname = a\n")
    (tmp_path / "outside.txt").write_text("host data\n")
    return root


def test_paths_resolve_beneath_the_root_following_inner_links(ws: Path) -> None:
    os.symlink("etc", ws / "config")
    os.symlink(str(ws / "etc" / "app.conf"), ws / "abs-inside")
    assert resolve(str(ws), f"{ws}/config/app.conf") == (["etc", "app.conf"], True)
    assert resolve(str(ws), f"{ws}/abs-inside") == (["etc", "app.conf"], True)
    assert resolve(str(ws), f"{ws}/etc/../etc/new.conf") == (["etc", "new.conf"], False)


@pytest.mark.parametrize("make, path, message", [
    (lambda ws: None, "relative/path", "not an absolute path"),
    (lambda ws: None, "/etc/passwd", "outside the incident workspace"),
    (lambda ws: None, "{W}/../outside.txt", "leads outside"),
    (lambda ws: os.symlink("..", ws / "up"), "{W}/up/outside.txt", "leads outside"),
    (lambda ws: os.symlink("/proc/self/root", ws / "r"), "{W}/r/etc/passwd", "leads outside"),
    (lambda ws: os.symlink("/", ws / "etc" / "root"), "{W}/etc/root/tmp", "leads outside"),
    (lambda ws: os.symlink("loop", ws / "loop"), "{W}/loop", "too many levels"),
])
def test_ways_out_are_refused(ws: Path, make, path: str, message: str) -> None:  # noqa: ANN001
    make(ws)
    with pytest.raises(Refused, match=message):
        resolve(str(ws), path.replace("{W}", str(ws)))


def test_reads_refuse_fifos_devices_hard_links_and_huge_files(ws: Path, tmp_path: Path) -> None:
    os.mkfifo(ws / "pipe")
    with pytest.raises(Refused, match="FIFO"):
        read_bytes(str(ws), "pipe")  # returns at once: non-blocking
    os.symlink("/dev/zero", ws / "zero")
    with pytest.raises(Refused, match="leads outside"):
        read_bytes(str(ws), "zero")
    os.link(tmp_path / "outside.txt", ws / "hard")
    with pytest.raises(Refused, match="hard links"):
        read_bytes(str(ws), "hard")
    with (ws / "big").open("wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    with pytest.raises(Refused, match="too large"):
        read_bytes(str(ws), "big", max_bytes=1024 * 1024)
    assert read_bytes(str(ws), "etc/app.conf") == b"port = 1\nname = a\n"


def test_a_component_swapped_for_a_link_after_the_check_is_refused_at_use(ws: Path,
                                                                        tmp_path: Path) -> None:
    parts, _ = resolve(str(ws), f"{ws}/etc/app.conf")
    os.rename(ws / "etc", ws / "etc.old")
    os.symlink(str(tmp_path), ws / "etc")
    with pytest.raises(Refused, match="changed into a link"):
        fileops.open_dir(str(ws), parts[:-1])


def test_writes_are_atomic_keep_the_mode_and_never_follow(ws: Path, tmp_path: Path) -> None:
    conf = ws / "etc" / "app.conf"
    conf.chmod(0o640)
    assert write_text(str(ws), str(conf), "port = 2\n") is True
    assert conf.read_text() == "port = 2\n" and (conf.stat().st_mode & 0o777) == 0o640
    os.symlink(str(tmp_path / "outside.txt"), ws / "etc" / "link")
    with pytest.raises(Refused, match="leads outside"):
        write_text(str(ws), f"{ws}/etc/link", "pwned")
    assert (tmp_path / "outside.txt").read_text() == "host data\n"
    with pytest.raises(Refused, match="already exists"):
        write_text(str(ws), str(conf), "x", create_only=True)
    with pytest.raises(Refused, match="does not exist"):
        write_text(str(ws), f"{ws}/nodir/x", "x")
    assert sorted(p.name for p in (ws / "etc").iterdir()) == ["app.conf", "link"]


def test_tree_size_counts_regular_files_only_and_is_bounded(ws: Path) -> None:
    (ws / "var").mkdir()
    (ws / "var" / "a").write_bytes(b"x" * 1000)
    os.symlink("/usr", ws / "var" / "usr")
    assert tree_size(str(ws), "var") == 1000
    for i in range(30):
        (ws / "var" / f"f{i}").touch()
    with pytest.raises(Refused, match="too many entries"):
        tree_size(str(ws), "var", max_entries=10)


def test_editor_commands_match_the_sdk_semantics(ws: Path) -> None:
    conf = f"{ws}/etc/app.conf"
    view = handle({"op": "view", "root": str(ws), "path": conf})
    assert view["ok"] and "     1\tport = 1" in view["text"]
    listing = handle({"op": "view", "root": str(ws), "path": str(ws)})
    assert f"{ws}/etc/app.conf" in listing["text"]
    done = handle({"op": "str_replace", "root": str(ws), "path": conf, "old_str": "port = 1",
                   "new_str": "port = 8080"})
    assert done["ok"] and done["old"] == "port = 1\nname = a\n"
    assert (ws / "etc" / "app.conf").read_text() == "port = 8080\nname = a\n"
    dup = handle({"op": "insert", "root": str(ws), "path": conf, "insert_line": 1,
                  "new_str": "name = a"})
    assert dup["ok"]
    twice = handle({"op": "str_replace", "root": str(ws), "path": conf, "old_str": "name = a",
                    "new_str": "name = b"})
    assert not twice["ok"] and "Multiple occurrences" in twice["error"]
    ranged = handle({"op": "view", "root": str(ws), "path": conf, "view_range": [2, 2]})
    assert ranged["text"].endswith("     2\tname = a\n")
    created = handle({"op": "create", "root": str(ws), "path": f"{ws}/etc/new", "file_text": "x"})
    assert created["ok"] and (ws / "etc" / "new").read_text() == "x"
    again = handle({"op": "create", "root": str(ws), "path": f"{ws}/etc/new", "file_text": "y"})
    assert not again["ok"] and "already exists" in again["error"]
    outside = handle({"op": "view", "root": str(ws), "path": "/etc/hostname"})
    assert not outside["ok"] and "outside the incident workspace" in outside["error"]
