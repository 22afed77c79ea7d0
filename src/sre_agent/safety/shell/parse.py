"""Shell text -> the syntax tree of `tree` (pipelines of commands with raw words).

bashlex does the parsing; when it cannot, the fallback tokenizer produces the same shape and
the script is marked `parsed_by="tokenizer"` so that the engine can floor its verdict at
MEDIUM. Never raises.
"""

from __future__ import annotations

import functools
import re

import bashlex
import bashlex.errors

from sre_agent.safety.shell.tokenizer import tokenize_script
from sre_agent.safety.shell.tree import Block, Command, Pipeline, Redirect, Script

_MAX_LEN = 20_000


@functools.lru_cache(maxsize=2048)
def parse(source: str) -> Script:
    """Parse shell text; never raises (the tokenizer takes over when bashlex gives up)."""
    source = source[:_MAX_LEN]
    if not source.strip():
        return Script([])
    text = _prepare(source)
    try:
        trees = bashlex.parse(text)
        return Script([p for tree in trees for p in _Converter(text).script_of(tree).pipelines])
    except (bashlex.errors.ParsingError, NotImplementedError, AttributeError, IndexError,
            TypeError, ValueError, AssertionError, RecursionError) as exc:
        script = tokenize_script(source, parse)
        script.parsed_by = "tokenizer"
        script.note = f"{type(exc).__name__}: {exc}"[:160]
        return script


_ARITH = re.compile(r"\$\(\(([^()`$]*)\)\)")


def _prepare(source: str) -> str:
    """Rewrite constructs bashlex lacks into equivalents that keep every executed command."""
    text = _ARITH.sub("0", source)  # $((1+2)) without substitutions inside: a number
    text = re.sub(r"<<(-?)\s*(['\"])(\w+)\2", r"<<\1\3", text)  # quoted here-doc delimiter
    text = re.sub(r"(?<![^\s;&|(])\[\[(?=\s)", "[", text)
    text = re.sub(r"(?<=\s)\]\](?=$|[\s;&|)])", "]", text)
    text = re.sub(r"(^|[;&|(]\s*|\n\s*)time\s+(-p\s+)?", r"\1", text)
    return text


class _Converter:
    """bashlex nodes -> our tree, keeping each word's raw source text."""

    def __init__(self, source: str) -> None:
        self.src = source

    def raw(self, node: bashlex.ast.node) -> str:
        return self.src[node.pos[0]:node.pos[1]]

    def script_of(self, node: bashlex.ast.node) -> Script:
        kind = node.kind
        if kind == "list":
            pipelines: list[Pipeline] = []
            for part in node.parts:
                if part.kind == "operator":
                    if part.op == "&" and pipelines:
                        pipelines[-1].background = True
                    continue
                pipelines.extend(self.script_of(part).pipelines)
            return Script(pipelines)
        if kind == "pipeline":
            parts = [self.element(p) for p in node.parts if p.kind not in ("pipe", "reservedword")]
            return Script([Pipeline([p for p in parts if p is not None])])
        element = self.element(node)
        return Script([Pipeline([element])] if element is not None else [])

    def element(self, node: bashlex.ast.node) -> Command | Block | None:
        kind = node.kind
        if kind == "command":
            return self.command(node)
        if kind == "compound":
            return self.compound(node)
        if kind in ("for", "if", "while", "until"):
            return self.loop(node)
        if kind == "function":
            body_nodes = [p for p in node.parts if p.kind == "compound"]
            body = self.compound(body_nodes[0]) if body_nodes else None
            name = node.parts[0].word if node.parts and node.parts[0].kind == "word" else None
            return Block("function", body.body if body else Script([]), name=name)
        if kind in ("list", "pipeline"):
            return Block("group", self.script_of(node))
        return None

    def compound(self, node: bashlex.ast.node) -> Block:
        items = node.list
        kind = "group"
        pipelines: list[Pipeline] = []
        for part in items:
            if part.kind == "reservedword":
                if part.word == "(":
                    kind = "subshell"
                continue
            if part.kind == "operator":
                if part.op == "&" and pipelines:
                    pipelines[-1].background = True
                continue
            element = self.element(part)
            if isinstance(element, Block) and element.kind == "group" and len(items) == 1:
                return element
            if element is not None:
                pipelines.append(Pipeline([element]))
        redirects = [self.redirect(r) for r in getattr(node, "redirects", []) or []]
        return Block(kind, Script(pipelines), redirects=[r for r in redirects if r])

    def loop(self, node: bashlex.ast.node) -> Block:
        bodies: list[Pipeline] = []
        var: str | None = None
        items: list[str] = []
        seen_in = False
        for part in node.parts:
            if part.kind == "reservedword":
                seen_in = seen_in or part.word == "in"
                if part.word in ("do", ";", "then", "else"):
                    seen_in = False if part.word == "do" else seen_in
                continue
            if node.kind == "for" and part.kind == "word":
                if var is None:
                    var = part.word
                elif seen_in:
                    items.append(self.raw(part))
                continue
            bodies.extend(self.script_of(part).pipelines)
        return Block("for" if node.kind == "for" else "loop", Script(bodies), var=var, items=items)

    def command(self, node: bashlex.ast.node) -> Command:
        cmd = Command()
        for part in node.parts:
            if part.kind == "assignment" and not cmd.words:
                cmd.assigns.append(self.raw(part))
            elif part.kind in ("word", "assignment"):
                cmd.words.append(self.raw(part))
            elif part.kind == "redirect":
                red = self.redirect(part)
                if red:
                    cmd.redirects.append(red)
                continue
            else:
                continue
            self.collect_subs(part, cmd)
        return cmd

    def redirect(self, node: bashlex.ast.node) -> Redirect | None:
        op = node.type
        if getattr(node, "heredoc", None) is not None:
            body = node.heredoc.value
            body = body.rsplit("\n", 1)[0] if "\n" in body else ""
            return Redirect("<<", body)
        out = node.output
        if isinstance(out, int):
            return Redirect(op, str(out))
        if out is None:
            return None
        return Redirect(op, self.raw(out))

    def collect_subs(self, node: bashlex.ast.node, cmd: Command) -> None:
        for part in getattr(node, "parts", []) or []:
            if part.kind == "commandsubstitution":
                cmd.subs.append(self.script_of(part.command))
            elif part.kind == "processsubstitution":
                cmd.procsubs.append(self.script_of(part.command))
            else:
                self.collect_subs(part, cmd)


__all__ = ["Block", "Command", "Pipeline", "Redirect", "Script", "parse"]
