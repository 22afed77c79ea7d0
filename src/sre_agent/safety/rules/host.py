"""Rules for wrappers (sudo, env, timeout, ...), privilege and the host outside the sandbox.

Wrappers are unwrapped and the inner command judged; running it as another user turns any
mutation into HIGH. Host-level changes (firewall, network links, kernel, packages, users, disks,
cron, audit, containers) are outside every sandbox, so they are HIGH unless read-only.
"""

from __future__ import annotations

import re

from sre_agent.safety.engine import Call, parse_opts
from sre_agent.safety.verdict import Risk

# wrapper -> (options taking a value, runs the inner command as another user)
_WRAPPERS: dict[str, tuple[set[str], bool]] = {
    "sudo": ({"-u", "-g", "-p", "-C", "-r", "-t", "-U", "-h", "-D", "--user", "--group",
              "--prompt", "--chdir", "--close-from", "--role", "--type", "--other-user",
              "--host"}, True),
    "doas": ({"-u", "-C"}, True),
    "pkexec": ({"--user"}, True),
    "runuser": ({"-u", "-g", "-G", "--user", "--group", "--supp-group"}, True),
    "nohup": (set(), False), "setsid": (set(), False), "nice": ({"-n", "--adjustment"}, False),
    "ionice": ({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}, False),
    "stdbuf": ({"-i", "-o", "-e", "--input", "--output", "--error"}, False),
    "time": ({"-f", "-o", "--format", "--output"}, False),
    "command": (set(), False), "builtin": (set(), False), "unbuffer": (set(), False),
    "caffeinate": (set(), False), "torsocks": (set(), False), "fakeroot": (set(), False),
    "proxychains": ({"-f"}, False), "proxychains4": ({"-f"}, False), "chronic": (set(), False),
    "strace": ({"-o", "-e", "-p", "-s", "-u", "-E", "-P"}, False),
    "ltrace": ({"-o", "-e", "-p", "-s", "-u"}, False), "catchsegv": (set(), False),
    "firejail": (set(), False), "cgexec": ({"-g"}, False), "ifne": (set(), False),
}
_ROOT_SHELLS = {"su", "bash", "sh", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "ash"}


def rule_wrapper(call: Call) -> bool:
    name = call.name
    special = _SPECIAL.get(name)
    if special is not None:
        special(call)
        return True
    spec = _WRAPPERS.get(name)
    if spec is None:
        return False
    value_opts, privileged = spec
    opts, inner = parse_opts(call.args, value_opts, stop_at_operand=True)
    if name == "command" and opts.keys() & {"-v", "-V"}:
        call.low("looks up a command")
        return True
    if name == "strace" and "-o" in opts:
        call.write(opts["-o"][0])
    if not inner:
        if privileged and opts.keys() & {"-i", "-s", "--login", "--shell"}:
            call.add(Risk.HIGH, "opens a root shell (privilege escalation)")
        elif privileged and not opts.keys() & {"-l", "-v", "-k", "-K", "-V", "--list"}:
            call.add(Risk.MEDIUM, "privileged invocation without a command")
        else:
            call.low("no command")
        return True
    if privileged:
        _run_privileged(call, inner)
    else:
        call.run_argv(inner, stdin=call.stdin)
    return True


def _run_privileged(call: Call, inner: list[str], script: str | None = None) -> None:
    first = inner[0].rsplit("/", 1)[-1] if inner else ""
    if first in _ROOT_SHELLS and script is None and "-c" not in inner[1:2]:
        call.add(Risk.HIGH, f"opens a root shell via {first} (privilege escalation)")
    with call.ctx.capture() as found:
        if script is not None:
            call.run_script(script)
        else:
            call.run_argv(inner, stdin=call.stdin)
    if any(f.risk >= Risk.MEDIUM for f in found):
        call.add(Risk.HIGH, f"runs a mutating command as another user ({' '.join(inner)[:60]})")
    else:
        call.add(Risk.MEDIUM, "runs a command with elevated privileges")


