"""Rules for code execution and everything that leaves the sandbox over the network.

Shells and interpreters (`bash -c`, `python -c`, `| sh`), downloads and uploads (curl, wget,
nc, ssh, scp, rsync), data stores (psql, redis-cli, mongo, ...) and cluster/cloud CLIs.
Exfiltration is judged by data flow: secrets or files piped or attached to a request for a
non-loopback host are HIGH; a GET to 127.0.0.1 is LOW.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sre_agent.safety.engine import Call, parse_opts
from sre_agent.safety.paths import UNKNOWN, PathRef
from sre_agent.safety.verdict import Risk

SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "rbash"}
_INTERP = re.compile(r"(python|pypy)[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node(js)?|php[0-9.]*|"
                     r"lua[0-9.]*|Rscript|deno|bun|tclsh|pwsh|powershell|osascript|jshell|irb")
_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|0\.0\.0\.0|::1|\[::1\]|ip6-localhost)$",
                       re.I)


def is_interpreter(name: str) -> bool:
    return bool(_INTERP.fullmatch(name))


def is_loopback(host: str | None) -> bool:
    return bool(host) and bool(_LOOPBACK.match(host or ""))


def host_of(target: str) -> str | None:
    """Host of a URL, `user@host:path`, or bare `host`; None when not determinable."""
    if UNKNOWN in target:
        m = re.match(r"[a-z]+://([^/:\[\]" + UNKNOWN + r"]+)[:/]", target)
        return m.group(1) if m else None
    if "://" in target:
        return urlsplit(target).hostname
    m = re.match(r"^(?:[^@/\s]+@)?(\[[^\]]+\]|[A-Za-z0-9_.-]+)(?::|$)", target)
    return m.group(1) if m else None


# -- shells and interpreters -----------------------------------------------------------------


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
            call.run_script(code.replace(UNKNOWN, "__runtime_value__"),
                            positional=rest)
            if UNKNOWN in code:
                call.add(Risk.MEDIUM, "shell code known only at run time")
        else:
            judge_inline_code(call, lang, code)
        if in_place:
            for path in rest:
                call.write(path, truncate=False, verb="edits in place")
        return
    if script is None or script in ("-", "/dev/stdin"):
        call.run_stdin_code(lang)
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


# -- network ---------------------------------------------------------------------------------


def judge_dev_tcp(call: Call, ref: PathRef) -> None:
    parts = (ref.norm or "").split("/")
    host = parts[3] if len(parts) > 3 else None
    if is_loopback(host) and call.name in ("echo", "printf", "true", ":", "redirect"):
        call.low(f"probes the local port {host} via /dev/tcp")
    elif is_loopback(host):
        call.add(Risk.MEDIUM, f"opens a socket to {host} via /dev/tcp")
    else:
        call.add(Risk.HIGH, f"connects the shell to remote host {host} via /dev/tcp "
                 "(reverse shell or exfiltration)")


def _sends(call: Call, host: str | None, what: str, *, from_stdin: bool = False) -> None:
    stdin_tags = call.stdin.tags if call.stdin and from_stdin else set()
    secret = "secret" in stdin_tags or "secret" in call.subtags
    if secret:
        call.add(Risk.HIGH, f"sends secrets (environment or credential data) to {host or '?'}")
    elif not is_loopback(host):
        call.add(Risk.HIGH, f"{what} to remote host {host or '(unknown)'} (exfiltration)")
    else:
        call.add(Risk.MEDIUM, f"{what} to the local service {host}")


_CURL_VALUES = {
    "-A", "-b", "-c", "-d", "-e", "-E", "-F", "-H", "-K", "-m", "-o", "-r", "-T", "-u", "-U",
    "-w", "-x", "-X", "-y", "-Y", "-z", "-C", "-Q", "-P", "--connect-timeout", "--max-time",
    "--retry", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--data-ascii",
    "--form", "--form-string", "--header", "--user-agent", "--output", "--upload-file", "--url",
    "--request", "--cookie", "--cookie-jar", "--proxy", "--resolve", "--cacert", "--cert",
    "--key", "--json", "--output-dir", "--write-out", "--user", "--referer", "--retry-delay",
    "--max-filesize", "--limit-rate", "--interface", "--unix-socket", "--config", "--oauth2-bearer",
}
_CURL_DATA = ("-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--data-ascii",
              "-F", "--form", "--form-string", "--json", "-T", "--upload-file")


def rule_curl(call: Call) -> None:
    opts, operands = parse_opts(call.args, _CURL_VALUES)
    urls = operands + opts.get("--url", [])
    hosts = [host_of(u) for u in urls] or [None]
    host = next((h for h in hosts if not is_loopback(h)), hosts[0])
    for u in urls:
        if u.startswith("file://"):
            call.read(urlsplit(u).path)
    call.out.tags.add("network")
    data = [v for flag in _CURL_DATA for v in opts.get(flag, [])]
    method = (opts.get("-X") or opts.get("--request") or ["GET"])[0].upper()
    for value in data:
        for path in re.findall(r"(?:^|=)[@<]([^;,]+)", value) + (
                [value] if value and (opts.get("-T") or opts.get("--upload-file")) and
                value in opts.get("-T", []) + opts.get("--upload-file", []) else []):
            if path != "-":
                call.read(path)
    for path in opts.get("-K", []) + opts.get("--config", []):
        call.read(path)
    from_stdin = any(v in ("@-", "-") or v.endswith("=@-") or v.endswith("<-") for v in data)
    piped = call.stdin is not None and call.stdin.tags - {"literal"}
    if data or method in ("POST", "PUT", "PATCH", "DELETE"):
        _sends(call, host, f"sends a {method if method != 'GET' else 'POST'} request with data",
               from_stdin=True)
    elif piped and call.stdin and "secret" in call.stdin.tags:
        _sends(call, host, "pipes data", from_stdin=True)
    elif call.subtags & {"secret"} or any(_secret_ref(w) for w in _raw(call)):
        _sends(call, host, "puts secrets in a request", from_stdin=from_stdin)
    elif is_loopback(host):
        call.low(f"GET from the local service {host}")
    else:
        call.add(Risk.MEDIUM, f"contacts remote host {host or '(unknown)'}")
    outputs = opts.get("-o", []) + opts.get("--output", [])
    if ("-O" in opts or "--remote-name" in opts) and urls:
        outputs.append(urlsplit(urls[0]).path.rsplit("/", 1)[-1] or "index.html")
    for out in outputs:
        if out != "-":
            call.write(out, verb="downloads to")
            _mark_downloaded(call, out)


def _raw(call: Call) -> list[str]:
    return call.command.words if call.command else []


def _secret_ref(raw: str) -> bool:
    names = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", raw)
    return any(re.search(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL", n, re.I) for n in names)


def _mark_downloaded(call: Call, path: str) -> None:
    ref = call.ref(path)
    if ref.norm:
        call.ctx.downloaded.add(ref.norm)


def rule_wget(call: Call) -> None:
    opts, urls = parse_opts(call.args, {"-O", "-o", "-a", "-P", "-t", "-T", "-U", "-e", "-i",
                                        "--output-document", "--post-data", "--post-file",
                                        "--body-data", "--body-file", "--method", "--header",
                                        "--directory-prefix", "--user", "--password", "--tries",
                                        "--timeout", "--user-agent", "--input-file"})
    hosts = [host_of(u) for u in urls] or [None]
    host = next((h for h in hosts if not is_loopback(h)), hosts[0])
    call.out.tags.add("network")
    for path in opts.get("--post-file", []) + opts.get("--body-file", []):
        call.read(path)
    if opts.keys() & {"--post-data", "--post-file", "--body-data", "--body-file"} or \
            (opts.get("--method") or ["GET"])[0].upper() in ("POST", "PUT", "DELETE", "PATCH"):
        _sends(call, host, "sends data")
    elif is_loopback(host):
        call.low(f"GET from the local service {host}")
    else:
        call.add(Risk.MEDIUM, f"contacts remote host {host or '(unknown)'}")
    outs = opts.get("-O", []) + opts.get("--output-document", [])
    if not outs and urls:
        prefix = (opts.get("-P") or opts.get("--directory-prefix") or ["."])[0]
        outs = [prefix + "/" + (urlsplit(urls[0]).path.rsplit("/", 1)[-1] or "index.html")]
    for out in outs:
        if out != "-":
            call.write(out, verb="downloads to")
            _mark_downloaded(call, out)
    for log in opts.get("-o", []) + opts.get("-a", []):
        call.write(log, truncate=False)


def rule_netcat(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-e", "-c", "-p", "-s", "-w", "-i", "-q", "-X",
                                            "-x", "--exec", "--sh-exec", "--lua-exec", "-W"})
    host = operands[0] if operands else None
    call.out.tags.add("network")
    text = " ".join(call.args)
    if opts.keys() & {"-e", "-c", "--exec", "--sh-exec", "--lua-exec"} or \
            call.name == "socat" and re.search(r"\b(EXEC|SYSTEM):", text, re.I):
        call.add(Risk.HIGH, "binds a shell or program to a network socket (remote shell)")
        return
    if call.name == "socat":
        host = next((m for m in re.findall(r"TCP[46]?:([^:,\s]+)", text, re.I)), None)
        if re.search(r"\b(OPEN|CREATE|FILE|GOPEN):", text, re.I):
            call.add(Risk.MEDIUM, "socat reads or writes files")
    if "-z" in opts:
        call.low("checks whether a port is open")
    elif "-l" in opts or "--listen" in opts:
        call.add(Risk.MEDIUM, "listens on a network port")
    elif call.stdin is not None and call.stdin.tags - {"literal"}:
        _sends(call, host, "pipes data", from_stdin=True)
    elif is_loopback(host):
        call.add(Risk.MEDIUM, f"talks to the local port {host}")
    else:
        call.add(Risk.MEDIUM, f"opens a raw connection to {host or '(unknown)'}")


def rule_ssh(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "-i", "-l", "-o", "-F", "-L", "-R", "-D",
                                            "-J", "-W", "-b", "-c", "-E", "-e", "-m", "-O",
                                            "-Q", "-S", "-w", "-B", "-I"})
    host = host_of(operands[0]) if operands else None
    if call.stdin is not None and call.stdin.tags - {"literal"}:
        _sends(call, host, "pipes local data over ssh", from_stdin=True)
    if opts.keys() & {"-R", "-L", "-D", "-W"}:
        call.add(Risk.MEDIUM, "opens an ssh tunnel")
    if len(operands) > 1:
        call.add(Risk.MEDIUM, f"runs a command on {host}")
        call.run_script(" ".join(operands[1:]), ctx=call.ctx.remote(host or "a remote host"))
    elif operands:
        call.add(Risk.MEDIUM, f"opens a shell on {host}")


def _remote_arg(arg: str) -> bool:
    return arg.startswith("rsync://") or bool(re.match(r"^(?:[^@/\s]+@)?[A-Za-z0-9_.-]+:", arg)) \
        and not arg.startswith(("/", "./"))


def rule_copy_remote(call: Call) -> None:
    """scp, rsync, sftp: uploads to another host are exfiltration."""
    values = {"-P", "-i", "-o", "-F", "-e", "-l", "-c", "-J", "-S", "--rsh", "--exclude",
              "--include", "--filter", "-f", "--exclude-from", "--password-file", "--port",
              "--chmod", "--bwlimit", "-B", "-b"}
    opts, operands = parse_opts(call.args, values)
    if call.name == "sftp":
        call.add(Risk.HIGH if opts.get("-b") else Risk.MEDIUM, "opens an sftp session")
        return
    if len(operands) < 2:
        call.add(Risk.MEDIUM, "copies files")
        return
    dest, sources = operands[-1], operands[:-1]
    if _remote_arg(dest):
        host = host_of(dest.removeprefix("rsync://"))
        for source in sources:
            if not _remote_arg(source):
                call.read(source)
        _sends(call, host, "copies local files")
        return
    for source in sources:
        if not _remote_arg(source):
            call.read(source)
    if "--delete" in opts or any(o.startswith("--delete") for o in opts):
        call.delete(dest.rstrip("/") + "/\x02", recursive=True, verb="rsync --delete removes")
    if "--remove-source-files" in opts:
        for source in sources:
            call.delete(source, recursive=True, verb="removes copied source")
    call.write(dest, truncate=False, verb="copies into")


def rule_mail(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-s", "-a", "-A", "-c", "-b", "-r", "-f"})
    for path in opts.get("-a", []) + opts.get("-A", []):
        call.read(path)
    host = operands[0].split("@")[-1] if operands else None
    if call.stdin is not None or opts.get("-a") or opts.get("-A"):
        _sends(call, host, "mails local data", from_stdin=True)
    else:
        call.add(Risk.MEDIUM, "sends mail")


def rule_openssl(call: Call) -> None:
    sub = call.args[0] if call.args else ""
    opts, operands = parse_opts(call.args[1:], {"-in", "-out", "-connect", "-key", "-inkey",
                                                "-pass", "-passin", "-passout", "-servername"})
    if sub == "s_client":
        target = " ".join(opts.get("-connect", [])) or (operands[0] if operands else "")
        host = host_of(target)
        call.out.tags.add("network")
        if call.stdin is not None and call.stdin.tags - {"literal"}:
            _sends(call, host, "pipes data over TLS", from_stdin=True)
        elif is_loopback(host):
            call.low("TLS handshake with the local service")
        else:
            call.add(Risk.MEDIUM, f"connects to {host}")
        return
    args = call.args
    for key in ("-in", "-key", "-inkey"):
        if key in args and args.index(key) + 1 < len(args):
            call.read(args[args.index(key) + 1])
    if "-out" in args and args.index("-out") + 1 < len(args):
        call.write(args[args.index("-out") + 1])
    if sub in ("enc", "base64") and "-d" in args:
        call.out.tags.add("decoded")
    call.low("crypto utility")


NET_RULES = {
    "curl": rule_curl, "wget": rule_wget, "nc": rule_netcat, "ncat": rule_netcat,
    "netcat": rule_netcat, "socat": rule_netcat, "telnet": rule_netcat, "ssh": rule_ssh,
    "scp": rule_copy_remote, "rsync": rule_copy_remote, "sftp": rule_copy_remote,
    "mail": rule_mail, "mailx": rule_mail, "sendmail": rule_mail, "mutt": rule_mail,
    "openssl": rule_openssl,
}
