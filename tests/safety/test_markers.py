"""Markers: each defined once, pairwise distinct, never cut by or mistaken for another; and the
bug they used to cause (`"$PWD/..."` without a workspace judged as deleting `/`)."""

from __future__ import annotations

import itertools
import posixpath
import re
from pathlib import Path

import pytest

from sre_agent.safety import Risk, assess_command
from sre_agent.safety.paths import PathJudge
from sre_agent.safety.shell import markers
from sre_agent.safety.shell.expand import expand
from sre_agent.safety.shell.markers import (
    FOUND,
    MARKER_CHARS,
    NO_WORKSPACE,
    REMOTE_HOME,
    REMOTE_ROOT,
    RUNTIME_WORD,
    UNKNOWN,
    readable,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "sre_agent" / "safety"


def test_every_marker_has_its_own_character() -> None:
    assert set(MARKER_CHARS) == {UNKNOWN, NO_WORKSPACE, FOUND, REMOTE_ROOT, REMOTE_HOME}
    chars = list(MARKER_CHARS.values())
    assert len(set(chars)) == len(chars)
    for marker, own in MARKER_CHARS.items():
        assert own in marker and len(own) == 1 and ord(own) < 0x20
        assert {ch for ch in chars if ch in marker} == {own}, marker  # no other's character
    for a, b in itertools.permutations(MARKER_CHARS, 2):
        assert a not in b  # no marker inside another
    assert not any(ch in RUNTIME_WORD for ch in chars)
    assert re.fullmatch(r"\w+", RUNTIME_WORD)  # an ordinary word to the shell parser


@pytest.mark.parametrize("path", [NO_WORKSPACE, REMOTE_ROOT, REMOTE_HOME])
def test_path_markers_are_plain_absolute_paths(path: str) -> None:
    assert posixpath.normpath(path) == path and path.count("/") == 1
    assert not set(path) & set("*?[{ \t\n") and UNKNOWN not in path and FOUND not in path
    ref = PathJudge(path).resolve("x")
    assert ref.norm == path + "/x" and not ref.glob  # usable as a workspace as it is
    assert not PathJudge(REMOTE_ROOT).inside(PathJudge(REMOTE_ROOT).resolve(REMOTE_HOME))


def test_expanding_a_marker_keeps_it_whole() -> None:
    env = {"PWD": NO_WORKSPACE, "H": REMOTE_HOME, "F": "d/" + FOUND}
    for raw in ("$PWD/run/x", '"$PWD/run/x"', '"${PWD}"/run/x', "${H}/x", '"$F"'):
        fields = expand(raw, env.get, lambda inner: None, REMOTE_HOME)
        assert len(fields) == 1, (raw, fields)


def test_readable_replaces_every_marker() -> None:
    text = f"{UNKNOWN} {NO_WORKSPACE}/a {FOUND} {REMOTE_ROOT} {REMOTE_HOME}/x {NO_WORKSPACE[1:]}"
    assert readable(text) == "… <workspace>/a <found> <remote> ~/x <workspace>"
    assert readable("/\x01x \x03 \x04") == "/\\x01x \\x03 \\x04"


def test_markers_are_defined_only_in_markers_py() -> None:
    escapes = re.compile(r'"[^"\n]*\\x0[0-4][^"\n]*"')
    for path in SRC.rglob("*.py"):
        if path.name != "markers.py":
            assert not escapes.search(path.read_text(encoding="utf-8")), path
    assert "__runtime_value__" not in "".join(
        p.read_text(encoding="utf-8") for p in SRC.rglob("*.py") if p.name != "markers.py")
    assert markers.__all__


@pytest.mark.parametrize(("command", "risk"), [
    ('rm -f "$PWD/run/x.lock"', Risk.MEDIUM),
    ('rm -f "${PWD}/run/x.lock"', Risk.MEDIUM),
    ("rm -f $PWD/run/x.lock", Risk.MEDIUM),
    ('cd "$PWD/run" && rm -f x.lock', Risk.MEDIUM),
    ('rm -rf "$PWD"', Risk.HIGH),
    ('rm -rf "$PWD"/*', Risk.HIGH),
    ('cd "$PWD/var" && rm -rf "$PWD"', Risk.HIGH),  # the data store
    ('rm -f "$PWD/../x"', Risk.HIGH),
])
def test_pwd_inside_the_workspace(command: str, risk: Risk, ws: Path) -> None:
    for workspace in (None, ws, "/tmp/ws"):
        verdict = assess_command(command, workspace)
        assert verdict.risk == risk, (workspace, verdict.reasons)
        assert not any("root filesystem" in r for r in verdict.reasons)


def test_marker_characters_in_the_command_itself_do_not_fool_the_judge(ws: Path) -> None:
    assert assess_command("rm -rf $'/\\x01workspace'", ws).risk == Risk.HIGH
    assert assess_command("rm -rf $'/\\x03remote-host'", ws).risk == Risk.HIGH
    assert assess_command("X=$'a\\x01b'; rm -rf \"/$X\"", ws).risk == Risk.HIGH
