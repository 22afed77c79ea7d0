"""The fallback when bashlex cannot parse (`[[ ]]` with `&&`, `case`, quoted here-doc
delimiters, unbalanced quotes): a quote-aware tokenizer producing the same tree shape.

It keeps every simple command it can see, with its redirects and substitutions; compound
syntax is skipped (`for`/`case` lines) or dropped (keywords). The caller marks the result
`parsed_by="tokenizer"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sre_agent.safety.shell.scan import match_close, skip_dquote, substitutions
from sre_agent.safety.shell.tree import Command, Pipeline, Redirect, Script

_OPS = ("&&", "||", "|&", ";;", "|", "&", ";", "(", ")", "\n")
_REDIR = ("&>>", "<<<", "<<-", "&>", ">>", ">|", ">&", "<&", "<>", "<<", ">", "<")
_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
             "esac", "in", "[[", "]]"}
_SKIP_LINE = {"for", "case", "select", "function"}


def tokens(src: str) -> list[tuple[str, str]]:
    """`("word" | "redir" | "op", text)` in source order; comments dropped."""
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
            j = skip_dquote(src, i)
            cur.append(src[i:j])
            i = j
        elif src.startswith(("$(", "<(", ">("), i) and (ch == "$" or not cur):
            j = match_close(src, i + 1, "(", ")")
            cur.append(src[i:j])
            i = j
        elif src.startswith("${", i):
            j = match_close(src, i + 1, "{", "}")
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


def tokenize_script(src: str, parse_inner: Callable[[str], Script]) -> Script:
    """The simple commands of `src`; `parse_inner` parses the body of each substitution."""
    pipelines: list[Pipeline] = []
    parts: list[Command] = []
    cmd = Command()
    pending_redir: str | None = None
    skip = False

    def collect_subs(word: str) -> None:
        for kind, inner in substitutions(word):
            (cmd.procsubs if kind == "proc" else cmd.subs).append(parse_inner(inner))

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects or cmd.assigns:
            parts.append(cmd)
        cmd = Command()

    def end_pipeline(background: bool = False) -> None:
        nonlocal parts, skip
        end_command()
        if parts:
            pipelines.append(Pipeline(list(parts), background))
        parts = []
        skip = False

    for kind, text in tokens(src):
        if kind == "redir":
            pending_redir = text
            continue
        if kind == "word" and pending_redir:
            target = "" if pending_redir == "<<" else text
            cmd.redirects.append(Redirect(pending_redir, target))
            collect_subs(text)
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
                collect_subs(text)
                continue
        if text == "]]":
            continue
        cmd.words.append(text)
        collect_subs(text)
    end_pipeline()
    return Script(pipelines)


__all__ = ["tokenize_script", "tokens"]
