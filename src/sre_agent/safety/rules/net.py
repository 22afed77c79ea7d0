"""Rules for everything that leaves the sandbox over the network: downloads and uploads (curl,
wget), raw sockets (nc, socat), remote shells and copies (ssh, scp, rsync, sftp), mail, TLS.

Exfiltration is judged by data flow: secrets or files piped or attached to a request for a
non-loopback host are HIGH; a GET to 127.0.0.1 is LOW. A file downloaded here and then run is
HIGH (`Ctx.downloaded`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.effects import sends
from sre_agent.safety.hosts import host_of, is_loopback
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import FOUND

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


@rule("curl")
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
        sends(call, host, f"sends a {method if method != 'GET' else 'POST'} request with data",
               from_stdin=True)
    elif piped and call.stdin and "secret" in call.stdin.tags:
        sends(call, host, "pipes data", from_stdin=True)
    elif call.subtags & {"secret"} or call.mentions_secret():
        sends(call, host, "puts secrets in a request", from_stdin=from_stdin)
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


def _mark_downloaded(call: Call, path: str) -> None:
    ref = call.ref(path)
    if ref.norm:
        call.ctx.downloaded.add(ref.norm)


@rule("wget")
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
        sends(call, host, "sends data")
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


@rule("nc", "ncat", "netcat", "socat", "telnet")
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
        sends(call, host, "pipes data", from_stdin=True)
    elif is_loopback(host):
        call.add(Risk.MEDIUM, f"talks to the local port {host}")
    else:
        call.add(Risk.MEDIUM, f"opens a raw connection to {host or '(unknown)'}")


@rule("ssh")
def rule_ssh(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "-i", "-l", "-o", "-F", "-L", "-R", "-D",
                                            "-J", "-W", "-b", "-c", "-E", "-e", "-m", "-O",
                                            "-Q", "-S", "-w", "-B", "-I"})
    host = host_of(operands[0]) if operands else None
    if call.stdin is not None and call.stdin.tags - {"literal"}:
        sends(call, host, "pipes local data over ssh", from_stdin=True)
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


@rule("scp", "rsync", "sftp")
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
        sends(call, host, "copies local files")
        return
    for source in sources:
        if not _remote_arg(source):
            call.read(source)
    if "--delete" in opts or any(o.startswith("--delete") for o in opts):
        call.delete(dest.rstrip("/") + "/" + FOUND, recursive=True, verb="rsync --delete removes")
    if "--remove-source-files" in opts:
        for source in sources:
            call.delete(source, recursive=True, verb="removes copied source")
    call.write(dest, truncate=False, verb="copies into")


@rule("mail", "mailx", "sendmail", "mutt")
def rule_mail(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-s", "-a", "-A", "-c", "-b", "-r", "-f"})
    for path in opts.get("-a", []) + opts.get("-A", []):
        call.read(path)
    host = operands[0].split("@")[-1] if operands else None
    if call.stdin is not None or opts.get("-a") or opts.get("-A"):
        sends(call, host, "mails local data", from_stdin=True)
    else:
        call.add(Risk.MEDIUM, "sends mail")


@rule("openssl")
def rule_openssl(call: Call) -> None:
    sub = call.args[0] if call.args else ""
    opts, operands = parse_opts(call.args[1:], {"-in", "-out", "-connect", "-key", "-inkey",
                                                "-pass", "-passin", "-passout", "-servername"})
    if sub == "s_client":
        target = " ".join(opts.get("-connect", [])) or (operands[0] if operands else "")
        host = host_of(target)
        call.out.tags.add("network")
        if call.stdin is not None and call.stdin.tags - {"literal"}:
            sends(call, host, "pipes data over TLS", from_stdin=True)
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


__all__ = ["rule_copy_remote", "rule_curl", "rule_mail", "rule_netcat", "rule_openssl",
           "rule_ssh", "rule_wget"]
