"""Rules for commands that pick files or lines and run other commands on them: `find`
(`-delete`, `-exec`) and `xargs`. What they act on is `<root>/<found>`: some file under the
directories searched, or the items piped in.
"""

from __future__ import annotations

from sre_agent.safety.call import Call, Flow, parse_opts
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import FOUND, UNKNOWN

_FILTERS = ("-name", "-iname", "-path", "-ipath", "-regex", "-type", "-mtime", "-mmin", "-size",
            "-newer", "-user", "-perm", "-empty", "-atime", "-ctime", "-wholename")


@rule("find")
def rule_find(call: Call) -> None:
    args = call.args
    i = 0
    while i < len(args) and args[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"):
        i += 1
    roots: list[str] = []
    while i < len(args) and not args[i].startswith(("-", "(", "!", ")")):
        roots.append(args[i])
        i += 1
    roots = roots or ["."]
    expr = args[i:]
    filtered = any(e in expr for e in _FILTERS)
    targets = [r.rstrip("/") + "/" + FOUND if filtered else r for r in roots]
    call.out.roots = [r.rstrip("/") + "/" + FOUND for r in roots]
    acted = False
    j = 0
    while j < len(expr):
        tok = expr[j]
        if tok == "-delete":
            acted = True
            for target in targets:
                call.delete(target, recursive=True)
        elif tok in ("-exec", "-execdir", "-ok", "-okdir"):
            end = j + 1
            while end < len(expr) and expr[end] not in (";", "+", "\\;"):
                end += 1
            inner = expr[j + 1:end]
            acted = True
            for target in targets[:4]:
                call.run_argv([target if a == "{}" else a.replace("{}", target) for a in inner])
            j = end
        elif tok in ("-fprint", "-fprint0", "-fprintf", "-fls") and j + 1 < len(expr):
            call.write(expr[j + 1])
            j += 1
        j += 1
    if not acted:
        call.low("searches files")


_XARGS_VALUES = {"-I", "-n", "-L", "-l", "-P", "-s", "-d", "-E", "-e", "-a", "--max-args",
                 "--max-procs", "--delimiter", "--arg-file", "--replace", "--max-lines", "--eof",
                 "--max-chars"}


@rule("xargs")
def rule_xargs(call: Call) -> None:
    opts, inner = parse_opts(call.args, _XARGS_VALUES, stop_at_operand=True)
    inner = inner or ["echo"]
    stdin = call.stdin or Flow()
    if opts.get("-a") or opts.get("--arg-file"):
        items = [UNKNOWN]
    elif stdin.roots:
        items = stdin.roots
    elif stdin.text is not None:
        items = stdin.text.decode("utf-8", "replace").split() or [""]
    else:
        items = [UNKNOWN]
    replace = (opts.get("-I") or opts.get("--replace") or opts.get("-i") or [None])[0]
    for item in items[:4]:
        if replace:
            argv = [a.replace(replace, item) for a in inner]
        else:
            argv = inner + ([item] if item else [])
        call.run_argv(argv, subtags=call.subtags | stdin.tags)


__all__ = ["rule_find", "rule_xargs"]
