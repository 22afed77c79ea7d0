"""Rules for code execution: shells and interpreters (`bash -c`, `python -c`, `perl -e`,
`... | sh`, `python script.py`, `source file`). Shell code is parsed and judged like any
command line; inline code of other languages is scanned for shell-outs, deletions, writes,
network use and obfuscation.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call
from sre_agent.safety.hosts import host_of, is_loopback
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule, rule_matching
from sre_agent.safety.shell.markers import RUNTIME_WORD, UNKNOWN

SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "rbash"}
_INTERPRETERS = (r"(python|pypy)[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node(js)?|php[0-9.]*|"
                 r"lua[0-9.]*|Rscript|deno|bun|tclsh|pwsh|powershell|osascript|jshell|irb")


@rule(*SHELLS)
@rule_matching(_INTERPRETERS)
def judge_interpreter(call: Call) -> None:
    name = call.name
    lang = "shell" if name in SHELLS else _language(name)
    args = call.args
    if args and all(a in ("--version", "-V", "--help", "-h", "-VV") for a in args):
        call.low("prints version or help")
        return
    code: str | None = None
    rest: list[str] = []
    in_place = False
    i = 0
    script: str | None = None
    while i < len(args):
        a = args[i]
        flag_code = _code_flag(lang, a)
        if flag_code:
            code = args[i + 1] if i + 1 < len(args) else ""
            rest = args[i + 2:]
            break
        if lang == "perl" and re.fullmatch(r"-[a-zA-Z]*[eE]", a):
            in_place = in_place or "i" in a[1:]
            code = args[i + 1] if i + 1 < len(args) else ""
            rest = args[i + 2:]
            break
        if a.startswith("-i") and lang in ("perl", "ruby"):
            in_place = True
        if a in ("-m",) and lang == "python":
            call.add(Risk.MEDIUM, f"runs python module {args[i + 1] if i + 1 < len(args) else ''}")
            return
        if a in ("-o", "-O", "+O", "-W", "-X") and i + 1 < len(args):
            i += 2
            continue
        if a == "-" or not a.startswith(("-", "+")):
            script = a
            rest = args[i + 1:]
            break
        i += 1
    if code is not None:
        if lang == "shell":
            if call.subtags & {"network"}:
                call.add(Risk.HIGH, "runs shell code fetched from the network")
            if call.subtags & {"decoded"}:
                call.add(Risk.HIGH, "runs a decoded/obfuscated payload")
            call.run_script(code.replace(UNKNOWN, RUNTIME_WORD), positional=rest)
            if UNKNOWN in code:
                call.add(Risk.MEDIUM, "shell code known only at run time")
        else:
            judge_inline_code(call, lang, code)
        if in_place:
            for path in rest:
                call.write(path, truncate=False, verb="edits in place")
        return
    if script is None or script in ("-", "/dev/stdin"):
        run_stdin_code(call, lang)
        return
    call.execute_file(script)


def _language(name: str) -> str:
    for lang in ("python", "pypy", "perl", "ruby", "node", "php", "lua", "deno", "bun", "pwsh",
                 "powershell", "osascript"):
        if name.startswith(lang):
            return "python" if lang == "pypy" else "node" if lang in ("deno", "bun") else lang
    return name


def _code_flag(lang: str, arg: str) -> bool:
    if lang == "shell":
        return bool(re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", arg)) and not arg.startswith("--")
    return arg in {
        "python": ("-c",), "ruby": ("-e",), "node": ("-e", "--eval", "-p", "--print", "eval"),
        "php": ("-r",), "lua": ("-e",), "pwsh": ("-c", "-Command", "-command"),
        "powershell": ("-c", "-Command", "-command"), "osascript": ("-e",),
    }.get(lang, ("-e", "-c"))


_SHELL_EXEC = re.compile(
    r"os\.system|subprocess|os\.popen|\bpopen|\bsystem\s*\(|\bexec[lv]?p?e?\s*\(|execSync|"
    r"child_process|spawn|shell_exec|passthru|proc_open|\bqx|`|Kernel\.exec|IO\.popen|pty\.spawn|"
    r"Runtime\.getRuntime|Process\.Start|Invoke-Expression|iex\b|do shell script")
_DELETE = re.compile(r"rmtree|\bremove\s*\(|unlink|rmdir|removedirs|\brm_rf|\brm_r\b|rmSync|"
                     r"\bfs\.rm\b|File\.delete|Remove-Item|\btruncate\s*\(")
_WRITE = re.compile(r"open\s*\([^)]*['\"][wa+]|write_text|write_bytes|writeFile|File\.write|"
                    r"open\s*\(\s*\w*\s*,\s*['\"]\s*[>+]|Set-Content|Out-File|copyfile|"
                    r"shutil\.(copy|move)|os\.rename|os\.replace|chmod|chown")
_NETWORK = re.compile(r"socket|urllib|requests\.|http\.client|urlopen|fetch\s*\(|net\.connect|"
                      r"IO::Socket|LWP|Net::HTTP|https?\.request|Invoke-WebRequest|curl|wget")
_OBFUSCATED = re.compile(r"b64decode|base64|decode\(['\"](hex|base64|rot)|codecs\.decode|"
                         r"zlib\.decompress|marshal\.loads|pickle\.loads|fromCharCode|"
                         r"Buffer\.from\([^)]*base64|unpack\s*\(|chr\s*\(\s*\d+\s*\)\s*\.")
_EVAL = re.compile(r"\b(exec|eval|compile)\s*\(|\beval\b")
_SIDE_EFFECT = re.compile(r"\b(os|subprocess|shutil|socket|pathlib|Path|ctypes|importlib|pty|"
                          r"signal|sys\.modules|__import__|getattr|setattr|fs|File|IO|Dir|"
                          r"require|kill|fork|open|write|unlink|remove|system|exec|eval|spawn)\b")
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def judge_inline_code(call: Call, lang: str, code: str) -> None:
    """Inline interpreter code: look for shell-outs, deletions, writes, network, obfuscation."""
    literals = [a or b for a, b in _STRING.findall(code)]
    paths = [s for s in literals if s.startswith(("/", "~", "./", "../")) or re.match(
        r"^[\w.-]+/[\w./*-]+$", s)]
    for path in paths:
        ref = call.ref(path)
        if call.judge.is_credential(ref) and not call.judge.inside(ref):
            call.add(Risk.HIGH, f"inline {lang} code touches credential file {call.show(ref)}")
    if re.search(r"\bfork\b", code) and re.search(r"\b(while|for|loop|until)\b", code):
        call.add(Risk.HIGH, f"inline {lang} code forks in a loop (fork bomb)")
    if re.search(r"kill\s*\(\s*-1\b|kill\s*\(\s*1\s*,|setuid\s*\(\s*0", code):
        call.add(Risk.HIGH, f"inline {lang} code signals every process or becomes root")
    if _SHELL_EXEC.search(code):
        call.add(Risk.MEDIUM, f"inline {lang} code runs shell commands")
        for literal in literals:
            if re.match(r"^\s*[\w./-]+\s", literal):
                call.run_script(literal)
        for items in re.findall(r"\[\s*((?:[rb]?(?:'[^']*'|\"[^\"]*\")\s*,?\s*)+)\]", code):
            argv = [a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", items)]
            if argv:
                call.run_argv(argv)
    if _DELETE.search(code):
        _code_paths(call, lang, paths, "deletes", delete=True)
    if _WRITE.search(code):
        _code_paths(call, lang, paths, "writes", delete=False)
    if _NETWORK.search(code):
        hosts = [host_of(s) for s in literals if "://" in s or re.match(r"^[\d.]+$", s)]
        remote = [h for h in hosts if h and not is_loopback(h)]
        if remote and (_SHELL_EXEC.search(code) or re.search(r"dup2|/bin/(ba)?sh", code)):
            call.add(Risk.HIGH, f"inline {lang} code connects a shell to {remote[0]}")
        elif remote and _EVAL.search(code):
            call.add(Risk.HIGH, f"inline {lang} code runs code fetched from {remote[0]}")
        elif remote:
            call.add(Risk.MEDIUM, f"inline {lang} code contacts {remote[0]}")
        else:
            call.add(Risk.MEDIUM, f"inline {lang} code uses the network")
    if _OBFUSCATED.search(code) and (_EVAL.search(code) or _SHELL_EXEC.search(code)):
        call.add(Risk.HIGH, f"inline {lang} code runs a decoded/obfuscated payload")
    if _SIDE_EFFECT.search(code):
        call.add(Risk.MEDIUM, f"runs inline {lang} code")
    else:
        call.low(f"inline {lang} code without side-effecting primitives")


def _code_paths(call: Call, lang: str, paths: list[str], verb: str, *, delete: bool) -> None:
    if not paths:
        call.add(Risk.MEDIUM, f"inline {lang} code {verb} files at paths computed at run time")
        return
    for path in paths:
        if delete:
            call.delete(path, recursive=True, verb=f"inline {lang} code {verb}")
        else:
            call.write(path, verb=f"inline {lang} code {verb}")


def run_stdin_code(call: Call, language: str = "shell") -> None:
    """The command executes what arrives on stdin (`... | sh`, `... | python`)."""
    flow = call.stdin
    if flow is None:
        call.add(Risk.MEDIUM, "starts an interactive interpreter")
        return
    if "network" in flow.tags:
        call.add(Risk.HIGH, "executes code fetched from the network (piped into it)")
    if "decoded" in flow.tags:
        call.add(Risk.HIGH, "executes a decoded/obfuscated payload")
    if flow.text is not None:
        text = flow.text.decode("utf-8", "replace")
        if language == "shell":
            call.add(Risk.MEDIUM, "executes text piped into a shell")
            call.run_script(text)
        else:
            judge_inline_code(call, language, text)
    else:
        call.add(Risk.MEDIUM, "executes commands read from stdin")


@rule(".", "source")
def rule_source(call: Call) -> None:
    if not call.args:
        return
    target = call.args[0]
    if target in ("/dev/stdin", "-"):
        run_stdin_code(call)
        return
    call.execute_file(target)


__all__ = ["SHELLS", "judge_inline_code", "judge_interpreter", "rule_source", "run_stdin_code"]
