"""Rules for wrappers (sudo, env, timeout, nohup, flock, ...): the inner command is unwrapped
and judged; running it as another user turns any mutation into HIGH. Changing root or entering
other namespaces (chroot, nsenter) is a sandbox escape.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule

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


@rule(*_WRAPPERS)
def rule_wrapper(call: Call) -> None:
    name = call.name
    value_opts, privileged = _WRAPPERS[name]
    opts, inner = parse_opts(call.args, value_opts, stop_at_operand=True)
    if name == "command" and opts.keys() & {"-v", "-V"}:
        call.low("looks up a command")
        return
    if name == "strace" and "-o" in opts:
        call.write(opts["-o"][0])
    if not inner:
        if privileged and opts.keys() & {"-i", "-s", "--login", "--shell"}:
            call.add(Risk.HIGH, "opens a root shell (privilege escalation)")
        elif privileged and not opts.keys() & {"-l", "-v", "-k", "-K", "-V", "--list"}:
            call.add(Risk.MEDIUM, "privileged invocation without a command")
        else:
            call.low("no command")
        return
    if privileged:
        _run_privileged(call, inner)
    else:
        call.run_argv(inner, stdin=call.stdin)


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


@rule("env")
def rule_env(call: Call) -> None:
    opts, rest = parse_opts(call.args, {"-u", "--unset", "-C", "--chdir", "-S",
                                        "--split-string", "-P"}, stop_at_operand=True)
    while rest and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        call.ctx.assign(rest.pop(0), persist=False)
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
        sub.walker.argv(sub, rest, call.stdin, call.subtags, call.procsub_tags, None)
        return
    call.run_argv(rest, stdin=call.stdin)


@rule("su", "sg")
def rule_su(call: Call) -> None:
    opts, _ = parse_opts(call.args, {"-c", "--command", "-s", "--shell", "-g", "-G"})
    script = (opts.get("-c") or opts.get("--command") or [None])[0]
    if script is None:
        call.add(Risk.HIGH, "switches user to get a shell (privilege escalation)")
        return
    _run_privileged(call, ["su", "-c", script], script=script)


@rule("timeout")
def rule_timeout(call: Call) -> None:
    _, rest = parse_opts(call.args, {"-s", "-k", "--signal", "--kill-after"},
                         stop_at_operand=True)
    if len(rest) > 1:
        call.run_argv(rest[1:], stdin=call.stdin)


@rule("chrt", "taskset")
def rule_chrt_taskset(call: Call) -> None:
    opts, rest = parse_opts(call.args, {"-c", "--cpu-list"} if call.name == "taskset" else set(),
                            stop_at_operand=True)
    if "-p" in opts or "--pid" in opts:
        call.add(Risk.MEDIUM, "changes scheduling of a running process")
        return
    skip = 0 if call.name == "taskset" and opts.keys() & {"-c", "--cpu-list"} else 1
    if len(rest) > skip:
        call.run_argv(rest[skip:], stdin=call.stdin)


@rule("flock")
def rule_flock(call: Call) -> None:
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


@rule("busybox")
def rule_busybox(call: Call) -> None:
    if call.args:
        call.run_argv(call.args, stdin=call.stdin)


@rule("chroot", "nsenter")
def rule_escape(call: Call) -> None:
    call.add(Risk.HIGH, "changes root or enters other namespaces (sandbox escape)")
    _, rest = parse_opts(call.args, {"-t", "--target", "-u", "--userspec", "-S", "-G"},
                         stop_at_operand=True)
    if call.name == "chroot" and len(rest) > 1:
        call.run_argv(rest[1:])


@rule("unshare")
def rule_unshare(call: Call) -> None:
    call.add(Risk.MEDIUM, "runs in new namespaces")
    _, rest = parse_opts(call.args, set(), stop_at_operand=True)
    if rest:
        call.run_argv(rest, stdin=call.stdin)


__all__ = ["rule_busybox", "rule_chrt_taskset", "rule_env", "rule_escape", "rule_flock",
           "rule_su", "rule_timeout", "rule_unshare", "rule_wrapper"]
