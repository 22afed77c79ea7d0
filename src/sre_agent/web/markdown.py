"""A small Markdown-to-HTML renderer for skill bodies (runbooks), escaping everything.

Enough of Markdown for the runbooks in `.agents/skills`: ATX headings, paragraphs, bullet and
numbered lists (one level; continuation lines are joined), fenced code blocks, block quotes,
and inline `code`, **bold**, *emphasis* and [links](http://...). Every piece of source text is
HTML-escaped before any tag is added, so a skill file cannot inject markup; link targets other
than http(s) are rendered as plain text.
"""

from __future__ import annotations

import re
from html import escape

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)\s*$")
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"
                     r"|\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text: str) -> str:
    """Escape `text` and render its inline code, bold, emphasis and links."""
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        code, bold, em, label, href = m.groups()
        if code is not None:
            out.append(f"<code>{escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline(bold)}</strong>")
        elif em is not None:
            out.append(f"<em>{inline(em)}</em>")
        elif href.startswith(("http://", "https://")):
            out.append(f'<a href="{escape(href, quote=True)}" rel="noopener noreferrer">'
                       f"{escape(label)}</a>")
        else:
            out.append(f"{escape(label)} ({escape(href)})")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def render(markdown: str, *, heading_offset: int = 1) -> str:
    """Render `markdown` to an HTML fragment; headings are shifted down by `heading_offset`."""
    html: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_tag: str | None = None
    lines = markdown.replace("\r\n", "\n").split("\n")
    i = 0

    def flush() -> None:
        nonlocal list_tag
        if para:
            html.append(f"<p>{inline(' '.join(p.strip() for p in para))}</p>")
            para.clear()
        if list_tag:
            html.append(f"<{list_tag}>" + "".join(f"<li>{inline(t)}</li>" for t in items)
                        + f"</{list_tag}>")
            items.clear()
            list_tag = None

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                body.append(lines[i])
                i += 1
            html.append(f"<pre><code>{escape(chr(10).join(body))}</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            level = min(6, len(heading.group(1)) + heading_offset)
            html.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            tag = "ul" if bullet else "ol"
            if para or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append((bullet or numbered).group(1))  # type: ignore[union-attr]
        elif line.lstrip().startswith(">"):
            flush()
            html.append(f"<blockquote>{inline(line.lstrip()[1:].strip())}</blockquote>")
        elif list_tag and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # a wrapped list item
        else:
            if list_tag:
                flush()
            para.append(line)
        i += 1
    flush()
    return "\n".join(html)
