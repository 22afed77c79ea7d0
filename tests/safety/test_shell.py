"""Shell text: parsing (bashlex and the tokenizer fallback), word expansion, literal output."""

from __future__ import annotations

from sre_agent.safety.shell.expand import decode_escapes, expand
from sre_agent.safety.shell.literal import literal_output
from sre_agent.safety.shell.markers import UNKNOWN
from sre_agent.safety.shell.parse import Block, Command, Script, parse
from sre_agent.safety.shell.scan import substitutions
from sre_agent.safety.shell.tokenizer import tokenize_script

_VARS = {"A": "x y", "E": "", "P": "/srv/w"}


def _expand(raw: str) -> list[str]:
    return expand(raw, _VARS.get, lambda inner: None, "/home/u")


def test_parse_keeps_raw_words_pipelines_and_substitutions() -> None:
    script = parse("cd /tmp && X=1 ls -l \"$HOME\" | grep -v x > out.txt; echo $(id) &")
    assert script.parsed_by == "bashlex"
    first, second = script.pipelines[0], script.pipelines[2]
    assert [p.words for p in script.pipelines[1].parts] == [["ls", "-l", '"$HOME"'],
                                                            ["grep", "-v", "x"]]
    assert first.parts[0].words == ["cd", "/tmp"]
    assert script.pipelines[1].parts[0].assigns == ["X=1"]
    assert script.pipelines[1].parts[1].redirects[0].op == ">"
    echo = second.parts[0]
    assert isinstance(echo, Command) and echo.subs[0].pipelines[0].parts[0].words == ["id"]
    assert second.background


def _blocks(script: Script) -> list[Block]:
    found: list[Block] = []
    for pipeline in script.pipelines:
        for part in pipeline.parts:
            if isinstance(part, Block):
                found += [part, *_blocks(part.body)]
    return found


def test_parse_blocks_and_never_raises() -> None:
    [loop] = [b for b in _blocks(parse("for f in a b; do rm $f; done")) if b.kind == "for"]
    assert loop.var == "f" and loop.items == ["a", "b"]
    assert loop.body.pipelines[0].parts[0].words == ["rm", "$f"]
    [func] = [b for b in _blocks(parse("f(){ ls; }")) if b.kind == "function"]
    assert func.name == "f"
    [sub] = [b for b in _blocks(parse("(cd /etc)")) if b.kind == "subshell"]
    assert sub.body.pipelines[0].parts[0].words == ["cd", "/etc"]
    for text in ("echo 'unterminated", "case $x in a) rm -rf /;; esac", "((", "`", ""):
        parse(text)  # no exception


def test_tokenizer_fallback_has_the_same_shape() -> None:
    script = parse("case $x in a) rm -rf /;; esac")
    assert script.parsed_by == "tokenizer" and script.note
    assert any(part.words[:1] == ["rm"] for p in script.pipelines for part in p.parts
               if isinstance(part, Command))
    tokenized = tokenize_script("a | b $(c) > f; d &", parse)
    assert [[part.words for part in p.parts] for p in tokenized.pipelines] == \
        [[["a"], ["b", "$(c)"]], [["d"]]]
    assert tokenized.pipelines[0].parts[1].subs[0].pipelines[0].parts[0].words == ["c"]
    assert tokenized.pipelines[1].background


def test_substitutions_outside_single_quotes() -> None:
    assert substitutions("a$(b)`c`<(d)'$(e)'") == [("cmd", "b"), ("cmd", "c"), ("proc", "d")]
    assert substitutions("$(( $(x) + 1 ))") == [("cmd", "x")]


def test_expand_quotes_variables_and_splitting() -> None:
    assert _expand("plain") == ["plain"]
    assert _expand("$A") == ["x", "y"]  # unquoted: split
    assert _expand('"$A"') == ["x y"]  # quoted: one field
    assert _expand("'$A'") == ["$A"]
    assert _expand("$'a\\tb'") == ["a\tb"]
    assert _expand("${E:-d}") == ["d"] and _expand("${U:-d}") == [UNKNOWN]  # U: may be set
    assert _expand("$P/x") == ["/srv/w/x"] and _expand("$U/x") == [UNKNOWN + "/x"]
    assert _expand("~/x") == ["/home/u/x"] and _expand("~root") == ["/root"]
    assert _expand("$(date)") == [UNKNOWN] and _expand("$((1+2))") == [UNKNOWN]
    assert _expand("<(ls)") == ["/dev/fd/63"]


def test_expand_never_splits_on_characters_inside_values() -> None:
    odd = {"V": "/\x01x/\x02y", "W": "a\x01 b"}
    assert expand('"$V"', odd.get, lambda i: None, "/h") == ["/\x01x/\x02y"]
    assert expand("$V", odd.get, lambda i: None, "/h") == ["/\x01x/\x02y"]
    assert expand("$W", odd.get, lambda i: None, "/h") == ["a\x01", "b"]


def test_literal_output_of_small_pipelines() -> None:
    def run(text: str) -> bytes | None:
        return literal_output(parse(text), _expand)

    assert run("echo hi") == b"hi\n"
    assert run("printf 'r\\x6d'") == b"rm"
    assert run("echo cm0gLXJmIC8K | base64 -d") == b"rm -rf /\n"
    assert run("echo abc | rev") == b"cba\n"
    assert run("cat /etc/hosts") is None and run("echo $(id)") is None
    assert decode_escapes("\\x41\\101\\u0042\\n") == "AAB\n"
