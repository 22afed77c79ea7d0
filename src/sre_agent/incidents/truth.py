"""Ground truth: whether a scenario's root cause is really gone, judged from outside.

Each check of a scenario reads a workdir file (through `workspace.fileops`: no link out, no
FIFO, capped), talks to a port of the sandbox, runs a command inside the sandbox with a clean
environment (the system's tools only: the workdir's `bin/` is not on its PATH), or calls a
hook of the pack. Files listed as `intact` must still hold what they held after the fault was
injected. A check that cannot complete is red, with the reason; none trusts the service's own
answer alone.
"""

from __future__ import annotations

import configparser
import hashlib
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sre_agent.errors import UsageError
from sre_agent.incidents.model import Connector, GroundTruth, Incident
from sre_agent.incidents.spec import CheckSpec, IntactSpec
from sre_agent.incidents.templates import Values
from sre_agent.incidents.tolerance import as_data, describe, fits, from_data, jsonpath_values
from sre_agent.workspace import fileops

MAX_CHECKED_BYTES = 16 * 1024 * 1024
Exec = Callable[[str, float], tuple[int, str]]


@dataclass
class CheckContext:
    """What a check (and a pack's hook) may use: safe reads, the sandbox's ports and shell."""

    workdir: Path
    incident: Incident
    values: Values
    connect: Connector | None = None
    run: Exec | None = None

    def read(self, rel: str, max_bytes: int = MAX_CHECKED_BYTES) -> bytes | None:
        """A workdir file's bytes; None when absent; `fileops.Refused` when unsafe."""
        try:
            return fileops.read_bytes(str(self.workdir), rel, max_bytes)
        except fileops.Refused:
            if fileops.lstat(str(self.workdir), rel) is None:
                return None
            raise

    def text(self, rel: str) -> str | None:
        data = self.read(rel)
        return None if data is None else data.decode("utf-8", errors="replace")

    def sha(self, rel: str) -> str:
        data = self.read(rel)
        return "missing" if data is None else hashlib.sha256(data).hexdigest()

    def mode(self, rel: str) -> int | None:
        info = fileops.lstat(str(self.workdir), rel)
        return None if info is None else stat.S_IMODE(info.st_mode)

    def is_dir(self, rel: str) -> bool:
        return fileops.is_dir(str(self.workdir), rel)

    def size_bytes(self, rel: str) -> int:
        return fileops.tree_size(str(self.workdir), rel)

    def talk(self, port: int, send: bytes, timeout: float = 2.0) -> bytes:
        if self.connect is None:
            raise OSError("no connection into the sandbox")
        with self.connect(port, timeout) as sock:
            if send:
                sock.sendall(send)
            return sock.recv(4096)


def _value(check: CheckSpec, ctx: CheckContext) -> tuple[bool, Any]:
    """(exists, value) of a file check's key."""
    assert check.file is not None
    rel = ctx.values.render(check.file, check.name)
    text = ctx.text(rel)
    if text is None:
        return False, None
    if check.key is None:
        return True, text
    key = ctx.values.render(check.key, check.name)
    if check.format == "ini":
        parser = configparser.ConfigParser()
        try:
            parser.read_string(text)
        except configparser.Error:
            return True, None  # present but unparsable: no value
        section, _, option = key.partition(".")
        return True, parser.get(section, option, fallback=None)
    if check.format == "env":
        env: dict[str, str] = {}
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                env[name.strip()] = value.strip().strip("'\"")
        return True, env.get(key)
    if check.format == "json":
        found = jsonpath_values(text, key)
        return True, found[0] if found else None
    raise UsageError(f"check {check.name}: key given for a text file")


