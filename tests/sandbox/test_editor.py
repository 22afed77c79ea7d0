"""The agent's file editor runs inside its sandbox: by construction, not by path checks."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from sre_agent.sandbox import create_sandbox
from sre_agent.sandbox.editor import SandboxEditor
from tests.support import needs_ns

pytestmark = needs_ns


@pytest.fixture
def sandbox():  # noqa: ANN201
    sb = create_sandbox("healthy_noop", 1, "ns").start()
    yield sb
    sb.teardown()
    assert sb.leftover_pids() == []


def test_operations_see_the_sandbox_filesystem_not_the_hosts(sandbox) -> None:  # noqa: ANN001
    editor = SandboxEditor(sandbox.root)
    marker = f"sre-editor-{secrets.token_hex(4)}"
    # Even with the workspace confinement lifted (root "/"), the write lands in the sandbox's
    # private /tmp, and the read-only system refuses the rest.
    confined = editor.run("create", f"/tmp/{marker}", file_text="x")
    assert not confined["ok"] and "outside the incident workspace" in confined["error"]
    raw = _raw(editor, {"op": "create", "root": "/", "path": f"/tmp/{marker}", "file_text": "x"})
    assert raw["ok"] and not Path(f"/tmp/{marker}").exists()
    denied = _raw(editor, {"op": "create", "root": "/", "path": f"/etc/{marker}",
                           "file_text": "x"})
    assert not denied["ok"] and "Read-only" in denied["error"]
    control = _raw(editor, {"op": "view", "root": "/", "path": str(sandbox.root / "shell")})
    assert not control["ok"], "the sandbox's control files must not be visible inside"


def _raw(editor: SandboxEditor, request: dict) -> dict:
    """Send a request with its own root (bypasses the editor's fixed workspace root)."""
    import json

    from sre_agent.sandbox.editor import inside_source
    from sre_agent.sandbox.process import run_bounded

    argv = [str(editor.root / "shell"), "-c", 'exec "$@"', "t", editor.python, "-I", "-S", "-c",
            inside_source()]
    done = run_bounded(argv, stdin=json.dumps(request).encode(), timeout=20, merge_stderr=False)
    return json.loads(done.output)


def test_edit_and_undo_round_trip(sandbox) -> None:  # noqa: ANN001
    editor = SandboxEditor(sandbox.root)
    conf = str(sandbox.workdir / "etc" / "service.conf")
    before = Path(conf).read_text()
    done = editor.run("str_replace", conf, old_str="response_delay_ms = 0",
                      new_str="response_delay_ms = 5")
    assert done["ok"] and "response_delay_ms = 5" in Path(conf).read_text()
    assert "old" not in done
    undone = editor.run("undo_edit", conf)
    assert undone["ok"] and Path(conf).read_text() == before
    assert not editor.run("undo_edit", conf)["ok"]
    pipe = sandbox.exec("mkfifo var/tmp/pipe && echo made").output
    assert "made" in pipe
    fifo = editor.run("view", str(sandbox.workdir / "var" / "tmp" / "pipe"))
    assert not fifo["ok"] and "FIFO" in fifo["error"]
