"""Rules for processes and the shell itself: kill/pkill, the sandbox supervisor, host
services and power, the nginx master (`nginx -t`, `-s`), and shell builtins that change what
later commands mean (cd, variables, history, eval, alias, trap, exec).
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import RUNTIME_WORD, UNKNOWN

# -- processes -------------------------------------------------------------------------------


@rule("kill")
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


@rule("killall", "killall5", "pkill")
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


_SVC_READ = {"status", "logs", "log", "help", "--help", "-h", "version"}


@rule("svc")
def rule_svc(call: Call) -> None:
    verb = call.args[0] if call.args else "status"
    if verb in _SVC_READ:
        call.low(f"{verb} of the sandbox supervisor")
    elif verb in ("start", "stop", "restart", "reload"):
        call.add(Risk.MEDIUM, f"{verb} of a sandbox program ({' '.join(call.args[1:]) or 'app'})")
    else:
        call.add(Risk.MEDIUM, f"unrecognised supervisor command {verb!r}")


@rule("halt", "init", "poweroff", "reboot", "shutdown", "telinit")
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


@rule("rc-service", "service", "systemctl")
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


_NGINX_OPTS = {"-t", "-T", "-q", "-v", "-V", "-h", "-?", "-c", "-s", "-g", "-p", "-e"}


@rule("nginx")
def rule_nginx(call: Call) -> None:
    """`nginx -t`/`-T` tests the installed config (/etc/nginx/) and exits: LOW. Even under
    `-t` nginx runs the config's `load_module` (a shared object's code), opens (creates) the pid
    and log files it names and makes its temp directories, so a config from elsewhere (`-c`:
    one the agent could have written), `-g` directives or another prefix (`-p`) is MEDIUM; `-e`
    is judged as the file it opens. `-s` signals a running master; without `-t` nginx starts."""
    opts, operands = parse_opts(call.args, {"-c", "-s", "-g", "-p", "-e"})
    confs = opts.get("-c", [])
    if set(opts) - _NGINX_OPTS or operands:
        call.add(Risk.MEDIUM, "unrecognised nginx arguments")
    for sig in opts.get("-s", []):
        local = bool(confs) and all(call.judge.inside(call.ref(c)) for c in confs)
        if sig in ("stop", "quit"):
            call.add(Risk.HIGH, f"-s {sig}: stops the nginx server")
        elif sig in ("reload", "reopen") and local:
            call.add(Risk.MEDIUM, f"-s {sig}: signals the sandbox's nginx")
        else:
            call.add(Risk.HIGH, f"-s {sig}: signals the host's nginx")
    if "-s" in opts:
        return
    if not opts.keys() & {"-t", "-T"}:
        if opts.keys() & {"-v", "-V", "-h", "-?"}:
            call.low("prints version or help")
        else:
            call.add(Risk.MEDIUM, "starts an nginx server")
        return
    for conf in confs:
        call.read(conf)
        ref = call.ref(conf)
        if not conf.startswith("/") or ref.glob or not (ref.norm or "").startswith("/etc/nginx/"):
            call.add(Risk.MEDIUM, f"tests config {call.show(ref)}: a config can load_module "
                     "(runs code) and creates the pid and log files it names, even under -t")
    if opts.get("-g"):
        call.add(Risk.MEDIUM, "-g adds directives (load_module, pid, error_log) to the test")
    if opts.get("-p"):
        call.add(Risk.MEDIUM, "-p moves where the config's pid, logs and temp paths resolve")
    for log in opts.get("-e", []):
        if log != "stderr":
            call.write(log, truncate=False, verb="opens the error log")
    if "-T" in opts:
        call.out.tags.add("file")
    call.low("tests the nginx configuration")


# -- the shell itself ------------------------------------------------------------------------


@rule("cd", "popd", "pushd")
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


@rule("declare", "export", "local", "readonly", "typeset")
def rule_declare(call: Call) -> None:
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
            call.ctx.assign(f"{name}={value}", persist=False)
    call.low("sets shell variables")


@rule("set")
def rule_set(call: Call) -> None:
    args = call.args
    if not args:
        call.out.tags.add("secret")
        call.low("prints shell variables")
    elif "+o" in args and "history" in args:
        call.add(Risk.HIGH, "turns shell history off (covering tracks)")
    else:
        call.low("sets shell options")


@rule("unset")
def rule_unset(call: Call) -> None:
    if any(a in ("HISTFILE", "HISTSIZE", "HISTFILESIZE") for a in call.args):
        call.add(Risk.HIGH, "unsets shell history (covering tracks)")
    for name in call.args:
        call.ctx.env.pop(name, None)
    call.low("unsets variables")


@rule("history")
def rule_history(call: Call) -> None:
    opts, _ = parse_opts(call.args, {"-d"})
    if opts.keys() & {"-c", "-d", "-w", "-r", "-a", "-n"}:
        call.add(Risk.HIGH, "clears or rewrites shell history (covering tracks)")
    else:
        call.out.tags.add("secret")
        call.low("prints shell history")


@rule("read")
def rule_read_builtin(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "-d", "-n", "-N", "-t", "-u", "-a"})
    for name in operands + opts.get("-a", []):
        call.ctx.env[name] = None
    call.low("reads input")


@rule("eval")
def rule_eval(call: Call) -> None:
    text = " ".join(call.args)
    if call.subtags & {"network"}:
        call.add(Risk.HIGH, "evaluates code fetched from the network")
    if call.subtags & {"decoded"}:
        call.add(Risk.HIGH, "evaluates a decoded/obfuscated payload")
    if UNKNOWN in text:
        call.add(Risk.MEDIUM, "evaluates text known only at run time")
    call.run_script(text.replace(UNKNOWN, RUNTIME_WORD))


@rule("alias")
def rule_alias(call: Call) -> None:
    for arg in call.args:
        name, eq, value = arg.partition("=")
        if eq and value:
            call.run_script(value)
    call.low("defines aliases")


@rule("trap")
def rule_trap(call: Call) -> None:
    if call.args and not call.args[0].startswith("-"):
        call.run_script(call.args[0])
    call.low("sets a signal trap")


@rule("exec")
def rule_exec(call: Call) -> None:
    opts, inner = parse_opts(call.args, {"-a"}, stop_at_operand=True)
    if inner:
        call.run_argv(inner, stdin=call.stdin)
    else:
        call.low("adjusts file descriptors")


__all__ = ["rule_alias", "rule_cd", "rule_declare", "rule_eval", "rule_exec", "rule_history",
           "rule_kill", "rule_nginx", "rule_pkill", "rule_read_builtin", "rule_set",
           "rule_shutdown", "rule_svc", "rule_systemctl", "rule_trap", "rule_unset"]
