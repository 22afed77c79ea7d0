"""Path judgement against the workspace: escapes, globs, home, the data store, the cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.safety import Risk, assess_command
from sre_agent.safety.paths import PathJudge


def test_absolute_paths_are_judged_against_the_workspace(ws: Path) -> None:
    assert assess_command(f"rm -f {ws}/run/service.lock", ws).risk == Risk.MEDIUM
    assert assess_command("rm -f $PWD/run/service.lock", ws).risk == Risk.MEDIUM
    assert assess_command(f"rm -f {ws.parent}/other/run/service.lock", ws).risk == Risk.HIGH
    assert assess_command(f"rm -f {ws}-evil/x", ws).risk == Risk.HIGH  # prefix is not inside


@pytest.mark.parametrize("command", [
    "rm -rf ..", "rm -rf ../sibling", "rm -f var/../../x", "rm -rf var/*/../../..",
    "rm -rf ~", "rm -rf $HOME/.cache", "rm -rf /*", "rm -rf *", "rm -rf .",
    "rm -rf var/data", "truncate -s 0 var/data/store.db", "rm -rf $UNKNOWN/",
])
def test_escapes_globs_home_and_the_data_store(command: str, ws: Path) -> None:
    assert assess_command(command, ws).risk == Risk.HIGH


def test_cwd_is_tracked_across_a_command_line(ws: Path) -> None:
    assert assess_command("cd var/log && rm -f service.log.1", ws).risk == Risk.MEDIUM
    assert assess_command("cd /etc && rm -f hosts", ws).risk == Risk.HIGH
    assert assess_command("cd .. ; rm -rf incident-1", ws).risk == Risk.HIGH
    assert assess_command("(cd /etc); rm -f hosts", ws).risk == Risk.MEDIUM  # subshell scope


def test_without_a_workspace_relative_paths_count_as_inside() -> None:
    assert assess_command("rm -f run/service.lock").risk == Risk.MEDIUM
    assert assess_command("rm -f /etc/hosts").risk == Risk.HIGH


def test_path_classes() -> None:
    judge = PathJudge("/srv/w")
    ref = judge.resolve
    assert judge.inside(ref("var/log/x")) and not judge.inside(ref("/srv/w-evil/x"))
    assert judge.relative(ref("/srv/w")) == "" and judge.show(ref("/srv/w")) == "."
    assert judge.is_workspace_root(ref("*")) and not judge.is_workspace_root(ref("var/*"))
    assert judge.is_scratch(ref("/tmp/x")) and judge.is_discard(ref("/dev/null"))
    assert judge.is_device(ref("/dev/sda")) and not judge.is_device(ref("/dev/tcp/h/1"))
    assert judge.is_network_path(ref("/dev/tcp/10.0.0.1/80"))
    assert judge.is_credential(ref("/etc/shadow")) and judge.is_credential(ref("~/.ssh/x"))
    assert judge.is_history(ref("/root/.bash_history"))
    assert judge.is_data_store(ref("var/data/kv.db")) and judge.contains_data_store(ref("var"))
    assert ref("\x00/x").unknown and ref("var/\x00").glob  # run-time text: unknown, a glob
    assert judge.with_cwd(None).resolve("x").unknown  # cwd unknown: relative is unknown
