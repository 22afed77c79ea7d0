"""Rules by concept for files, processes, the shell itself, privilege and the host.

Every rule receives a `Call` and adds findings; path effects (`read`, `write`, `delete`,
`modify`) carry the workspace judgement, so a rule only says what the command does to which
operand. Network, data stores, clouds and interpreters live in `risk_rules_net`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sre_agent.safety.engine import Call, Flow, parse_opts
from sre_agent.safety.paths import FOUND, UNKNOWN
from sre_agent.safety.rules.infra import INFRA_RULES
from sre_agent.safety.rules.net import NET_RULES, SHELLS, is_interpreter, judge_interpreter
from sre_agent.safety.rules.proc import (
    _kill_by_resource,
    _tag_process_selection,
    rule_alias,
    rule_cd,
    rule_declare,
    rule_eval,
    rule_exec,
    rule_history,
    rule_kill,
    rule_pkill,
    rule_read_builtin,
    rule_set,
    rule_shutdown,
    rule_source,
    rule_svc,
    rule_systemctl,
    rule_trap,
    rule_unset,
)
from sre_agent.safety.verdict import Risk

Rule = Callable[[Call], None]


# -- read-only commands ----------------------------------------------------------------------

_NO_FILES = {"echo", "printf", "true", "false", ":", "test", "[", "[[", "sleep", "seq", "date",
             "basename", "dirname", "which", "type", "whereis", "pwd", "id", "whoami", "uname",
             "tput", "clear", "getent", "nproc", "arch", "locale", "cal", "wait", "jobs",
             "hostname", "uptime", "free", "yes", "expr", "bc", "logger", "groups", "w", "who",
             "ulimit", "umask", "shopt", "hash", "help", "let", "fg", "bg", "disown", "printenv",
             "tty", "stty", "ps", "top", "htop", "vmstat", "iostat", "mpstat", "lscpu", "lsblk",
             "lsmod", "lspci", "lsusb", "last", "lastlog", "ss", "netstat", "ping", "ping6",
             "dig", "nslookup", "host", "traceroute", "tracepath", "mtr", "whois", "arp",
             "pidstat", "sar", "dstat", "atop", "getconf", "lsb_release", "timedatectl",
             "runlevel", "chronyc", "ntpq", "numfmt", "shuf", "factor", "users"}
_READERS = {"cat", "tac", "nl", "head", "tail", "less", "more", "grep", "egrep", "fgrep",
            "zgrep", "rg", "ag", "ack", "ls", "ll", "dir", "vdir", "tree", "stat", "file", "wc",
            "du", "df", "cut", "uniq", "tr", "column", "paste", "join", "comm", "diff", "cmp",
            "sdiff", "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum",
            "b2sum", "cksum", "sum", "strings", "od", "hexdump", "xxd", "jq", "yq", "xmllint",
            "fold", "fmt", "expand", "unexpand", "look", "zcat", "zless", "bzcat", "xzcat",
            "lsof", "realpath", "readlink", "namei", "lsattr", "getfacl", "getcap", "iconv",
            "csvlook", "view", "zdiff", "colordiff", "ldd", "nm", "objdump", "readelf", "sort",
            "base32", "base64", "basenc", "rev", "pr", "tsort", "ptx", "split", "csplit",
            "journalctl", "dmesg", "watch", "gpg", "tee", "sponge", "md5", "shasum", "ncdu",
            "findmnt", "mount", "blkid", "lsns", "pstree", "fuser", "pgrep", "pidof"}
_VALUE_OPTS = {"-n", "-c", "-e", "-f", "-m", "-A", "-B", "-C", "-d", "-t", "-k", "-o", "-s",
               "-w", "--lines", "--bytes", "--max-count", "--regexp", "--file", "--max-depth",
               "--output", "--exclude", "--include", "--block-size", "--time-style", "-I", "-L"}
_GREPS = {"grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"}
_DECODERS = {"base64", "base32", "basenc", "xxd", "uudecode", "rev"}


def rule_read(call: Call) -> None:
    name = call.name
    opts, operands = parse_opts(call.args, _VALUE_OPTS)
    if name in ("sort",) and "-o" in opts or "--output" in opts and name == "sort":
        for target in opts.get("-o", []) + opts.get("--output", []):
            call.write(target)
    if name in ("tee", "sponge"):
        for target in operands:
            call.write(target, truncate="-a" not in opts)
        if not operands:
            call.low("copies stdin to stdout")
        return
    if name in ("split", "csplit"):
        call.add(Risk.MEDIUM, "writes split pieces into the current directory")
    if name == "journalctl" and any(o.startswith(("--vacuum", "--rotate", "--flush"))
                                    for o in opts):
        call.add(Risk.HIGH, "deletes or rotates the system journal (log destruction)")
        return
    if name == "dmesg" and opts.keys() & {"-c", "-C", "--clear", "--read-clear"}:
        call.add(Risk.HIGH, "clears the kernel log")
        return
    if name == "fuser" and ("-k" in call.args or "--kill" in call.args):
        _kill_by_resource(call, [a for a in call.args if not a.startswith("-")])
        return
    if name == "mount" and operands:
        call.add(Risk.HIGH, "mounts a filesystem on the host")
        return
    if name == "gpg" and opts.keys() & {"--delete-key", "--delete-secret-key", "--import"}:
        call.add(Risk.MEDIUM, "changes the gpg keyring")
    if name in ("pgrep", "pidof", "lsof", "fuser"):
        _tag_process_selection(call, operands)
    if name in _DECODERS and opts.keys() & {"-d", "--decode", "-D", "-r"}:
        call.out.tags.add("decoded")
    if name == "rev":
        call.out.tags.add("decoded")
    if name == "watch":
        _, inner = parse_opts(call.args, {"-n", "--interval", "-d"}, stop_at_operand=True)
        if inner:
            call.run_script(" ".join(inner))
        return
    for operand in operands:
        pattern_first = not opts.keys() & {"-e", "-f", "--regexp", "--file"}
        if name in _GREPS and operand is operands[0] and pattern_first:
            continue  # the pattern
        if name in ("jq", "yq") and operand is operands[0]:
            continue  # the filter
        if name == "tr":
            continue
        call.read(operand)
    for value in opts.get("-f", []) + opts.get("--file", []):
        call.read(value)
    call.low("read-only")


def rule_no_files(call: Call) -> None:
    name, args = call.name, call.args
    if name == "date" and any(a in ("-s", "--set") or a.startswith("--set=") for a in args):
        call.add(Risk.HIGH, "sets the system clock")
    elif name == "hostname" and [a for a in args if not a.startswith("-")]:
        call.add(Risk.HIGH, "renames the host")
    elif name == "timedatectl" and args and args[0].startswith("set"):
        call.add(Risk.HIGH, "changes the system clock settings")
    elif name == "printenv":
        call.out.tags.add("secret")
        call.low("prints environment variables")
    elif name in ("echo", "printf"):
        if any(_is_secret_var_ref(raw) for raw in _raw_words(call)):
            call.out.tags.add("secret")
        if call.command is not None:
            from sre_agent.safety.shell.literal import literal_output
            from sre_agent.safety.shell.parse import Pipeline, Script

            data = literal_output(Script([Pipeline([call.command])]), call.ctx)
            call.out.text = data
        call.low("prints text")
    elif name in ("ps", "ss"):
        if name == "ps":
            call.out.tags.add("procsel")
        call.low("lists processes or sockets")
    else:
        call.low("read-only")
    if name in ("echo", "printf") and call.out.text is not None:
        call.out.tags.add("literal")


def _raw_words(call: Call) -> list[str]:
    return call.command.words if call.command else []


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)


def _is_secret_var_ref(raw: str) -> bool:
    return any(_SECRET_NAME.search(m) for m in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", raw))


# -- deleting, writing, attributes -----------------------------------------------------------


def rule_rm(call: Call) -> None:
    opts, operands = parse_opts(call.args)
    recursive = bool(opts.keys() & {"-r", "-R", "--recursive"}) or call.name == "rmdir" \
        and "-p" in opts
    if "--no-preserve-root" in opts:
        call.add(Risk.HIGH, "disables the root-directory safeguard (--no-preserve-root)")
    if not operands:
        call.low("nothing to delete")
    for operand in operands:
        call.delete(operand, recursive=recursive)


def rule_shred(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-n", "-s", "--iterations", "--size"})
    for operand in operands:
        call.delete(operand, recursive=False, verb="shreds")


def rule_truncate(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-s", "-r", "--size", "--reference"})
    for operand in operands:
        call.write(operand, verb="truncates")


def _dest_and_sources(opts: dict[str, list[str]], operands: list[str]) -> tuple[str | None,
                                                                                list[str]]:
    target = (opts.get("-t") or opts.get("--target-directory") or [None])[0]
    if target is not None:
        return target, operands
    if len(operands) < 2:
        return None, operands
    return operands[-1], operands[:-1]


_CP_VALUES = {"-t", "--target-directory", "-S", "--suffix", "--backup", "-m", "--mode", "-o",
              "-g", "--owner", "--group"}


def rule_copy(call: Call) -> None:
    """cp, mv, install, ln: sources are read (mv: removed), the destination written."""
    opts, operands = parse_opts(call.args, _CP_VALUES)
    dest, sources = _dest_and_sources(opts, operands)
    if call.name == "install" and "-d" in opts:
        for operand in operands:
            call.modify(operand, "creates directory")
        return
    for source in sources:
        if call.name == "mv":
            ref = call.ref(source)
            if ref.unknown or not call.judge.inside(ref):
                call.delete(source, recursive=True, verb="moves away")
            elif call.judge.is_workspace_root(ref):
                call.delete(source, recursive=True, verb="moves away")
            else:
                call.read(source)
        elif call.name not in ("ln", "link"):
            call.read(source)
    if dest is None:
        call.add(Risk.MEDIUM, "destination not given")
        return
    if call.name in ("ln", "link"):
        _link_targets(call, opts, dest, sources)
    call.write(dest, verb="links" if call.name in ("ln", "link") else "writes")


def _link_targets(call: Call, opts: dict[str, list[str]], dest: str, sources: list[str]) -> None:
    """A link that leads out of the workspace (`ln -s .. up`, `ln -s /proc/self/root r`, a
    hard link to a host file) is a path host code could be led along: HIGH."""
    symbolic = "-s" in opts or "--symbolic" in opts
    for source in sources:
        target = source
        if symbolic and not source.startswith(("/", "~")):
            base = dest if len(sources) > 1 or dest.endswith("/") else dest.rsplit("/", 1)[0] \
                if "/" in dest else "."
            target = f"{base}/{source}"
        ref = call.ref(target)
        norm = ref.norm or ""
        proc_link = norm.startswith("/proc/") and any(
            part in ("root", "cwd", "fd", "exe") for part in norm.split("/")[3:4])
        if ref.unknown or proc_link or not call.judge.inside(ref):
            kind = "symbolic link" if symbolic else "hard link"
            call.add(Risk.HIGH, f"{kind} to {call.show(ref)} outside the workspace")


def rule_create(call: Call) -> None:
    """touch, mkdir, mkfifo: create paths (MEDIUM inside, HIGH outside, scratch MEDIUM)."""
    opts, operands = parse_opts(call.args, {"-m", "--mode", "-d", "-t", "-r", "--date",
                                            "--reference", "--context", "-Z"})
    for operand in operands:
        call.write(operand, truncate=False, verb="creates")


_SETUID = re.compile(r"^(?:[ugoa]*[+=][rwxXt]*s|[2467][0-7]{3})$")


def rule_mktemp(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "--tmpdir", "--suffix"})
    where = (opts.get("-p") or opts.get("--tmpdir") or ["/tmp"])[0]
    call.write(where + "/" + (operands[0] if operands else "tmp.XXXX"), truncate=False,
               verb="creates a temporary file")


def rule_chmod(call: Call) -> None:
    args = [a for a in call.args if a not in ("-R", "-r", "--recursive", "-v", "-f", "-c",
                                             "--verbose", "--silent", "--changes", "-h")]
    opts, operands = parse_opts(args, {"--reference"})
    mode = None if "--reference" in opts or not operands else operands.pop(0)
    if mode is not None and any(_SETUID.match(part) for part in mode.split(",")):
        call.add(Risk.HIGH, f"sets the setuid/setgid bit ({mode})")
    for operand in operands:
        call.modify(operand, f"changes the mode ({mode}) of")


def rule_chown(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"--reference", "--from"})
    owner = None if "--reference" in opts or not operands else operands.pop(0)
    for operand in operands:
        call.modify(operand, f"changes the owner ({owner}) of")


def rule_attr(call: Call) -> None:
    """chattr, setfacl: attributes and ACLs."""
    opts, operands = parse_opts(call.args, {"-m", "-M", "-x", "-X", "--set", "--modify"})
    paths = operands[1:] if call.name == "chattr" and operands else operands
    for operand in paths:
        call.modify(operand, "changes attributes of")


def rule_dd(call: Call) -> None:
    params = dict(a.split("=", 1) for a in call.args if "=" in a)
    if "if" in params:
        call.read(params["if"])
    if "of" in params:
        call.write(params["of"], truncate="notrunc" not in params.get("conv", ""))
    else:
        call.low("copies to stdout")


_SED_VALUES = {"-e", "--expression", "-f", "--file", "-l", "--line-length", "-s"}


def rule_sed(call: Call) -> None:
    in_place = any(a == "--in-place" or a.startswith(("--in-place=", "-i")) or
                   re.fullmatch(r"-[nrEsuz]*i\S*", a) for a in call.args)
    args = [a for a in call.args if not (a.startswith("-i") or a.startswith("--in-place")
                                         or re.fullmatch(r"-[nrEsuz]+i\S*", a))]
    opts, operands = parse_opts(args, _SED_VALUES)
    scripts = opts.get("-e", []) + opts.get("--expression", [])
    if not scripts and not opts.keys() & {"-f", "--file"} and operands:
        scripts = [operands.pop(0)]
    for script in scripts:
        for target in re.findall(r"(?:^|[;\n}])\s*(?:\d+|/[^/]*/)?\s*w\s+(\S+)", script):
            call.write(target, truncate=False)
        if re.search(r"(?:^|[;\n])\s*e\b|s(.).*?\1.*?\1[gpIi0-9]*e", script):
            call.add(Risk.MEDIUM, "sed script executes shell commands (e)")
    for operand in operands:
        if in_place:
            call.write(operand, truncate=False, verb="edits in place")
        else:
            call.read(operand)
    if not in_place:
        call.low("stream edit to stdout")


def rule_awk(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-F", "-v", "-f", "--field-separator", "--assign",
                                            "-i", "--include", "-E"})
    program = "" if opts.keys() & {"-f", "-E"} else (operands.pop(0) if operands else "")
    if "inplace" in opts.get("-i", []) + opts.get("--include", []):
        for operand in operands:
            call.write(operand, truncate=False, verb="edits in place")
    for cmd in re.findall(r"system\s*\(\s*\"([^\"]*)\"", program):
        call.run_script(cmd)
    if re.search(r"system\s*\(|\|\s*\"|\|&|getline", program) and "system(" in program.replace(
            " ", "") or re.search(r"\|\s*\"[^\"]+\"", program):
        call.add(Risk.MEDIUM, "awk program runs shell commands")
    for target in re.findall(r">>?\s*\"([^\"]+)\"", program):
        call.write(target, truncate=False)
    for operand in operands:
        if "=" not in operand:
            call.read(operand)
    call.low("text processing")


def rule_archive(call: Call) -> None:
    name = call.name
    if name == "tar":
        args = list(call.args)
        if args and not args[0].startswith("-") and re.fullmatch(r"[A-Za-z]+", args[0]):
            args[0] = "-" + args[0]
        opts, operands = parse_opts(args, {"-f", "--file", "-C", "--directory", "-T",
                                           "--files-from", "-X", "--exclude-from", "-b"})
        archive = (opts.get("-f") or opts.get("--file") or [None])[0]
        if opts.keys() & {"-x", "--extract", "--get"}:
            if archive:
                call.read(archive)
            where = (opts.get("-C") or opts.get("--directory") or ["."])[0]
            call.write(where + "/" + FOUND, truncate=False, verb="extracts into")
            if "-P" in opts or "--absolute-names" in opts:
                call.add(Risk.HIGH, "extracts absolute paths anywhere on the host")
        elif opts.keys() & {"-c", "--create", "-r", "--append", "-u"}:
            for operand in operands:
                call.read(operand)
            if archive and archive != "-":
                call.write(archive)
            if "--remove-files" in opts:
                for operand in operands:
                    call.delete(operand, recursive=True)
        else:
            if archive:
                call.read(archive)
            call.low("lists an archive")
        return
    if name in ("unzip",):
        opts, operands = parse_opts(call.args, {"-d", "-x"})
        for operand in operands[:1]:
            call.read(operand)
        if "-l" in opts or "-t" in opts or "-p" in opts:
            call.low("lists an archive")
            return
        call.write((opts.get("-d") or ["."])[0] + "/" + FOUND, truncate=False,
                   verb="extracts into")
        return
    if name == "zip":
        opts, operands = parse_opts(call.args, {"-x", "-i"})
        if operands:
            call.write(operands[0])
            for operand in operands[1:]:
                call.read(operand)
        if "-m" in opts:
            for operand in operands[1:]:
                call.delete(operand, recursive="-r" in opts)
        return
    # gzip, gunzip, bzip2, xz, zstd, compress: replace files in place unless -c / -l / -t
    opts, operands = parse_opts(call.args, {"-S", "--suffix", "-o"})
    if opts.keys() & {"-c", "--stdout", "-l", "--list", "-t", "--test", "-k", "--keep"}:
        for operand in operands:
            call.read(operand)
        call.low("(de)compresses to stdout or keeps the original")
        return
    for operand in operands:
        call.write(operand, truncate=False, verb="replaces in place")
    if not operands:
        call.low("(de)compresses a stream")


_EDITORS = {"vi", "vim", "nvim", "nano", "emacs", "ed", "ex", "pico", "joe", "micro", "vipe"}


def rule_editor(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-c", "-u", "-S"})
    for operand in operands:
        if not operand.startswith("+"):
            call.write(operand, truncate=False, verb="edits")
    if not operands:
        call.add(Risk.MEDIUM, "starts an interactive editor")


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
    filtered = any(e in expr for e in ("-name", "-iname", "-path", "-ipath", "-regex", "-type",
                                       "-mtime", "-mmin", "-size", "-newer", "-user", "-perm",
                                       "-empty", "-atime", "-ctime", "-wholename"))
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


# -- dispatch --------------------------------------------------------------------------------


def dispatch(call: Call) -> None:
    from sre_agent.safety.rules.host import HOST_RULES, rule_wrapper

    name = call.name
    rule = (RULES.get(name) or HOST_RULES.get(name) or NET_RULES.get(name)
            or INFRA_RULES.get(name))
    if rule is not None:
        rule(call)
    elif name in _READERS:
        rule_read(call)
    elif name in _NO_FILES:
        rule_no_files(call)
    elif name in SHELLS or is_interpreter(name):
        judge_interpreter(call)
    elif rule_wrapper(call):
        pass
    elif re.fullmatch(r"mkfs(\.\w+)?|mke2fs|mkswap|mkdosfs|mkntfs", name):
        call.add(Risk.HIGH, "formats a filesystem")
    else:
        _unknown(call)


def _unknown(call: Call) -> None:
    argv0 = call.argv[0]
    if "/" in argv0:
        call.execute_file(argv0)
    else:
        call.add(Risk.MEDIUM, "unrecognised command: its effect is not known")
    for arg in call.args:
        if "/" in arg or arg.startswith((".", "~")):
            ref = call.ref(arg)
            if call.judge.is_credential(ref) and not call.judge.inside(ref):
                call.add(Risk.HIGH, f"touches credential file {call.show(ref)}")


RULES: dict[str, Rule] = {
    "rm": rule_rm, "rmdir": rule_rm, "unlink": rule_rm, "shred": rule_shred,
    "truncate": rule_truncate, "fallocate": rule_truncate,
    "cp": rule_copy, "mv": rule_copy, "install": rule_copy, "ln": rule_copy, "link": rule_copy,
    "touch": rule_create, "mktemp": rule_mktemp, "mkdir": rule_create, "mkfifo": rule_create,
    "chmod": rule_chmod, "chown": rule_chown, "chgrp": rule_chown, "chattr": rule_attr,
    "setfacl": rule_attr, "dd": rule_dd, "sed": rule_sed, "gsed": rule_sed,
    "awk": rule_awk, "gawk": rule_awk, "mawk": rule_awk, "nawk": rule_awk,
    "tar": rule_archive, "unzip": rule_archive, "zip": rule_archive, "gzip": rule_archive,
    "gunzip": rule_archive, "bzip2": rule_archive, "bunzip2": rule_archive, "xz": rule_archive,
    "unxz": rule_archive, "zstd": rule_archive, "compress": rule_archive,
    "find": rule_find, "xargs": rule_xargs,
    "kill": rule_kill, "pkill": rule_pkill, "killall": rule_pkill, "killall5": rule_pkill,
    "svc": rule_svc, "shutdown": rule_shutdown, "reboot": rule_shutdown, "halt": rule_shutdown,
    "poweroff": rule_shutdown, "init": rule_shutdown, "telinit": rule_shutdown,
    "systemctl": rule_systemctl, "service": rule_systemctl, "rc-service": rule_systemctl,
    "cd": rule_cd, "pushd": rule_cd, "popd": rule_cd,
    "export": rule_declare, "declare": rule_declare, "typeset": rule_declare,
    "local": rule_declare, "readonly": rule_declare, "set": rule_set, "unset": rule_unset,
    "history": rule_history, "read": rule_read_builtin, "eval": rule_eval,
    "source": rule_source, ".": rule_source, "alias": rule_alias, "trap": rule_trap,
    "exec": rule_exec,
    **{e: rule_editor for e in _EDITORS},
}
