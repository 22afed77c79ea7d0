"""Read-only commands: readers of files (`cat`, `grep`, `ls`, `jq`, ...) and commands that touch
no file (`echo`, `ps`, `date`, `ping`, ...). LOW, except for the few options that write, kill
or change the host (`sort -o`, `tee`, `journalctl --vacuum`, `fuser -k`, `date -s`, ...).
"""

from __future__ import annotations

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.effects import kill_by_resource, tag_process_selection
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.literal import literal_output
from sre_agent.safety.shell.tree import Pipeline, Script

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


@rule(*_READERS)
def rule_read(call: Call) -> None:
    name = call.name
    opts, operands = parse_opts(call.args, _VALUE_OPTS)
    if name == "sort" and ("-o" in opts or "--output" in opts):
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
        kill_by_resource(call, [a for a in call.args if not a.startswith("-")])
        return
    if name == "mount" and operands:
        call.add(Risk.HIGH, "mounts a filesystem on the host")
        return
    if name == "gpg" and opts.keys() & {"--delete-key", "--delete-secret-key", "--import"}:
        call.add(Risk.MEDIUM, "changes the gpg keyring")
    if name in ("pgrep", "pidof", "lsof", "fuser"):
        tag_process_selection(call, operands)
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


@rule(*_NO_FILES)
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
        if call.mentions_secret():
            call.out.tags.add("secret")
        if call.command is not None:
            call.out.text = literal_output(Script([Pipeline([call.command])]), call.ctx.expand)
        call.low("prints text")
    elif name in ("ps", "ss"):
        if name == "ps":
            call.out.tags.add("procsel")
        call.low("lists processes or sockets")
    else:
        call.low("read-only")
    if name in ("echo", "printf") and call.out.text is not None:
        call.out.tags.add("literal")


__all__ = ["rule_no_files", "rule_read"]
