"""Rules for the host outside the sandbox: firewall, network links, kernel settings, disks and
filesystems, cron, auditing and security modules, packages, users, git remotes, containers.
All of it is shared with every other sandbox, so a change is HIGH unless read-only.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule, rule_matching


def _readonly_or_high(read: bool, call: Call, what: str) -> None:
    if read:
        call.low("read-only")
    else:
        call.add(Risk.HIGH, what)


_IPT_READ = {"-L", "--list", "-S", "--list-rules", "-n", "--numeric", "-v", "--verbose", "-x",
             "--exact", "--line-numbers", "-t", "--table", "-w", "--wait"}


@rule("arptables", "ebtables", "ip6tables", "ip6tables-restore", "ip6tables-save", "iptables",
      "iptables-legacy", "iptables-nft", "iptables-restore", "iptables-save")
def rule_iptables(call: Call) -> None:
    if call.name.endswith("-save"):
        call.low("prints firewall rules")
        return
    opts, _ = parse_opts(call.args, {"-t", "--table", "-w", "--wait"})
    flush = opts.keys() & {"-F", "--flush", "-X", "--delete-chain"}
    what = "flushes the host firewall" if flush else "changes the host firewall"
    read = bool(opts) and opts.keys() <= _IPT_READ and not call.name.endswith("-restore")
    _readonly_or_high(read, call, what)


@rule("nft")
def rule_nft(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-f", "--file", "-I"})
    _readonly_or_high(bool(operands) and operands[0] in ("list", "monitor", "describe"), call,
                      "changes or flushes the host firewall (nftables)")


@rule("ufw")
def rule_ufw(call: Call) -> None:
    _, operands = parse_opts(call.args)
    _readonly_or_high(not operands or operands[0] in ("status", "show", "version", "app"), call,
                      f"{' '.join(operands[:2])}: changes the host firewall")


@rule("firewall-cmd")
def rule_firewall_cmd(call: Call) -> None:
    read = all(a.startswith(("--state", "--list", "--get", "--query", "--info", "--zone"))
               for a in call.args)
    _readonly_or_high(read, call, "changes the host firewall (firewalld)")


_IP_READ_VERBS = {"show", "list", "ls", "lst", "get", "sh", "s", "monitor", "help", "l"}


@rule("ip")
def rule_ip(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-n", "-netns", "-f", "-family", "-b", "-batch", "-rc"})
    if len(operands) >= 3 and operands[0] == "netns" and operands[1] == "exec":
        call.add(Risk.MEDIUM, "runs a command in another network namespace")
        call.run_argv(operands[3:])
        return
    verb = operands[1] if len(operands) > 1 else "show"
    read = verb in _IP_READ_VERBS or (operands and operands[0] in ("help",))
    _readonly_or_high(bool(read), call, f"ip {' '.join(operands[:3])}: changes host networking")


@rule("ifconfig")
def rule_ifconfig(call: Call) -> None:
    _, operands = parse_opts(call.args)
    _readonly_or_high(len(operands) <= 1, call, "reconfigures a host network interface")


@rule("brctl", "ethtool", "nmcli", "route", "sysctl", "tc")
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


@rule("badblocks", "blkdiscard", "cfdisk", "cryptsetup", "dmsetup", "e2fsck", "fdisk", "fsck",
      "gdisk", "hdparm", "lvcreate", "lvreduce", "lvremove", "lvresize", "mdadm", "parted",
      "pvcreate", "pvremove", "resize2fs", "sfdisk", "sgdisk", "tune2fs", "vgcreate", "vgremove",
      "wipefs", "zfs", "zpool")
def rule_disk(call: Call) -> None:
    """Partitioning, wiping, volume and pool tools: read-only listings or HIGH."""
    args = set(call.args)
    if call.name == "wipefs" and not args & {"-a", "--all", "-o", "--offset"}:
        call.low("lists filesystem signatures")
        return
    read = bool(args) and args & _DISK_READ and not args & {"destroy", "-a", "rm", "remove",
                                                            "rollback", "--zero-superblock"}
    _readonly_or_high(bool(read), call, "rewrites disks, partitions or storage pools")


@rule("crontab")
def rule_crontab(call: Call) -> None:
    opts, _ = parse_opts(call.args, {"-u"})
    if "-l" in opts:
        call.low("lists cron jobs")
    elif "-r" in opts:
        call.add(Risk.HIGH, "removes every cron job of the user")
    else:
        call.add(Risk.HIGH, "installs cron jobs (persistence outside the sandbox)")


@rule("aa-complain", "aa-disable", "aa-status", "aa-teardown", "auditctl", "getenforce",
      "sestatus", "setenforce")
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


@rule("apk", "apt", "apt-get", "aptitude", "brew", "bundle", "cargo", "composer", "conda", "dnf",
      "dpkg", "emerge", "flatpak", "gem", "npm", "pacman", "pip", "pip3", "pipx", "pnpm", "poetry",
      "port", "rpm", "snap", "yarn", "yum", "zypper")
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


@rule("adduser", "chage", "chpasswd", "chsh", "deluser", "gpasswd", "groupadd", "groupdel",
      "groupmod", "newusers", "passwd", "useradd", "userdel", "usermod", "vigr", "vipw", "visudo")
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


@rule("git")
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


@rule("crictl", "ctr", "docker", "docker-compose", "nerdctl", "podman", "podman-compose")
def rule_docker(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-H", "--host", "--context", "-c", "--config", "-l",
                                         "--log-level", "-f", "--file", "-p", "--project-name"})
    words = operands[:3]
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
        call.add(Risk.MEDIUM, f"runs a command inside container {operands[1]}")
        call.run_script(" ".join(operands[2:]), ctx=call.ctx.remote(f"container {operands[1]}"))
        return
    call.add(Risk.MEDIUM, f"{' '.join(words[:2])}: manages containers outside the sandbox")


@rule("hostnamectl", "ifdown", "ifup", "insmod", "kexec", "losetup", "mknod", "modprobe", "rmmod",
      "setcap", "swapoff", "swapon", "umount")
def rule_always_high(call: Call) -> None:
    reasons = {
        "setcap": "grants file capabilities (privilege escalation)",
        "mknod": "creates device nodes",
        "modprobe": "loads or unloads kernel modules",
        "insmod": "loads a kernel module", "rmmod": "unloads a kernel module",
        "swapoff": "disables swap on the host", "swapon": "changes swap on the host",
        "umount": "unmounts a host filesystem", "ifdown": "takes a host interface down",
        "ifup": "reconfigures a host interface", "hostnamectl": "changes the host name",
        "kexec": "boots another kernel", "losetup": "attaches or detaches loop devices",
    }
    call.add(Risk.HIGH, reasons.get(call.name, "changes the host"))


@rule("at", "atrm", "batch")
def rule_schedule(call: Call) -> None:
    call.add(Risk.MEDIUM, "schedules a command to run later")


@rule_matching(r"mkfs(\.\w+)?|mke2fs|mkswap|mkdosfs|mkntfs")
def rule_mkfs(call: Call) -> None:
    call.add(Risk.HIGH, "formats a filesystem")
