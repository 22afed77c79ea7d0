"""Walks a parsed command: pipelines, data flow between commands, cwd and variables, blocks.

Each simple command becomes a `Call` (see `call`) judged by the rule the registry holds for its
name (`registry.lookup`). The engine never imports a rule module: `assess` loads them.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, Ctx, Finding, Flow, Walker
from sre_agent.safety.levels import Risk
from sre_agent.safety.paths import PathJudge
from sre_agent.safety.registry import lookup
from sre_agent.safety.shell.literal import step
from sre_agent.safety.shell.markers import FOUND, UNKNOWN
from sre_agent.safety.shell.parse import parse
from sre_agent.safety.shell.tree import Block, Command, Pipeline, Redirect, Script
from sre_agent.safety.verdict import RiskVerdict

_MAX_REASONS = 8


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
                flow.text = step(part, part_ctx.expand, previous)
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


def judge_command(cmd: Command, ctx: Ctx, stdin: Flow | None) -> Flow:
    subtags: set[str] = set()
    for sub in cmd.subs:
        subtags |= walk_script(sub, ctx.child()).tags
    procsub_tags: set[str] = set()
    for sub in cmd.procsubs:
        procsub_tags |= walk_script(sub, ctx.child()).tags
    for raw in cmd.assigns:
        ctx.assign(raw, persist=not cmd.words)
    argv: list[str] = []
    for raw in cmd.words:
        argv.extend(ctx.expand(raw))
    holder = Call(ctx, argv or ["redirect"], stdin, subtags, procsub_tags, cmd)
    for red in cmd.redirects:
        stdin = _judge_redirect(red, ctx, holder) or stdin
    if not argv:
        return Flow(tags=subtags)
    return judge_argv(ctx, argv, stdin, subtags, procsub_tags, cmd)


def _judge_redirect(red: Redirect, ctx: Ctx, call: Call) -> Flow | None:
    op = red.op
    if op in ("<<", "<<<"):
        body = red.target if op == "<<" else " ".join(ctx.expand(red.target))
        return Flow(tags={"literal"}, text=(body + "\n").encode())
    if red.target.isdigit() or red.target == "-":
        return None  # fd duplication (2>&1) or closing
    target = " ".join(ctx.expand(red.target))
    if op in ("<", "<&"):
        call.read(target)
        return Flow(tags=set(call.out.tags))
    call.write(target, truncate=op in (">", ">|", "&>", "<>", ">&"),
               verb="writes" if op != "<>" else "opens for writing")
    return None


def judge_argv(ctx: Ctx, argv: list[str], stdin: Flow | None, subtags: set[str],
               procsub_tags: set[str], cmd: Command | None) -> Flow:
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
    lookup(name)(call)
    return call.out


WALKER = Walker(script=walk_script, argv=judge_argv)

# -- the entry point -------------------------------------------------------------------------

_FORK_BOMB = re.compile(r"([\w:.]+)\s*\(\)\s*\{[^}]*\1\s*\|\s*\1\s*&")


def analyze_command(command: str, workspace: str | None) -> RiskVerdict:
    """The verdict on one command line (the rules must be loaded: see `assess`)."""
    ctx = Ctx(PathJudge(workspace), WALKER)
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
    """Worst risk wins; reasons most severe first, deduplicated, at most `_MAX_REASONS`."""
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


__all__ = ["WALKER", "analyze_command", "judge_argv", "verdict_of", "walk_script"]
