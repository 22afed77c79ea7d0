"""What the engine hands to a rule: one simple command (`Call`) in its analysis state (`Ctx`).

A `Flow` is what a command emits on stdout, as far as we can tell: tags (`network`, `secret`,
`file`, `decoded`, `procsel`, `literal`), the literal bytes when they are computable (`echo <b64>
| base64 -d`), and the directories `find` walks. The next command in the pipe receives it, which
is how `curl ... | sh`, `env | curl -d @- ...` and `pgrep x | xargs kill` are judged.

Rules run nested commands (`sudo X`, `sh -c '...'`, `find -exec`) through the `Walker` each
`Ctx` carries: the engine's entry points, handed over at the start of an analysis, so neither
this module nor a rule imports the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sre_agent.safety.hosts import is_loopback
from sre_agent.safety.levels import Risk
from sre_agent.safety.paths import PathJudge, PathRef
from sre_agent.safety.redact import is_secret_name
from sre_agent.safety.shell.expand import expand
from sre_agent.safety.shell.literal import literal_output
from sre_agent.safety.shell.markers import REMOTE_HOME, REMOTE_ROOT, UNKNOWN, readable
from sre_agent.safety.shell.parse import parse
from sre_agent.safety.shell.tree import Command, Script

MAX_DEPTH = 6
_HISTORY_VARS = {"HISTFILE": "/dev/null", "HISTSIZE": "0", "HISTFILESIZE": "0"}
_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Flow:
    tags: set[str] = field(default_factory=set)
    text: bytes | None = None
    roots: list[str] = field(default_factory=list)


@dataclass
class Finding:
    risk: Risk
    reason: str


@dataclass(frozen=True)
class Walker:
    """The engine's entry points: judge a parsed script, judge one argv."""

    script: Callable[[Script, Ctx], Flow]
    argv: Callable[[Ctx, list[str], Flow | None, set[str], set[str], Command | None], Flow]


class Ctx:
    """Analysis state along one command line: findings, cwd, variables, functions."""

    def __init__(self, judge: PathJudge, walker: Walker,
                 findings: list[Finding] | None = None) -> None:
        self.judge = judge
        self.walker = walker
        self.findings: list[Finding] = [] if findings is None else findings
        self.env: dict[str, str | None] = {}
        self.functions: dict[str, Script] = {}
        self.downloaded: set[str] = set()
        self.written: dict[str, bytes] = {}  # files this command line wrote with known text
        self.calling: set[str] = set()
        self.depth = 0
        self.where = ""  # " on <host>" when the command runs on another machine

    def add(self, risk: Risk, reason: str) -> None:
        self.findings.append(Finding(risk, readable(reason + self.where)))

    def child(self, *, share_state: bool = False) -> Ctx:
        """A copy for a subshell (state copied) or the same state one level deeper."""
        new = Ctx(self.judge, self.walker, self.findings)
        new.env = self.env if share_state else dict(self.env)
        new.functions = self.functions if share_state else dict(self.functions)
        new.downloaded = self.downloaded
        new.written = self.written
        new.calling = set(self.calling)
        new.depth = self.depth + 1
        new.where = self.where
        return new

    def remote(self, host: str) -> Ctx:
        """Context for a command that runs on another host: nothing there is our workspace."""
        new = self.child()
        new.judge = PathJudge(REMOTE_ROOT, cwd=None, home=REMOTE_HOME)
        new.env = {}
        new.where = f" (on {host})"
        return new

    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        if name == "HOME":
            return self.judge.home
        if name == "PWD":
            return self.judge.cwd
        if name == "IFS":
            return " "
        if name in ("SHELL", "BASH"):
            return "/bin/bash"
        return None

    def expand(self, raw: str) -> list[str]:
        return expand(raw, self.lookup, self.literal_text, self.judge.home)

    def literal_text(self, inner: str) -> str | None:
        if self.depth > MAX_DEPTH:
            return None
        data = literal_output(parse(inner), self.child(share_state=True).expand)
        return None if data is None else data.decode("utf-8", "replace")

    def assign(self, raw: str, *, persist: bool) -> None:
        """`NAME=value`: judged (history off is HIGH), and kept when it outlives the command."""
        name, _, value_raw = raw.partition("=")
        name = name.rstrip("+")
        values = self.expand(value_raw) if value_raw else [""]
        value = " ".join(values)
        if name in _HISTORY_VARS and (value in ("", _HISTORY_VARS[name]) or value == "/dev/null"):
            self.add(Risk.HIGH, f"sets {name}={value or '(empty)'}: disables shell history")
        if persist:
            self.env[name] = None if UNKNOWN in value else value

    @contextmanager
    def capture(self) -> Iterator[list[Finding]]:
        """Collects the findings added inside the block (they stay in the main list too)."""
        start = len(self.findings)
        box: list[Finding] = []
        yield box
        box.extend(self.findings[start:])


