"""Rules by concept for files, processes, the shell itself, privilege and the host.

Every rule receives a `Call` and adds findings; path effects (`read`, `write`, `delete`,
`modify`) carry the workspace judgement, so a rule only says what the command does to which
operand. Network, data stores, clouds and interpreters live in `risk_rules_net`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sre_agent.risk import Risk
from sre_agent.risk_engine import Call, Flow, parse_opts
from sre_agent.risk_paths import FOUND, UNKNOWN
from sre_agent.risk_rules_net import NET_RULES, SHELLS, is_interpreter, judge_interpreter

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
            from sre_agent.risk_literal import literal_output
            from sre_agent.risk_shell import Pipeline, Script

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
    call.write(dest, verb="links" if call.name in ("ln", "link") else "writes")


def rule_create(call: Call) -> None:
    """touch, mkdir, mkfifo: create paths (MEDIUM inside, HIGH outside, scratch MEDIUM)."""
    opts, operands = parse_opts(call.args, {"-m", "--mode", "-d", "-t", "-r", "--date",
                                            "--reference", "--context", "-Z"})
    for operand in operands:
        call.write(operand, truncate=False, verb="creates")


_SETUID = re.compile(r"^(?:[ugoa]*[+=][rwxXt]*s|[2467][0-7]{3})$")


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


# -- processes -------------------------------------------------------------------------------


def _tag_process_selection(call: Call, operands: list[str]) -> None:
    ws = call.judge.workspace
    scoped = any(ws in operand for operand in operands)
    call.out.tags.add("procsel_scoped" if scoped else "procsel")


def _signal_zero(opts: dict[str, list[str]], args: list[str]) -> bool:
    return "-0" in args or "0" in opts.get("-s", []) + opts.get("--signal", []) + \
        opts.get("-n", []) or "-SIG0" in args


def rule_kill(call: Call) -> None:
    args = call.args
    if any(a in ("-l", "-L", "--list", "--table") for a in args):
        call.low("lists signals")
        return
    signal: str | None = None
    pids: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            pids.extend(args[i + 1:])
            break
        if signal is None and a in ("-s", "-n", "--signal") and i + 1 < len(args):
            signal = args[i + 1]
            i += 2
            continue
        if signal is None and a.startswith("-") and len(a) > 1 and not pids:
            signal = a[1:]
        else:
            pids.append(a)
        i += 1
    if signal in ("0", "SIG0"):
        call.low("probes whether a process exists (signal 0)")
        return
    for pid in pids:
        if pid in ("-1",):
            call.add(Risk.HIGH, "signals every process on the host (pid -1)")
        elif pid == "1":
            call.add(Risk.HIGH, "signals init (pid 1)")
        elif UNKNOWN in pid and "procsel" in call.subtags:
            call.add(Risk.HIGH, "kills processes picked by a host-wide match (pgrep/ps/lsof)")
        elif UNKNOWN in pid:
            call.add(Risk.MEDIUM, "signals a process chosen at run time")
        elif pid.startswith("-"):
            call.add(Risk.MEDIUM, f"signals process group {pid[1:]}")
        else:
            call.add(Risk.MEDIUM, f"signals process {pid}")
    if not pids:
        call.low("no process given")


def rule_pkill(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-s", "--signal", "-u", "-U", "-g", "-G", "-P",
                                            "-t", "-F", "--pidfile", "--session", "--euid"})
    if call.name in ("killall5",):
        call.add(Risk.HIGH, "signals every process on the host")
        return
    if call.name == "killall" and opts.keys() & {"-l", "--list", "-V", "--version"}:
        call.low("lists signals")
        return
    pidfile = (opts.get("-F") or opts.get("--pidfile") or [None])[0]
    if pidfile is not None:
        ref = call.ref(pidfile)
        if call.judge.inside(ref):
            call.add(Risk.MEDIUM, f"signals the process in {call.show(ref)}")
            return
    ws = call.judge.workspace
    if operands and all(ws in op for op in operands) and call.name == "pkill" and "-f" in opts:
        call.add(Risk.MEDIUM, "signals processes matched by the workspace path")
        return
    pattern = " ".join(operands) or "(all)"
    call.add(Risk.HIGH, f"kills every process matching {pattern!r} on the host, "
             "not only the sandbox's")


def _kill_by_resource(call: Call, operands: list[str]) -> None:
    for operand in operands:
        ref = call.ref(operand)
        if "/" in operand and call.judge.inside(ref):
            call.add(Risk.MEDIUM, f"kills processes using {call.show(ref)}")
        else:
            call.add(Risk.HIGH, f"kills every process using {operand} on the host")


_SVC_READ = {"status", "logs", "log", "help", "--help", "-h", "version"}


def rule_svc(call: Call) -> None:
    verb = call.args[0] if call.args else "status"
    if verb in _SVC_READ:
        call.low(f"{verb} of the sandbox supervisor")
    elif verb in ("start", "stop", "restart", "reload"):
        call.add(Risk.MEDIUM, f"{verb} of a sandbox program ({' '.join(call.args[1:]) or 'app'})")
    else:
        call.add(Risk.MEDIUM, f"unrecognised supervisor command {verb!r}")


def rule_shutdown(call: Call) -> None:
    if call.name in ("init", "telinit") and call.args and call.args[0] not in ("0", "6", "1",
                                                                            "s", "S", "q", "Q"):
        call.add(Risk.MEDIUM, "changes the init runlevel")
        return
    call.add(Risk.HIGH, "shuts down, halts or reboots the host")


_SYSTEMCTL_READ = {"status", "is-active", "is-enabled", "is-failed", "list-units",
                   "list-unit-files", "list-timers", "list-sockets", "list-dependencies", "show",
                   "cat", "help", "--version", "get-default", "list-jobs", "show-environment"}
_SYSTEMCTL_POWER = {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "rescue",
                    "emergency", "isolate", "default", "hybrid-sleep", "soft-reboot"}


def rule_systemctl(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-H", "--host", "-M", "--machine", "-t", "--type",
                                         "-p", "--property", "-n", "--lines", "-o", "--state",
                                         "-s", "--signal"})
    verb = operands[0] if operands else "list-units"
    units = " ".join(operands[1:])
    if call.name == "service":
        verb, units = (operands[1] if len(operands) > 1 else "status"), operands[0] if \
            operands else ""
    if call.name in ("rc-service",):
        verb = operands[1] if len(operands) > 1 else "status"
    if verb in _SYSTEMCTL_READ or verb == "--status-all":
        call.low(f"{verb} of host services")
    elif verb in _SYSTEMCTL_POWER:
        call.add(Risk.HIGH, f"{verb}: takes the host down or out of its normal state")
    else:
        call.add(Risk.HIGH, f"{verb} {units}: manages host services outside the sandbox")


# -- the shell itself ------------------------------------------------------------------------


def rule_cd(call: Call) -> None:
    _, operands = parse_opts(call.args)
    if call.name == "popd":
        call.ctx.judge = call.judge.with_cwd(None)
        return
    target = operands[0] if operands else call.judge.home
    if target == "-":
        call.ctx.judge = call.judge.with_cwd(None)
        return
    ref = call.ref(target)
    call.ctx.judge = call.judge.with_cwd(None if ref.glob or ref.unknown else ref.norm)
    call.low("changes directory")


def rule_declare(call: Call) -> None:
    from sre_agent.risk_engine import _assign

    opts, operands = parse_opts(call.args)
    assigns = [o for o in operands if re.match(r"[A-Za-z_][A-Za-z0-9_]*\+?=", o)]
    if not assigns and (not operands or opts.keys() & {"-p", "-x"}) and call.name != "local":
        call.out.tags.add("secret")
        call.low("prints shell variables")
        return
    for raw in assigns:
        name, _, value = raw.partition("=")
        call.ctx.env[name.rstrip("+")] = None if UNKNOWN in value else value
        if name in ("HISTFILE", "HISTSIZE", "HISTFILESIZE"):
            _assign(f"{name}={value}", call.ctx, persist=False)
    call.low("sets shell variables")


def rule_set(call: Call) -> None:
    args = call.args
    if not args:
        call.out.tags.add("secret")
        call.low("prints shell variables")
    elif "+o" in args and "history" in args:
        call.add(Risk.HIGH, "turns shell history off (covering tracks)")
    else:
        call.low("sets shell options")


def rule_unset(call: Call) -> None:
    if any(a in ("HISTFILE", "HISTSIZE", "HISTFILESIZE") for a in call.args):
        call.add(Risk.HIGH, "unsets shell history (covering tracks)")
    for name in call.args:
        call.ctx.env.pop(name, None)
    call.low("unsets variables")


def rule_history(call: Call) -> None:
    opts, _ = parse_opts(call.args, {"-d"})
    if opts.keys() & {"-c", "-d", "-w", "-r", "-a", "-n"}:
        call.add(Risk.HIGH, "clears or rewrites shell history (covering tracks)")
    else:
        call.out.tags.add("secret")
        call.low("prints shell history")


def rule_read_builtin(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "-d", "-n", "-N", "-t", "-u", "-a"})
    for name in operands + opts.get("-a", []):
        call.ctx.env[name] = None
    call.low("reads input")


def rule_eval(call: Call) -> None:
    text = " ".join(call.args)
    if call.subtags & {"network"}:
        call.add(Risk.HIGH, "evaluates code fetched from the network")
    if call.subtags & {"decoded"}:
        call.add(Risk.HIGH, "evaluates a decoded/obfuscated payload")
    if UNKNOWN in text:
        call.add(Risk.MEDIUM, "evaluates text known only at run time")
    call.run_script(text.replace(UNKNOWN, "__runtime_value__"))


def rule_source(call: Call) -> None:
    if not call.args:
        return
    target = call.args[0]
    if target in ("/dev/stdin", "-"):
        call.run_stdin_code()
        return
    call.execute_file(target)


def rule_alias(call: Call) -> None:
    for arg in call.args:
        name, eq, value = arg.partition("=")
        if eq and value:
            call.run_script(value)
    call.low("defines aliases")


def rule_trap(call: Call) -> None:
    if call.args and not call.args[0].startswith("-"):
        call.run_script(call.args[0])
    call.low("sets a signal trap")


def rule_exec(call: Call) -> None:
    opts, inner = parse_opts(call.args, {"-a"}, stop_at_operand=True)
    if inner:
        call.run_argv(inner, stdin=call.stdin)
    else:
        call.low("adjusts file descriptors")


# -- dispatch --------------------------------------------------------------------------------


def dispatch(call: Call) -> None:
    from sre_agent.risk_rules_host import HOST_RULES, rule_wrapper

    name = call.name
    rule = RULES.get(name) or HOST_RULES.get(name) or NET_RULES.get(name)
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
    "touch": rule_create, "mkdir": rule_create, "mkfifo": rule_create,
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