def _env(call: Call) -> None:
    opts, rest = parse_opts(call.args, {"-u", "--unset", "-C", "--chdir", "-S",
                                        "--split-string", "-P"}, stop_at_operand=True)
    from sre_agent.safety.engine import _assign

    while rest and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        _assign(rest.pop(0), call.ctx, persist=False)
    split = opts.get("-S") or opts.get("--split-string")
    if split:
        call.run_script(" ".join(split + rest))
        return
    if not rest:
        call.out.tags.add("secret")
        call.low("prints the environment")
        return
    chdir = opts.get("-C") or opts.get("--chdir")
    if chdir:
        ref = call.ref(chdir[0])
        sub = call.ctx.child(share_state=True)
        sub.judge = call.judge.with_cwd(None if ref.glob or ref.unknown else ref.norm)
        from sre_agent.safety.engine import judge_argv

        judge_argv(sub, rest, call.stdin, call.subtags, call.procsub_tags, None)
        return
    call.run_argv(rest, stdin=call.stdin)


def _su(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-c", "--command", "-s", "--shell", "-g", "-G"})
    script = (opts.get("-c") or opts.get("--command") or [None])[0]
    if script is None:
        call.add(Risk.HIGH, "switches user to get a shell (privilege escalation)")
        return
    _run_privileged(call, ["su", "-c", script], script=script)


def _timeout(call: Call) -> None:
    _, rest = parse_opts(call.args, {"-s", "-k", "--signal", "--kill-after"},
                         stop_at_operand=True)
    if len(rest) > 1:
        call.run_argv(rest[1:], stdin=call.stdin)


def _chrt_taskset(call: Call) -> None:
    opts, rest = parse_opts(call.args, {"-c", "--cpu-list"} if call.name == "taskset" else set(),
                            stop_at_operand=True)
    if "-p" in opts or "--pid" in opts:
        call.add(Risk.MEDIUM, "changes scheduling of a running process")
        return
    skip = 0 if call.name == "taskset" and opts.keys() & {"-c", "--cpu-list"} else 1
    if len(rest) > skip:
        call.run_argv(rest[skip:], stdin=call.stdin)


def _flock(call: Call) -> None:
    opts, rest = parse_opts(call.args, {"-w", "--timeout", "-E", "--conflict-exit-code",
                                        "-c", "--command"}, stop_at_operand=True)
    script = (opts.get("-c") or opts.get("--command") or [None])[0]
    if script is None and len(rest) > 1 and rest[1] == "-c" and len(rest) > 2:
        script = rest[2]
    if script is not None:
        call.run_script(script)
    elif len(rest) > 1:
        call.run_argv(rest[1:], stdin=call.stdin)
    else:
        call.low("takes a lock")


def _busybox(call: Call) -> None:
    if call.args:
        call.run_argv(call.args, stdin=call.stdin)


def _escape(call: Call) -> None:
    call.add(Risk.HIGH, "changes root or enters other namespaces (sandbox escape)")
    _, rest = parse_opts(call.args, {"-t", "--target", "-u", "--userspec", "-S", "-G"},
                         stop_at_operand=True)
    if call.name == "chroot" and len(rest) > 1:
        call.run_argv(rest[1:])


def _unshare(call: Call) -> None:
    call.add(Risk.MEDIUM, "runs in new namespaces")
    _, rest = parse_opts(call.args, set(), stop_at_operand=True)
    if rest:
        call.run_argv(rest, stdin=call.stdin)


_SPECIAL = {"env": _env, "su": _su, "sg": _su, "timeout": _timeout, "chrt": _chrt_taskset,
            "taskset": _chrt_taskset, "flock": _flock, "busybox": _busybox, "chroot": _escape,
            "nsenter": _escape, "unshare": _unshare}


# -- host-level changes ----------------------------------------------------------------------


def _readonly_or_high(read: bool, call: Call, what: str) -> None:
    if read:
        call.low("read-only")
    else:
        call.add(Risk.HIGH, what)


_IPT_READ = {"-L", "--list", "-S", "--list-rules", "-n", "--numeric", "-v", "--verbose", "-x",
             "--exact", "--line-numbers", "-t", "--table", "-w", "--wait"}


def rule_iptables(call: Call) -> None:
    if call.name.endswith("-save"):
        call.low("prints firewall rules")
        return
    opts, _ = parse_opts(call.args, {"-t", "--table", "-w", "--wait"})
    flush = opts.keys() & {"-F", "--flush", "-X", "--delete-chain"}
    what = "flushes the host firewall" if flush else "changes the host firewall"
    read = bool(opts) and opts.keys() <= _IPT_READ and not call.name.endswith("-restore")
    _readonly_or_high(read, call, what)


def rule_nft(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-f", "--file", "-I"})
    _readonly_or_high(bool(operands) and operands[0] in ("list", "monitor", "describe"), call,
                      "changes or flushes the host firewall (nftables)")


def rule_ufw(call: Call) -> None:
    _, operands = parse_opts(call.args)
    _readonly_or_high(not operands or operands[0] in ("status", "show", "version", "app"), call,
                      f"{' '.join(operands[:2])}: changes the host firewall")


def rule_firewall_cmd(call: Call) -> None:
    read = all(a.startswith(("--state", "--list", "--get", "--query", "--info", "--zone"))
               for a in call.args)
    _readonly_or_high(read, call, "changes the host firewall (firewalld)")


_IP_READ_VERBS = {"show", "list", "ls", "lst", "get", "sh", "s", "monitor", "help", "l"}


def rule_ip(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-n", "-netns", "-f", "-family", "-b", "-batch", "-rc"})
    if len(operands) >= 3 and operands[0] == "netns" and operands[1] == "exec":
        call.add(Risk.MEDIUM, "runs a command in another network namespace")
        call.run_argv(operands[3:])
        return
    verb = operands[1] if len(operands) > 1 else "show"
    read = verb in _IP_READ_VERBS or (operands and operands[0] in ("help",))
    _readonly_or_high(bool(read), call, f"ip {' '.join(operands[:3])}: changes host networking")


def rule_ifconfig(call: Call) -> None:
    _, operands = parse_opts(call.args)
    _readonly_or_high(len(operands) <= 1, call, "reconfigures a host network interface")


def rule_net_admin(call: Call) -> None:
    """ifdown/ifup/route/tc/nmcli/ethtool/sysctl/brctl: host network and kernel settings."""
    name, args = call.name, call.args
    opts, operands = parse_opts(args)
    if name == "route":
        read = not operands or operands[0] not in ("add", "del", "delete", "flush", "change")
    elif name == "tc":
        read = "show" in operands or "ls" in operands or "list" in operands
    elif name == "nmcli":
        read = not set(operands) & {"down", "off", "delete", "modify", "disconnect", "reload",
                                    "up", "add", "edit", "set"}
    elif name == "ethtool":
        read = not opts.keys() & {"-s", "--change", "-K", "--offload", "-G", "-A", "-C", "-L",
                                  "-E", "-f", "-r", "-W", "-p"}
    elif name == "sysctl":
        read = not (opts.keys() & {"-w", "--write", "-p", "--load", "--system"}
                    or any("=" in o for o in operands))
    else:
        read = False
    _readonly_or_high(read, call, "changes host networking or kernel settings")


_DISK_READ = {"-l", "--list", "print", "status", "list", "get", "show", "info", "--detail",
              "-D", "--query", "-n", "--noheadings", "--version", "-V", "display", "scan"}


def rule_disk(call: Call) -> None:
    """Partitioning, wiping, volume and pool tools: read-only listings or HIGH."""
    args = set(call.args)
    if call.name == "wipefs" and not args & {"-a", "--all", "-o", "--offset"}:
        call.low("lists filesystem signatures")
        return
    read = bool(args) and args & _DISK_READ and not args & {"destroy", "-a", "rm", "remove",
                                                            "rollback", "--zero-superblock"}
    _readonly_or_high(bool(read), call, "rewrites disks, partitions or storage pools")


def rule_crontab(call: Call) -> None:
    opts, _ = parse_opts(call.args, {"-u"})
    if "-l" in opts:
        call.low("lists cron jobs")
    elif "-r" in opts:
        call.add(Risk.HIGH, "removes every cron job of the user")
    else:
        call.add(Risk.HIGH, "installs cron jobs (persistence outside the sandbox)")


def rule_audit(call: Call) -> None:
    name = call.name
    if name == "auditctl":
        opts, _ = parse_opts(call.args, {"-e", "-f", "-r", "-b"})
        if opts.keys() <= {"-l", "-s"}:
            call.low("shows audit rules")
            return
        call.add(Risk.HIGH, "changes or disables kernel auditing")
    elif name == "getenforce" or name == "sestatus" or name == "aa-status":
        call.low("shows security module status")
    else:
        call.add(Risk.HIGH, "disables or relaxes a security module (SELinux/AppArmor)")


_PKG_READ = {"list", "search", "show", "info", "policy", "depends", "rdepends", "madison",
             "check-update", "repolist", "provides", "whatprovides", "query", "version", "help",
             "--version", "-Q", "-Ss", "-Si", "-Qi", "-Ql", "-Qs", "showpkg", "list-installed",
             "freeze", "check", "ls", "view", "outdated", "audit", "why", "env", "config"}


def rule_packages(call: Call) -> None:
    name = call.name
    _, operands = parse_opts(call.args, {"-o", "-c", "-t", "--target"})
    first = operands[0] if operands else (call.args[0] if call.args else "")
    user_level = name in ("pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo", "go", "conda",
                          "uv", "poetry", "pipx", "bundle", "composer")
    if name in ("dpkg", "rpm"):
        read = any(a.startswith(("-l", "-L", "-s", "-S", "-q", "-V", "-c", "-I", "--list",
                                 "--status", "--search", "--query", "--get-selections"))
                   for a in call.args)
    else:
        read = first in _PKG_READ or not call.args
    if read:
        call.low("queries packages")
    elif first == "update" and not user_level:
        call.add(Risk.MEDIUM, "refreshes the package index")
    elif user_level:
        call.add(Risk.MEDIUM, f"{first}: changes installed packages of the user environment")
    else:
        call.add(Risk.HIGH, f"{first}: changes system packages")


def rule_users(call: Call) -> None:
    args = set(call.args)
    if call.name == "passwd" and args & {"-S", "--status"} or call.name == "chage" and "-l" in \
            args or call.name == "visudo" and "-c" in args:
        call.low("shows account status")
        return
    call.add(Risk.HIGH, "manages users, groups, passwords or sudoers (privilege)")


_GIT_READ = {"status", "log", "diff", "show", "rev-parse", "ls-files", "blame", "describe",
             "grep", "shortlog", "reflog", "cat-file", "ls-remote", "remote", "whatchanged",
             "show-ref", "ls-tree", "name-rev", "fetch", "help", "version", "--version",
             "branch", "tag", "stash"}


def rule_git(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-C", "-c", "--git-dir", "--work-tree"})
    sub = operands[0] if operands else "help"
    rest = operands[1:]
    flags = set(call.args)
    if sub == "push":
        if flags & {"-f", "--force", "--mirror", "--delete", "-d", "--force-with-lease",
                    "--prune"} or any(r.startswith((":", "+")) for r in rest):
            call.add(Risk.HIGH, "force-pushes or deletes remote history")
        else:
            call.add(Risk.MEDIUM, "pushes to a remote")
        return
    if sub in ("branch", "tag", "stash") and flags & {"-D", "-d", "--delete", "drop", "clear"}:
        call.modify(".", f"git {sub} deletes refs in")
        return
    if sub == "config" and not flags & {"--global", "--system"}:
        call.low("reads or sets repository config")
        return
    if sub in _GIT_READ:
        call.low("reads the repository")
        return
    call.modify(".", f"git {sub} changes the repository at")


_DOCKER_READ = {"ps", "logs", "inspect", "images", "stats", "top", "version", "info", "events",
                "port", "diff", "history", "search", "df", "ls", "config", "login"}
_DOCKER_DESTROY = {"rm", "rmi", "kill", "prune", "leave", "down"}


def rule_docker(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-H", "--host", "--context", "-c", "--config", "-l",
                                         "--log-level", "-f", "--file", "-p", "--project-name"})
    words = [o for o in operands[:3]]
    if any(w in _DOCKER_DESTROY for w in words) or "volume" in words and "rm" in words:
        harsh = "-v" in call.args or "--volumes" in call.args or "down" not in words
        call.add(Risk.HIGH if harsh else Risk.MEDIUM,
                 f"{' '.join(words[:2])}: destroys containers, images or volumes")
        return
    if words and words[-1] in _DOCKER_READ or words and words[0] in _DOCKER_READ:
        call.low("inspects containers")
        return
    text = " ".join(call.args)
    if words and words[0] in ("run", "create") and re.search(
            r"--privileged|--pid[= ]host|--userns[= ]host|--cap-add[= ](ALL|SYS_ADMIN)|"
            r"(-v|--volume|--mount)[= ]\S*(^|[ =:,])/(:|,|\s|$)|docker\.sock|(-v|--volume)[= ]/"
            r"(etc|root|var|usr|boot|home)?:", text):
        call.add(Risk.HIGH, "starts a container with host-level access")
        return
    if words and words[0] == "exec" and len(operands) > 2:
        idx = 2
        call.add(Risk.MEDIUM, f"runs a command inside container {operands[1]}")
        call.run_script(" ".join(operands[idx:]), ctx=call.ctx.remote(f"container {operands[1]}"))
        return
    call.add(Risk.MEDIUM, f"{' '.join(words[:2])}: manages containers outside the sandbox")


def rule_always_high(call: Call) -> None:
    reasons = {
        "setcap": "grants file capabilities (privilege escalation)",
        "mknod": "creates device nodes",
        "modprobe": "loads or unloads kernel modules",
        "insmod": "loads a kernel module", "rmmod": "unloads a kernel module",
        "swapoff": "disables swap on the host", "swapon": "changes swap on the host",
        "umount": "unmounts a host filesystem", "ifdown": "takes a host interface down",
        "ifup": "reconfigures a host interface", "hostnamectl": "changes the host name",
        "visudo": "edits sudoers", "kexec": "boots another kernel",
        "sysrq": "triggers kernel SysRq", "losetup": "attaches or detaches loop devices",
    }
    call.add(Risk.HIGH, reasons.get(call.name, "changes the host"))


def rule_schedule(call: Call) -> None:
    call.add(Risk.MEDIUM, "schedules a command to run later")


HOST_RULES = {
    **{n: rule_iptables for n in ("iptables", "ip6tables", "iptables-legacy", "iptables-nft",
                                  "ebtables", "arptables", "iptables-save", "ip6tables-save",
                                  "iptables-restore", "ip6tables-restore")},
    "nft": rule_nft, "ufw": rule_ufw, "firewall-cmd": rule_firewall_cmd, "ip": rule_ip,
    "ifconfig": rule_ifconfig,
    **{n: rule_net_admin for n in ("route", "tc", "nmcli", "ethtool", "sysctl", "brctl")},
    **{n: rule_disk for n in ("fdisk", "sfdisk", "cfdisk", "parted", "gdisk", "sgdisk",
                              "wipefs", "blkdiscard", "hdparm", "mdadm", "cryptsetup",
                              "dmsetup", "lvremove", "vgremove", "pvremove", "lvreduce",
                              "lvresize", "zpool", "zfs", "pvcreate", "vgcreate", "lvcreate",
                              "badblocks", "e2fsck", "fsck", "tune2fs", "resize2fs")},
    "crontab": rule_crontab, "at": rule_schedule, "batch": rule_schedule,
    "atrm": rule_schedule,
    **{n: rule_audit for n in ("auditctl", "setenforce", "aa-teardown", "aa-disable",
                               "aa-complain", "getenforce", "sestatus", "aa-status")},
    **{n: rule_packages for n in ("apt", "apt-get", "aptitude", "yum", "dnf", "zypper",
                                  "pacman", "apk", "snap", "flatpak", "brew", "port", "emerge",
                                  "dpkg", "rpm", "pip", "pip3", "npm", "yarn", "pnpm", "gem",
                                  "cargo", "conda", "pipx", "poetry", "bundle", "composer")},
    **{n: rule_users for n in ("useradd", "adduser", "usermod", "userdel", "deluser",
                               "groupadd", "groupdel", "groupmod", "gpasswd", "passwd",
                               "chpasswd", "chage", "vipw", "vigr", "newusers", "chsh",
                               "visudo")},
    "git": rule_git,
    **{n: rule_docker for n in ("docker", "podman", "nerdctl", "docker-compose",
                                "podman-compose", "crictl", "ctr")},
    **{n: rule_always_high for n in ("setcap", "mknod", "modprobe", "insmod", "rmmod",
                                     "swapoff", "swapon", "umount", "ifdown", "ifup",
                                     "hostnamectl", "kexec", "losetup")},
}
