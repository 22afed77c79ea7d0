"""Shell text -> a small syntax tree for the risk engine: pipelines of commands with raw words.

bashlex does the parsing; when it cannot (`[[ ]]` with `&&`, `case`, quoted here-doc
delimiters, unbalanced quotes) a quote-aware tokenizer produces the same shape and the script is
marked `parsed_by="tokenizer"` so that the engine can floor its verdict at MEDIUM.
Words keep their raw source text (quotes included); `expand` turns one into argv fields.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import bashlex
import bashlex.errors


@dataclass
class Redirect:
    op: str  # '>', '>>', '<', '<<', '<<<', '>&', '&>', '>|', '<>' ...
    target: str  # raw word, or the here-document body for '<<'


@dataclass
class Command:
    words: list[str] = field(default_factory=list)
    assigns: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    subs: list[Script] = field(default_factory=list)  # $(...) and `...`: they run too
    procsubs: list[Script] = field(default_factory=list)  # <(...) >(...)


@dataclass
class Block:
    """A compound command: group, subshell, loop, if, function definition."""

    kind: str
    body: Script
    var: str | None = None
    items: list[str] = field(default_factory=list)
    name: str | None = None
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    parts: list[Command | Block]
    background: bool = False


@dataclass
class Script:
    pipelines: list[Pipeline]
    parsed_by: str = "bashlex"
    note: str | None = None


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
        script = _tokenize_script(source)
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


# -- the fallback tokenizer ----------------------------------------------------------------------

_OPS = ("&&", "||", "|&", ";;", "|", "&", ";", "(", ")", "\n")
_REDIR = ("&>>", "<<<", "<<-", "&>", ">>", ">|", ">&", "<&", "<>", "<<", ">", "<")
_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
             "esac", "in", "[[", "]]"}
_SKIP_LINE = {"for", "case", "select", "function"}


def _match_close(src: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index just past the bracket closing the one at `start` (quotes respected)."""
    depth, i, n = 0, start, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            j = src.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch == '"':
            i = _skip_dquote(src, i)
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_dquote(src: str, i: int) -> int:
    n = len(src)
    i += 1
    while i < n:
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        if src.startswith("$(", i):
            i = _match_close(src, i + 1, "(", ")")
            continue
        i += 1
    return n


def _tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    cur: list[str] = []
    i, n = 0, len(src)

    def flush() -> None:
        if cur:
            out.append(("word", "".join(cur)))
            cur.clear()

    while i < n:
        ch = src[i]
        if ch in " \t\r":
            flush()
            i += 1
        elif ch == "#" and not cur:
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif ch == "\\":
            cur.append(src[i:i + 2])
            i += 2
        elif ch == "'":
            j = src.find("'", i + 1)
            j = n if j < 0 else j + 1
            cur.append(src[i:j])
            i = j
        elif ch == '"':
            j = _skip_dquote(src, i)
            cur.append(src[i:j])
            i = j
        elif src.startswith(("$(", "<(", ">("), i) and (ch == "$" or not cur):
            j = _match_close(src, i + 1, "(", ")")
            cur.append(src[i:j])
            i = j
        elif src.startswith("${", i):
            j = _match_close(src, i + 1, "{", "}")
            cur.append(src[i:j])
            i = j
        elif ch == "`":
            j = src.find("`", i + 1)
            j = n if j < 0 else j + 1
            cur.append(src[i:j])
            i = j
        else:
            redir = next((r for r in _REDIR if src.startswith(r, i)), None)
            if redir:
                if cur and "".join(cur).isdigit():
                    cur.clear()
                flush()
                out.append(("redir", redir))
                i += len(redir)
                continue
            op = next((o for o in _OPS if src.startswith(o, i)), None)
            if op:
                flush()
                out.append(("op", op))
                i += len(op)
                continue
            cur.append(ch)
            i += 1
    flush()
    return out


def _tokenize_script(src: str) -> Script:
    pipelines: list[Pipeline] = []
    parts: list[Command | Block] = []
    cmd = Command()
    pending_redir: str | None = None
    skip = False

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects or cmd.assigns:
            parts.append(cmd)
        cmd = Command()

    def end_pipeline(background: bool = False) -> None:
        nonlocal parts, skip
        end_command()
        if parts:
            pipelines.append(Pipeline(parts, background))
        parts = []
        skip = False

    for kind, text in _tokens(src):
        if kind == "redir":
            pending_redir = text
            continue
        if kind == "word" and pending_redir:
            target = text
            if pending_redir == "<<":
                target = ""
            cmd.redirects.append(Redirect(pending_redir, target))
            _collect_text_subs(text, cmd)
            pending_redir = None
            continue
        pending_redir = None
        if kind == "op":
            if text in ("|", "|&"):
                end_command()
            else:
                end_pipeline(background=text == "&")
            continue
        if skip:
            continue
        if not cmd.words and not cmd.assigns:
            if text in _SKIP_LINE:
                skip = True
                continue
            if text in _KEYWORDS or text.endswith(")"):
                continue
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", text, re.S):
                cmd.assigns.append(text)
                _collect_text_subs(text, cmd)
                continue
        if text in ("]]",):
            continue
        cmd.words.append(text)
        _collect_text_subs(text, cmd)
    end_pipeline()
    return Script(pipelines)


def _collect_text_subs(word: str, cmd: Command) -> None:
    for kind, inner in substitutions(word):
        (cmd.procsubs if kind == "proc" else cmd.subs).append(parse(inner))


def substitutions(word: str) -> list[tuple[str, str]]:
    """The `$(...)`, backtick and `<(...)` bodies inside a raw word (not in single quotes)."""
    found: list[tuple[str, str]] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch == "\\":
            i += 2
        elif ch == "'" and (i == 0 or word[i - 1] != "$"):
            j = word.find("'", i + 1)
            i = n if j < 0 else j + 1
        elif word.startswith(("$(", "<(", ">("), i):
            j = _match_close(word, i + 1, "(", ")")
            inner = word[i + 2:j - 1]
            if ch == "$" and inner.startswith("(") and inner.endswith(")"):
                inner = inner[1:-1]  # arithmetic: look for substitutions inside
                found.extend(substitutions(inner))
            else:
                found.append(("proc" if ch != "$" else "cmd", inner))
            i = j
        elif ch == "`":
            j = word.find("`", i + 1)
            j = n if j < 0 else j
            found.append(("cmd", word[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return found