class Call:
    """One simple command to judge, with everything a rule needs."""

    def __init__(self, ctx: Ctx, argv: list[str], stdin: Flow | None, subtags: set[str],
                 procsub_tags: set[str], command: Command | None) -> None:
        self.ctx = ctx
        self.argv = argv
        self.name = argv[0].rsplit("/", 1)[-1] if argv else ""
        self.args = argv[1:]
        self.stdin = stdin
        self.subtags = subtags
        self.procsub_tags = procsub_tags
        self.command = command
        self.out = Flow(tags=set(stdin.tags) if stdin else set())

    @property
    def judge(self) -> PathJudge:
        return self.ctx.judge

    def add(self, risk: Risk, reason: str) -> None:
        self.ctx.add(risk, f"{self.name}: {reason}")

    def low(self, reason: str = "read-only") -> None:
        self.add(Risk.LOW, reason)

    def ref(self, text: str) -> PathRef:
        return self.judge.resolve(text)

    def show(self, ref: PathRef) -> str:
        return self.judge.show(ref)

    def mentions_secret(self) -> bool:
        """A word names a secret-looking variable (`$API_KEY`, `${DB_PASSWORD}`)."""
        words = self.command.words if self.command else []
        return any(is_secret_name(name) for word in words for name in _VAR_REF.findall(word))

    # -- path effects ----------------------------------------------------------------------

    def read(self, text: str) -> None:
        ref = self.ref(text)
        if self.judge.is_discard(ref):
            return
        if ref.unknown:
            self.out.tags.add("file")
            return
        if self.judge.is_credential(ref):
            self.out.tags.add("secret")
            if not self.judge.inside(ref):
                self.add(Risk.HIGH, f"reads credential file {self.show(ref)}")
        elif self.judge.is_device(ref) and not self.judge.is_network_path(ref):
            self.add(Risk.HIGH, f"reads raw device {self.show(ref)}")
        if self.judge.is_network_path(ref):
            self.out.tags.add("network")
        self.out.tags.add("file")

    def write(self, text: str, *, truncate: bool = True, verb: str = "writes") -> None:
        ref = self.ref(text)
        j = self.judge
        if j.is_discard(ref):
            return
        shown = self.show(ref)
        if j.is_network_path(ref):
            self._socket(ref)
        elif ref.unknown:
            self.add(Risk.MEDIUM, f"{verb} a path known only at run time ({shown})")
        elif j.is_device(ref):
            self.add(Risk.HIGH, f"{verb} raw device {shown}")
        elif j.is_history(ref):
            self.add(Risk.HIGH, f"{verb} shell history {shown} (covering tracks)")
        elif j.inside(ref):
            if truncate and j.is_data_store(ref):
                self.add(Risk.HIGH, f"overwrites the live data store {shown}")
            else:
                self.add(Risk.MEDIUM, f"{verb} {shown} in the workspace")
        elif j.is_scratch(ref) and not j.is_credential(ref):
            self.add(Risk.MEDIUM, f"{verb} {shown} in scratch space outside the workspace")
        else:
            self.add(Risk.HIGH, f"{verb} {shown} outside the workspace")

    def _socket(self, ref: PathRef) -> None:
        """Writing to `/dev/tcp/<host>/<port>`: a probe of a local port, or a remote shell."""
        parts = (ref.norm or "").split("/")
        host = parts[3] if len(parts) > 3 else None
        if is_loopback(host) and self.name in ("echo", "printf", "true", ":", "redirect"):
            self.low(f"probes the local port {host} via /dev/tcp")
        elif is_loopback(host):
            self.add(Risk.MEDIUM, f"opens a socket to {host} via /dev/tcp")
        else:
            self.add(Risk.HIGH, f"connects the shell to remote host {host} via /dev/tcp "
                     "(reverse shell or exfiltration)")

    def delete(self, text: str, *, recursive: bool, verb: str = "deletes") -> None:
        ref = self.ref(text)
        j = self.judge
        shown = self.show(ref)
        if ref.unknown:
            if recursive:
                self.add(Risk.HIGH, f"recursive {verb} of a path known only at run time ({shown})")
            else:
                self.add(Risk.MEDIUM, f"{verb} a path known only at run time ({shown})")
        elif j.is_discard(ref) or j.is_device(ref):
            self.add(Risk.HIGH, f"{verb} device {shown}")
        elif not j.inside(ref):
            what = "the root filesystem" if ref.region == "/" else shown
            self.add(Risk.HIGH, f"{verb} {what} outside the workspace")
        elif j.is_workspace_root(ref) and (recursive or ref.glob):
            self.add(Risk.HIGH, f"{verb} the whole workspace ({shown})")
        elif j.is_data_store(ref) or (recursive and j.contains_data_store(ref)):
            self.add(Risk.HIGH, f"{verb} the live data store ({shown})")
        else:
            self.add(Risk.MEDIUM, f"{verb} {shown} in the workspace")

    def modify(self, text: str, verb: str) -> None:
        """Attribute changes (chmod, chown, touch, mkdir): MEDIUM inside, HIGH outside."""
        ref = self.ref(text)
        j = self.judge
        shown = self.show(ref)
        if ref.unknown:
            self.add(Risk.MEDIUM, f"{verb} a path known only at run time ({shown})")
        elif j.inside(ref) or j.is_discard(ref):
            self.add(Risk.MEDIUM, f"{verb} {shown} in the workspace")
        else:
            self.add(Risk.HIGH, f"{verb} {shown} outside the workspace")

    def execute_file(self, text: str) -> None:
        ref = self.ref(text)
        if ref.norm in self.ctx.downloaded:
            self.add(Risk.HIGH, f"runs {self.show(ref)}, downloaded from the network")
        elif ref.norm in self.ctx.written:
            self.add(Risk.MEDIUM, f"runs {self.show(ref)}, written earlier on this command line")
            self.run_script(self.ctx.written[ref.norm].decode("utf-8", "replace"))
        elif ref.norm and ref.norm.startswith("/dev/fd/") and self.procsub_tags & {"network"}:
            self.add(Risk.HIGH, "runs code fetched from the network (process substitution)")
        elif ref.norm and ref.norm.startswith("/dev/fd/") and "decoded" in self.procsub_tags:
            self.add(Risk.HIGH, "runs a decoded payload (process substitution)")
        else:
            self.add(Risk.MEDIUM, f"runs script {self.show(ref)}")

    # -- running other commands -------------------------------------------------------------

    def run_argv(self, argv: list[str], *, stdin: Flow | None = None,
                 subtags: set[str] | None = None) -> Flow:
        if self.ctx.depth >= MAX_DEPTH:
            self.add(Risk.HIGH, "commands nested too deep to judge")
            return Flow()
        return self.ctx.walker.argv(self.ctx.child(share_state=True), argv, stdin,
                                    self.subtags if subtags is None else subtags,
                                    self.procsub_tags, None)

    def run_script(self, text: str, *, ctx: Ctx | None = None,
                   positional: list[str] | None = None) -> Flow:
        base = ctx or self.ctx
        if base.depth >= MAX_DEPTH:
            self.add(Risk.HIGH, "commands nested too deep to judge")
            return Flow()
        sub = base.child()
        for i, value in enumerate(positional or []):
            sub.env[str(i)] = value
        script = parse(text)
        if script.parsed_by == "tokenizer":
            self.add(Risk.MEDIUM, "inner shell text could not be fully parsed")
        return sub.walker.script(script, sub)


def parse_opts(args: list[str], takes_value: Collection[str] = frozenset(),
               *, stop_at_operand: bool = False) -> tuple[dict[str, list[str]], list[str]]:
    """GNU-style options: clusters (`-rf`), `--long=value`, `--` and permuted operands."""
    opts: dict[str, list[str]] = {}
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            operands.extend(args[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg.partition("=")
            if not eq and name in takes_value and i < len(args):
                value = args[i]
                i += 1
            opts.setdefault(name, []).append(value)
        elif arg.startswith("-") and len(arg) > 1 and UNKNOWN not in arg[:2]:
            for k, ch in enumerate(arg[1:], start=1):
                flag = "-" + ch
                if flag in takes_value:
                    value = arg[k + 1:]
                    if not value and i < len(args):
                        value = args[i]
                        i += 1
                    opts.setdefault(flag, []).append(value)
                    break
                opts.setdefault(flag, []).append("")
        else:
            operands.append(arg)
            if stop_at_operand:
                operands.extend(args[i:])
                break
    return opts, operands


__all__ = ["MAX_DEPTH", "Call", "Ctx", "Finding", "Flow", "Walker", "parse_opts"]
