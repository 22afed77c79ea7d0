"""The skill-body markdown renderer: escaped, and links only to http(s)."""

from __future__ import annotations

from sre_agent.web.markdown import render


def test_markdown_is_escaped_and_links_are_only_http() -> None:
    html = render("# T <x>\n\nrun `rm -rf <dir>` **now**\n\n- a [x](javascript:alert(1))\n"
                  "- [ok](https://example.org/a?b=1&c=2)\n\n```\n<script>\n```")
    assert "<h2>T &lt;x&gt;</h2>" in html
    assert "<code>rm -rf &lt;dir&gt;</code> <strong>now</strong>" in html
    assert 'href="javascript' not in html and "x (javascript:alert(1))" in html
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html
    assert "<pre><code>&lt;script&gt;</code></pre>" in html
