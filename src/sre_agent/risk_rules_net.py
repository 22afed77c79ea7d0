"""Rules for code execution and everything that leaves the sandbox over the network.

Shells and interpreters (`bash -c`, `python -c`, `| sh`), downloads and uploads (curl, wget,
nc, ssh, scp, rsync), data stores (psql, redis-cli, mongo, ...) and cluster/cloud CLIs.
Exfiltration is judged by data flow: secrets or files piped or attached to a request for a
non-loopback host are HIGH; a GET to 127.0.0.1 is LOW.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sre_agent.risk import Risk
from sre_agent.risk_engine import Call, parse_opts
from sre_agent.risk_paths import UNKNOWN, PathRef

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
        return None
    if "://" in target:
        return urlsplit(target).hostname
    m = re.match(r"^(?:[^@/\s]+@)?(\[[^\]]+\]|[A-Za-z0-9_.-]+)(?::|$)", target)
    return m.group(1) if m else None


# -- shells and interpreters -----------------------------------------------------------------


def judge_interpreter(call: Call) -> None:
    name = call.name
    lang = "shell" if name in SHELLS else _language(name)
    args = call.args
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
    if is_loopback(host):
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


# -- data stores ------------------------------------------------------------------------------

_DESTRUCTIVE_SQL = re.compile(
    r"\bDROP\s+(DATABASE|SCHEMA|TABLE|KEYSPACE|USER|ROLE|INDEX|VIEW|COLLECTION|OWNED)\b|"
    r"\bTRUNCATE\b|\bDELETE\s+FROM\s+[\w.\"`]+\s*(;|$|\)|')|\bFLUSHALL\b|\bFLUSHDB\b|"
    r"dropDatabase|\.drop\s*\(|deleteMany\s*\(\s*\{\s*\}\s*\)|\.remove\s*\(\s*\{\s*\}\s*\)|"
    r"\bALTER\s+TABLE\s+\S+\s+DROP\b|\bUPDATE\s+[\w.\"`]+\s+SET\s+[^;]*?(;|$)(?<!WHERE)|"
    r"\bSHUTDOWN\b|\bDEBUG\s+(SEGFAULT|SLEEP)\b|\bCONFIG\s+SET\b|\bSLAVEOF\b|\bREPLICAOF\b",
    re.I)
_READ_SQL = re.compile(r"^\s*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN|\\[a-z]+|INFO|PING|GET|KEYS|"
                       r"SCAN|TYPE|TTL|DBSIZE|EXISTS|HGET\w*|LRANGE|SMEMBERS|ZRANGE|"
                       r"db\.\w+\.find|db\.stats|db\.getCollectionNames|\.tables|\.schema|"
                       r"PRAGMA\s+(integrity_check|table_info))\b", re.I)
_SQL_FLAGS = {"-c", "--command", "-e", "--execute", "--eval", "-q", "--query", "-Q"}


def rule_data_store(call: Call) -> None:
    name = call.name
    if name in ("dropdb", "dropuser"):
        call.add(Risk.HIGH, "drops a database")
        return
    if name == "mysqladmin":
        verb = set(call.args) & {"drop", "shutdown", "flush-hosts", "kill", "password"}
        if verb:
            call.add(Risk.HIGH, f"mysqladmin {' '.join(sorted(verb))}")
        else:
            call.low("queries the database server")
        return
    values = {"-h", "-p", "-U", "-d", "-u", "-P", "-H", "--host", "--port", "--user", "-n",
              "--dbname", "--username", "-a", "--pass", "-f", "--file", "--password", "-D",
              "--database", "-k", "--keyspace", "-S", "--socket"} | _SQL_FLAGS
    opts, operands = parse_opts(call.args, values)
    statements = [v for f in _SQL_FLAGS for v in opts.get(f, [])]
    if name in ("redis-cli", "valkey-cli", "cqlsh") and operands:
        statements.append(" ".join(operands))
    if name in ("etcdctl", "consul"):
        statements.append(" ".join(call.args))
    if name in ("sqlite3", "duckdb") and len(operands) > 1:
        statements.append(" ".join(operands[1:]))
    if name in ("sqlite3", "duckdb") and operands:
        call.read(operands[0])
    if call.stdin is not None and call.stdin.text is not None:
        statements.append(call.stdin.text.decode("utf-8", "replace"))
    if opts.get("-f") or opts.get("--file"):
        for path in opts.get("-f", []) + opts.get("--file", []):
            call.read(path)
        call.add(Risk.MEDIUM, "runs a SQL script file")
    text = " ; ".join(statements)
    if name == "etcdctl" and re.search(r"\bdel(ete)?\b.*(--prefix|--from-key)", text):
        call.add(Risk.HIGH, "deletes a whole etcd key range")
    elif name == "consul" and re.search(r"kv\s+delete\s+.*-recurse", text):
        call.add(Risk.HIGH, "deletes a consul key tree")
    elif _DESTRUCTIVE_SQL.search(text):
        m = _DESTRUCTIVE_SQL.search(text)
        call.add(Risk.HIGH, f"destructive data-store statement ({m.group(0).strip()[:40]})")
    elif statements and all(_READ_SQL.match(s) for s in re.split(r";\s*", text) if s.strip()):
        call.low("read-only query")
    elif statements:
        call.add(Risk.MEDIUM, "changes data in a data store")
    elif call.stdin is not None:
        call.add(Risk.MEDIUM, "runs statements read from stdin")
    else:
        call.add(Risk.MEDIUM, "opens a data-store session")


# -- clusters and clouds ------------------------------------------------------------------------

_PROD = re.compile(r"prod|production|live|prd", re.I)


def rule_kubectl(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-n", "--namespace", "--context", "--kubeconfig",
                                            "-l", "--selector", "-o", "--output", "-c",
                                            "--container", "--cluster", "--user", "-f",
                                            "--filename", "--field-selector", "--timeout",
                                            "--grace-period", "-s", "--server", "--as"})
    verb = operands[0] if operands else ""
    ns = " ".join(opts.get("-n", []) + opts.get("--namespace", []) + opts.get("--context", []))
    rest = operands[1:]
    if verb in ("get", "describe") and rest and re.match(r"secrets?$|secret/", rest[0]):
        call.out.tags.add("secret")
        call.add(Risk.HIGH, "reads cluster secrets")
        return
    if verb in ("get", "describe", "logs", "top", "explain", "api-resources", "api-versions",
                "version", "cluster-info", "config", "auth", "events", "diff", "wait"):
        call.low("reads cluster state")
        return
    if verb == "delete":
        broad = opts.keys() & {"--all", "-A", "--all-namespaces", "-l", "--selector"}
        kinds = set(re.split(r"[,/]", rest[0])) if rest else set()
        cluster_kinds = kinds & {"ns", "namespace", "namespaces", "node", "nodes", "no", "pv",
                                 "persistentvolume", "persistentvolumes", "crd", "crds",
                                 "customresourcedefinition", "customresourcedefinitions",
                                 "clusterrole", "clusterrolebinding", "all", "deployment",
                                 "deployments", "deploy", "statefulset", "sts", "pvc"}
        if broad or cluster_kinds or _PROD.search(ns) or opts.get("-f"):
            call.add(Risk.HIGH, f"kubectl delete {' '.join(rest[:2])} {ns}: cluster-wide or "
                     "production delete".replace("  ", " "))
        else:
            call.add(Risk.MEDIUM, f"deletes {' '.join(rest[:2])} in the cluster")
        return
    if verb in ("drain",) or verb == "scale" and re.search(r"--replicas[= ]0\b",
                                                            " ".join(call.args)):
        call.add(Risk.HIGH, f"kubectl {verb}: removes capacity")
        return
    if verb == "exec" and "--" in call.args:
        inner = call.args[call.args.index("--") + 1:]
        call.add(Risk.MEDIUM, "runs a command in a pod")
        call.run_script(" ".join(inner), ctx=call.ctx.remote("a pod"))
        return
    risk = Risk.HIGH if _PROD.search(ns) and verb in ("apply", "replace", "patch", "edit",
                                                       "rollout", "set", "cordon") else Risk.MEDIUM
    call.add(risk, f"kubectl {verb}: changes cluster state {ns}".rstrip())


def rule_helm(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-n", "--namespace", "--kube-context", "-f",
                                         "--values", "--set", "--version", "--timeout"})
    verb = operands[0] if operands else ""
    text = " ".join(call.args)
    if verb in ("uninstall", "delete", "del", "un"):
        risk = Risk.HIGH if _PROD.search(text) or "--all" in text else Risk.MEDIUM
        call.add(risk, f"uninstalls release {' '.join(operands[1:2])}")
    elif verb in ("list", "ls", "status", "get", "history", "template", "show", "search",
                  "version", "lint", "env", "repo", "dependency"):
        call.low("reads releases")
    else:
        call.add(Risk.HIGH if _PROD.search(text) and verb in ("rollback", "upgrade", "install")
                 else Risk.MEDIUM, f"helm {verb}")


def rule_terraform(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-var", "-var-file", "-target", "-chdir", "-state",
                                         "-out", "-lock-timeout", "-parallelism"})
    verb = operands[0] if operands else ""
    flags = set(call.args)
    if verb == "destroy" or "-destroy" in flags and verb == "apply":
        call.add(Risk.HIGH, "destroys infrastructure")
    elif verb in ("state", "workspace") and len(operands) > 1 and operands[1] in (
            "rm", "delete", "push", "replace-provider"):
        call.add(Risk.HIGH, f"{verb} {operands[1]}: rewrites infrastructure state")
    elif verb in ("apply", "import", "taint", "untaint", "force-unlock", "refresh"):
        call.add(Risk.MEDIUM if "-auto-approve" not in flags else Risk.HIGH,
                 f"{verb}: changes infrastructure")
    else:
        call.low("plans or inspects infrastructure")


_CLOUD_SECRETS = re.compile(r"get-secret-value|get-parameters?\b.*--with-decryption|"
                            r"get-session-token|create-access-key|export-credentials|"
                            r"get-login-password|print-access-token|print-identity-token|"
                            r"get-access-token|configure\s+get|secrets\s+versions\s+access|"
                            r"keyvault\s+secret\s+show")


def rule_cloud(call: Call) -> None:
    text = " ".join(call.args)
    _, operands = parse_opts(call.args, {"--region", "--profile", "--project", "--output", "-o",
                                         "--zone", "--format", "--query", "--subscription"})
    if _CLOUD_SECRETS.search(text):
        call.out.tags.add("secret")
        call.add(Risk.HIGH, "reads cloud credentials or secrets")
        return
    words = set(operands)
    destroy = any(re.match(r"(delete|terminate|remove|deregister|purge|destroy|rb|"
                           r"delete-\S+|terminate-\S+|remove-\S+|deregister-\S+)$", w)
                  for w in operands)
    if call.name == "gsutil":
        destroy = bool(words & {"rb"}) or "rm" in words and bool(set(call.args) & {"-r", "-R",
                                                                                   "-a"})
    if call.name == "aws" and operands[:2] == ["s3", "rm"]:
        destroy = "--recursive" in call.args
    if "sync" in words and "--delete" in call.args:
        destroy = True
    if destroy:
        call.add(Risk.HIGH, f"{' '.join(operands[:3])}: deletes cloud resources")
        return
    if words & {"cp", "sync", "mv", "rsync"} and any(o.startswith(("s3://", "gs://"))
                                                      for o in operands[-1:]):
        for source in operands[1:-1]:
            if "://" not in source:
                call.read(source)
        _sends(call, host_of(operands[-1]), "uploads local files")
        return
    if any(re.match(r"(describe|list|get|show|ls|head)(-|$)", w) for w in operands[:3]):
        call.low("reads cloud state")
        return
    call.add(Risk.MEDIUM, f"{' '.join(operands[:3])}: changes cloud resources")


NET_RULES = {
    "curl": rule_curl, "wget": rule_wget, "nc": rule_netcat, "ncat": rule_netcat,
    "netcat": rule_netcat, "socat": rule_netcat, "telnet": rule_netcat, "ssh": rule_ssh,
    "scp": rule_copy_remote, "rsync": rule_copy_remote, "sftp": rule_copy_remote,
    "mail": rule_mail, "mailx": rule_mail, "sendmail": rule_mail, "mutt": rule_mail,
    "openssl": rule_openssl,
    **{n: rule_data_store for n in ("psql", "mysql", "mariadb", "sqlite3", "duckdb", "mongo",
                                    "mongosh", "redis-cli", "valkey-cli", "cqlsh",
                                    "clickhouse-client", "sqlcmd", "dropdb", "dropuser",
                                    "mysqladmin", "etcdctl", "consul", "influx")},
    "kubectl": rule_kubectl, "oc": rule_kubectl, "helm": rule_helm,
    "terraform": rule_terraform, "tofu": rule_terraform, "terragrunt": rule_terraform,
    "aws": rule_cloud, "gcloud": rule_cloud, "gsutil": rule_cloud, "az": rule_cloud,
    "doctl": rule_cloud,
}