def _judge(check: CheckSpec, ctx: CheckContext, hook: Callable[[str], Any]) -> tuple[bool, str]:
    values = ctx.values
    if check.hook is not None:
        outcome = hook(check.hook)(ctx)
        ok, detail = (outcome, "") if isinstance(outcome, bool) else outcome
        return bool(ok), str(detail or ("ok" if ok else "failed"))
    if check.file is not None and check.mode is not None:
        rel = values.render(check.file, check.name)
        mode = ctx.mode(rel)
        need = int(check.mode, 8)
        if mode is None:
            return False, f"{rel} missing"
        if mode & need != need:
            return False, f"{rel} has mode {mode:03o}, needs {check.mode}"
        if check.expect is None and check.reject is None:
            return True, f"{rel} mode {mode:03o}"
    if check.file is not None:
        exists, value = _value(check, ctx)
        shown = values.render(check.key or check.file, check.name)
        if check.exists is not None and exists != check.exists:
            return False, f"{shown} {'missing' if check.exists else 'still present'}"
        if check.expect is not None:
            expect = values.render_obj(as_data(check.expect), check.name)
            if value is None or not fits(value, from_data(expect)):
                return False, f"{shown} is {_short(value)}, expected " \
                              f"{describe(from_data(expect))}"
        if check.reject is not None:
            reject = values.render_obj(as_data(check.reject), check.name)
            if value is not None and fits(value, from_data(reject)):
                return False, f"{shown} is still {_short(value)}"
        if check.key is None and value is not None:
            return True, f"{shown} present"
        return True, f"{shown}: {_short(value)}" if value is not None \
            else f"{shown} {'present' if exists else 'absent'}"
    shown = check.name
    if check.tcp is not None:
        port = ctx.incident.ports[check.tcp]
        try:
            reply = ctx.talk(port, values.render(check.send, check.name).encode())
        except OSError as exc:
            return False, f"{check.tcp} ({port}) not answering: {exc.strerror or exc}"
        text = reply.decode(errors="replace")
        if check.expect is not None:
            expect = from_data(values.render_obj(as_data(check.expect), check.name))
            if not fits(text.strip(), expect):
                return False, f"{check.tcp} answered {_short(text)}, expected {describe(expect)}"
        return True, f"{check.tcp} answering"
    assert check.command is not None
    if ctx.run is None:
        return False, "no way to run commands in the sandbox"
    code, output = ctx.run(values.render(check.command, check.name), 20.0)
    if check.exit_code is not None and not fits(code, from_data(check.exit_code)):
        return False, f"command exited {code}: {_short(output)}"
    if check.exit_code is None and check.expect is None and code != 0:
        return False, f"command exited {code}: {_short(output)}"
    if check.expect is not None:
        expect = from_data(values.render_obj(as_data(check.expect), check.name))
        if not fits(output.strip(), expect):
            return False, f"command printed {_short(output)}"
    return True, "ok"


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return repr(text[:80] + ("..." if len(text) > 80 else ""))


def intact_path(item: str | IntactSpec, values: Values) -> str:
    return values.render(item if isinstance(item, str) else item.path)


def judge(checks: list[CheckSpec], intact: list[str | IntactSpec], ctx: CheckContext,
          hook: Callable[[str], Any]) -> GroundTruth:
    """Every check and every intact file; red with the reasons of whatever failed."""
    results: dict[str, bool] = {}
    failed: list[str] = []
    passed: list[str] = []
    for check in checks:
        try:
            ok, detail = _judge(check, ctx, hook)
        except fileops.Refused as exc:
            ok, detail = False, f"could not be checked: {exc}"
        except OSError as exc:
            ok, detail = False, f"could not be checked: {exc}"
        results[check.name] = ok
        (passed if ok else failed).append(f"{check.name}: {detail}")
    changed = []
    for item in intact:
        path = intact_path(item, ctx.values)
        try:
            same = ctx.sha(path) == ctx.incident.fingerprints.get(path)
        except fileops.Refused as exc:
            same = False
            failed.append(f"intact {path}: could not be checked: {exc}")
        if not same:
            changed.append(path)
    if intact:
        results["intact"] = not changed
        if changed:
            failed.append(f"changed or destroyed: {', '.join(changed)}")
        else:
            passed.append(f"intact: {', '.join(intact_path(i, ctx.values) for i in intact)}")
    if failed:
        return GroundTruth(False, "; ".join(failed), results)
    return GroundTruth(True, "; ".join(passed) or "no ground-truth checks", results)
