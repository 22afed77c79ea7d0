"""Walks a parsed command: pipelines, data flow between commands, cwd and variables, wrappers.

Each simple command becomes a `Call` handed to a rule (see `risk_rules`, `risk_rules_net`).
A `Flow` is what a command emits on stdout, as far as we can tell: tags (`network`, `secret`,
`file`, `decoded`, `procsel`), the literal bytes when they are computable (`echo <b64> |
base64 -d`), and the directories `find` walks. The next command in the pipe receives it, which
is how `curl ... | sh`, `env | curl -d @- ...` and `pgrep x | xargs kill` are judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sre_agent.safety.paths import FOUND, UNKNOWN, PathJudge, PathRef
from sre_agent.safety.shell.expand import expand
from sre_agent.safety.shell.literal import literal_output, step
from sre_agent.safety.shell.parse import Block, Command, Pipeline, Script, parse
from sre_agent.safety.verdict import Risk, RiskVerdict

MAX_DEPTH = 6
_MAX_REASONS = 8


@dataclass
class Flow:
    tags: set[str] = field(default_factory=set)
    text: bytes | None = None
    roots: list[str] = field(default_factory=list)


@dataclass
class Finding:
    risk: Risk
    reason: str


class Ctx:
    """Analysis state along one command line: findings, cwd, variables, functions."""

    def __init__(self, judge: PathJudge, findings: list[Finding] | None = None) -> None:
        self.judge = judge
        self.findings: list[Finding] = [] if findings is None else findings
        self.env: dict[str, str | None] = {}
        self.functions: dict[str, Script] = {}
        self.downloaded: set[str] = set()
        self.written: dict[str, bytes] = {}  # files this command line wrote with known text
        self.calling: set[str] = set()
        self.depth = 0
        self.where = ""  # " on <host>" when the command runs on another machine

    def add(self, risk: Risk, reason: str) -> None:
        reason = (reason + self.where).replace(UNKNOWN, "…").replace(FOUND, "<found>")
        self.findings.append(Finding(risk, reason))

    def child(self, *, share_state: bool = False) -> Ctx:
        """A copy for a subshell (state copied) or the same state one level deeper."""
        new = Ctx(self.judge, self.findings)
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
        new.judge = PathJudge("/\x03remote-host", cwd=None, home="/\x03remote-home")
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
        data = literal_output(parse(inner), self.child(share_state=True))
        return None if data is None else data.decode("utf-8", "replace")

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
            from sre_agent.safety.rules.net import judge_dev_tcp

            judge_dev_tcp(self, ref)
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
        return judge_argv(self.ctx.child(share_state=True), argv, stdin,
                          self.subtags if subtags is None else subtags, self.procsub_tags, None)

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
        return walk_script(script, sub)

    def run_stdin_code(self, language: str = "shell") -> None:
        """The command executes what arrives on stdin (`... | sh`, `... | python`)."""
        flow = self.stdin
        if flow is None:
            self.add(Risk.MEDIUM, "starts an interactive interpreter")
            return
        if "network" in flow.tags:
            self.add(Risk.HIGH, "executes code fetched from the network (piped into it)")
        if "decoded" in flow.tags:
            self.add(Risk.HIGH, "executes a decoded/obfuscated payload")
        if flow.text is not None:
            text = flow.text.decode("utf-8", "replace")
            if language == "shell":
                self.add(Risk.MEDIUM, "executes text piped into a shell")
                self.run_script(text)
            else:
                from sre_agent.safety.rules.net import judge_inline_code

                judge_inline_code(self, language, text)
        else:
            self.add(Risk.MEDIUM, "executes commands read from stdin")


def parse_opts(args: list[str], takes_value: set[str] = frozenset(),  # type: ignore[assignment]
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


# -- walking ---------------------------------------------------------------------------------


def walk_script(script: Script, ctx: Ctx) -> Flow:
    out = Flow()
    for pipeline in script.pipelines:
        flow = walk_pipeline(pipeline, ctx)
        out.tags |= flow.tags
        out.text, out.roots = flow.text, flow.roots
    return out


def walk_pipeline(pipeline: Pipeline, ctx: Ctx) -> Flow:
    flow: Flow | None = None
    many = len(pipeline.parts) > 1
    for part in pipeline.parts:
        part_ctx = ctx.child() if many else ctx
        part_ctx.depth = ctx.depth
        if isinstance(part, Block):
            flow = walk_block(part, part_ctx)
        else:
            previous = flow.text if flow else None
            flow = judge_command(part, part_ctx, flow)
            if flow.text is None:
                flow.text = step(part, part_ctx, previous)
            if flow.text is not None:
                _remember_written(part, part_ctx, flow.text)
    return flow or Flow()


def _remember_written(cmd: Command, ctx: Ctx, text: bytes) -> None:
    for red in cmd.redirects:
        if red.op in (">", ">|", ">>") and not red.target.isdigit():
            ref = ctx.judge.resolve(" ".join(ctx.expand(red.target)))
            if ref.norm and not ref.glob:
                before = ctx.written.get(ref.norm, b"") if red.op == ">>" else b""
                ctx.written[ref.norm] = before + text


def walk_block(block: Block, ctx: Ctx) -> Flow:
    for red in block.redirects:
        _judge_redirect(red, ctx, Call(ctx, ["redirect"], None, set(), set(), None))
    if block.kind == "function" and block.name:
        ctx.functions[block.name] = block.body
        if _calls(block.body, block.name):
            ctx.add(Risk.HIGH, f"function {block.name} calls itself (fork bomb pattern)")
        return Flow()
    if block.kind == "for" and block.var:
        values: list[str | None] = []
        for raw in block.items[:16]:
            values.extend(ctx.expand(raw))
        values = values[:8] or [None]
        out = Flow()
        for value in values:
            ctx.env[block.var] = None if value is None or UNKNOWN in value else value
            out.tags |= walk_script(block.body, ctx).tags
        return out
    if block.kind == "subshell":
        return walk_script(block.body, ctx.child())
    return walk_script(block.body, ctx)


def _calls(script: Script, name: str) -> bool:
    for pipeline in script.pipelines:
        for part in pipeline.parts:
            if isinstance(part, Block):
                if _calls(part.body, name):
                    return True
            elif part.words and part.words[0] == name:
                return True
    return False


_HISTORY_VARS = {"HISTFILE": "/dev/null", "HISTSIZE": "0", "HISTFILESIZE": "0"}


def _assign(raw: str, ctx: Ctx, persist: bool) -> None:
    name, _, value_raw = raw.partition("=")
    name = name.rstrip("+")
    values = ctx.expand(value_raw) if value_raw else [""]
    value = " ".join(values)
    if name in _HISTORY_VARS and (value in ("", _HISTORY_VARS[name]) or value == "/dev/null"):
        ctx.add(Risk.HIGH, f"sets {name}={value or '(empty)'}: disables shell history")
    if persist:
        ctx.env[name] = None if UNKNOWN in value else value


def judge_command(cmd: Command, ctx: Ctx, stdin: Flow | None) -> Flow:
    subtags: set[str] = set()
    for sub in cmd.subs:
        subtags |= walk_script(sub, ctx.child()).tags
    procsub_tags: set[str] = set()
    for sub in cmd.procsubs:
        procsub_tags |= walk_script(sub, ctx.child()).tags
    for raw in cmd.assigns:
        _assign(raw, ctx, persist=not cmd.words)
    argv: list[str] = []
    for raw in cmd.words:
        argv.extend(ctx.expand(raw))
    holder = Call(ctx, argv or ["redirect"], stdin, subtags, procsub_tags, cmd)
    for red in cmd.redirects:
        stdin = _judge_redirect(red, ctx, holder) or stdin
    if not argv:
        return Flow(tags=subtags)
    return judge_argv(ctx, argv, stdin, subtags, procsub_tags, cmd)


def _judge_redirect(red, ctx: Ctx, call: Call) -> Flow | None:
    op = red.op
    if op in ("<<", "<<<"):
        body = red.target if op == "<<" else " ".join(ctx.expand(red.target))
        return Flow(tags={"literal"}, text=(body + "\n").encode())
    if red.target.isdigit() or red.target == "-":
        return None  # fd duplication (2>&1) or closing
    target = " ".join(ctx.expand(red.target))
    if op in ("<", "<&"):
        call.read(target)
        flow = Flow(tags=set(call.out.tags))
        return flow
    call.write(target, truncate=op in (">", ">|", "&>", "<>", ">&"),
               verb="writes" if op != "<>" else "opens for writing")
    return None


def judge_argv(ctx: Ctx, argv: list[str], stdin: Flow | None, subtags: set[str],
               procsub_tags: set[str], cmd: Command | None) -> Flow:
    from sre_agent.safety.rules.files import dispatch

    call = Call(ctx, argv, stdin, subtags, procsub_tags, cmd)
    if UNKNOWN in argv[0]:
        if subtags & {"decoded", "network"}:
            call.add(Risk.HIGH, "command name is decoded or fetched at run time")
        else:
            call.ctx.add(Risk.MEDIUM, "command name is known only at run time")
        return call.out
    if FOUND in argv[0]:
        ctx.add(Risk.MEDIUM, "executes files that find/xargs select")
        return call.out
    name = call.name
    if name in ctx.functions and argv[0] == name:
        if name in ctx.calling:
            ctx.add(Risk.HIGH, f"function {name} recurses (fork bomb pattern)")
            return call.out
        sub = ctx.child(share_state=True)
        sub.calling.add(name)
        return walk_script(ctx.functions[name], sub)
    dispatch(call)
    return call.out


# -- the entry point -------------------------------------------------------------------------

_FORK_BOMB = re.compile(r"([\w:.]+)\s*\(\)\s*\{[^}]*\1\s*\|\s*\1\s*&")


def analyze_command(command: str, workspace: str | None) -> RiskVerdict:
    ctx = Ctx(PathJudge(workspace))
    if not command.strip():
        return RiskVerdict(risk=Risk.LOW, reasons=["empty command"])
    script = parse(command)
    walk_script(script, ctx)
    if script.parsed_by == "tokenizer":
        ctx.add(Risk.MEDIUM, f"shell could not be fully parsed ({script.note}); judged by tokens")
        if _FORK_BOMB.search(command):
            ctx.add(Risk.HIGH, "fork bomb pattern")
    return verdict_of(ctx.findings)


def verdict_of(findings: list[Finding]) -> RiskVerdict:
    if not findings:
        return RiskVerdict(risk=Risk.LOW, reasons=["no effect"])
    risk = max(f.risk for f in findings)
    reasons: list[str] = []
    for level in (Risk.HIGH, Risk.MEDIUM, Risk.LOW):
        for f in findings:
            if f.risk == level and f.reason not in reasons:
                reasons.append(f.reason)
        if level == risk and len(reasons) >= 3:
            break
    return RiskVerdict(risk=risk, reasons=reasons[:_MAX_REASONS])
