"""Rules for data stores: SQL shells (psql, mysql, ...), key-value CLIs (etcdctl, consul), and
`redis-cli`/`valkey-cli` judged by its real grammar (`sqlite3` has its own module, `sqlite`).

Destructive statements are HIGH, changes MEDIUM, reads LOW. A `redis-cli` line is LOW only when
provably read-only: commands on the read list (`KEYS` is not on it: it blocks a large server
while it walks every key; `SCAN`/`--scan` are), without repeats (`-r`), stdin arguments
(`-x`/`-X`) or raw input (`--pipe`), not the commands that stream until interrupted
(`MONITOR`, `SUBSCRIBE`), and no option value that could split into more words at run time.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.effects import destructive
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import UNKNOWN

_READ_SQL = re.compile(r"^\s*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN|\\[a-z]+|INFO|PING|GET|KEYS|"
                       r"SCAN|TYPE|TTL|DBSIZE|EXISTS|HGET\w*|LRANGE|SMEMBERS|ZRANGE|"
                       r"db\.\w+\.find|db\.stats|db\.getCollectionNames|"
                       r"PRAGMA\s+(integrity_check|table_info))\b", re.I)
_SQL_FLAGS = {"-c", "--command", "-e", "--execute", "--eval", "-q", "--query", "-Q"}
# a SELECT that writes a file or table, reads server files, runs SQL text, kills or waits: not
# LOW (a list of what is known, not a proof: the proof is sqlite's allowlist, `rules.sqlite`)
_NOT_READ_SQL = re.compile(
    r"\bINTO\b|\b(FROM|JOIN)\s+'|\b(lo_\w+|pg_read_\w*file|pg_ls_\w+|pg_stat_file|pg_file_\w+|"
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal|"
    r"pg_promote|pg_create_\w+|pg_drop_\w+|pg_advisory\w*|pg_notify|pg_sleep\w*|set_config|"
    r"nextval|setval|dblink\w*|query_to_xml\w*|load_file|sys_exec|sys_eval|sleep|benchmark|"
    r"read_\w+|glob|\w+_scan|sniff_csv)[\"`]?(\s|/\*.*?\*/)*\(", re.I | re.S)
_META = re.compile(r"\\([A-Za-z]+\+?|[^A-Za-z\s])")
_READ_META = re.compile(r"d[A-Za-z]*\+?|l\+?|list\+?|conninfo|x|timing|\?|h|help|q|s[fv]\+?|"
                        r"z|G|encoding|pset|echo")


@rule("clickhouse-client", "consul", "cqlsh", "dropdb", "dropuser", "duckdb", "etcdctl", "influx",
      "mariadb", "mongo", "mongosh", "mysql", "mysqladmin", "psql", "sqlcmd")
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
    if name == "cqlsh" and operands:
        statements.append(" ".join(operands))
    if name in ("etcdctl", "consul"):
        statements.append(" ".join(call.args))
    if name == "duckdb":
        statements.extend(operands[1:])  # each argument runs on its own (`.shell` is one)
        if operands:
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
    elif destructive(call, text):
        pass
    elif m := _NOT_READ_SQL.search(text):
        call.add(Risk.MEDIUM, f"not provably read-only ({m.group(0)[:30]})")
    elif bad := [x for x in _META.findall(text) if not _READ_META.fullmatch(x)]:
        call.add(Risk.MEDIUM, f"client command \\{bad[0]} (writes files, runs commands or SQL)")
    elif statements and all(_READ_SQL.match(s) for st in statements
                            for s in re.split(r";\s*", st) if s.strip()):
        call.low("read-only query")
    elif statements:
        call.add(Risk.MEDIUM, "changes data in a data store")
    elif call.stdin is not None:
        call.add(Risk.MEDIUM, "runs statements read from stdin")
    else:
        call.add(Risk.MEDIUM, "opens a data-store session")


# -- redis-cli ------------------------------------------------------------------------------

_REDIS_READ = frozenset("""
PING ECHO INFO DBSIZE TIME LASTSAVE ROLE TYPE TTL PTTL EXPIRETIME PEXPIRETIME EXISTS GET MGET
STRLEN GETRANGE SUBSTR GETBIT BITCOUNT BITPOS BITFIELD_RO LCS HGET HMGET HGETALL HKEYS HVALS HLEN
HEXISTS HSTRLEN HSCAN HRANDFIELD LLEN LRANGE LINDEX LPOS SCARD SMEMBERS SISMEMBER SMISMEMBER
SRANDMEMBER SSCAN SINTER SUNION SDIFF SINTERCARD ZCARD ZCOUNT ZLEXCOUNT ZRANGE ZRANGEBYSCORE
ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZREVRANGEBYLEX ZRANK ZREVRANK ZSCORE ZMSCORE ZSCAN
ZRANDMEMBER ZINTER ZUNION ZDIFF ZINTERCARD XLEN XRANGE XREVRANGE XPENDING GEOPOS GEODIST GEOHASH
GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH SORT_RO SCAN RANDOMKEY COMMAND
""".split())
_REDIS_READ_SUB = {
    "CONFIG": {"GET", "HELP"}, "SLOWLOG": {"GET", "LEN", "HELP"},
    "CLIENT": {"LIST", "INFO", "GETNAME", "ID", "HELP", "TRACKINGINFO", "GETREDIR"},
    "MEMORY": {"USAGE", "STATS", "DOCTOR", "MALLOC-STATS", "HELP"},
    "OBJECT": {"ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP"},
    "CLUSTER": {"INFO", "NODES", "SLOTS", "SHARDS", "MYID", "MYSHARDID", "KEYSLOT", "LINKS",
                "COUNTKEYSINSLOT", "GETKEYSINSLOT", "REPLICAS", "COUNT-FAILURE-REPORTS", "HELP"},
    "COMMAND": {"COUNT", "DOCS", "INFO", "LIST", "GETKEYS", "GETKEYSANDFLAGS", "HELP"},
    "LATENCY": {"LATEST", "HISTORY", "DOCTOR", "GRAPH", "HISTOGRAM", "HELP"},
    "XINFO": {"STREAM", "GROUPS", "CONSUMERS", "HELP"},
    "PUBSUB": {"CHANNELS", "NUMSUB", "NUMPAT", "SHARDCHANNELS", "SHARDNUMSUB", "HELP"},
    "FUNCTION": {"LIST", "STATS", "HELP"}, "SCRIPT": {"EXISTS", "HELP"},
    "MODULE": {"LIST", "HELP"}, "ACL": {"WHOAMI", "CAT", "HELP"},
}
_REDIS_STREAMS = {"MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "SYNC", "PSYNC"}
_REDIS_FLAGS = {"-c", "-e", "-2", "-3", "-4", "-6", "--tls", "--insecure", "--raw", "--no-raw",
                "--csv", "--json", "--quoted-json", "--no-auth-warning", "--verbose", "--askpass",
                "--help", "--version", "-v"}
_REDIS_VALUES = {"-h", "-p", "-s", "-a", "-u", "-n", "-t", "-d", "-D", "--user", "--pass",
                 "--sni", "--cacertdir", "--tls-ciphers", "--tls-ciphersuites", "--show-pushes",
                 "--pattern", "--quoted-pattern", "--count", "--memkeys-samples", "--cursor"}
_REDIS_FILES = {"--cacert", "--cert", "--key", "--rdb", "--functions-rdb", "--eval"}
_REDIS_WALKS = {"--scan", "--bigkeys", "--memkeys", "--hotkeys", "--keystats"}
_REDIS_NOT_LOW = {  # option -> (takes a value, why it is not LOW)
    "-r": (True, "repeats the command"), "-i": (True, "repeats the command at an interval"),
    "-x": (False, "takes the last argument from stdin"),
    "-X": (True, "takes a tagged argument from stdin"),
    "--quoted-input": (False, "unquotes its arguments (escapes can spell any command)"),
    "--pipe": (False, "sends raw protocol read from stdin"), "--pipe-timeout": (True, ""),
    "--stat": (False, "streams server stats until interrupted"),
    "--latency": (False, "samples latency until interrupted"),
    "--latency-history": (False, "samples latency until interrupted"),
    "--latency-dist": (False, "samples latency until interrupted"),
    "--intrinsic-latency": (True, "runs a latency test"),
    "--replica": (False, "streams the replication feed"),
    "--slave": (False, "streams the replication feed"),
    "--lru-test": (True, "writes a simulated cache workload"),
    "--ldb": (False, "debugs a Lua script"), "--ldb-sync-mode": (False, "debugs a Lua script"),
    "--cluster": (False, "runs a cluster management command"),
}
_DQ_WORD = re.compile(r'"(?:[^"\\`$]|\\.|\$\([^"`()]*\)|\$\{?\w+\}?)*"')
_REDIS_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_|-]*")


def _redis_command(words: list[str]) -> tuple[Risk, str]:
    """One redis command (already split into words): LOW only when on the read list."""
    verb = words[0].upper() if _REDIS_WORD.fullmatch(words[0]) else ""
    sub = words[1].upper() if len(words) > 1 and _REDIS_WORD.fullmatch(words[1]) else ""
    if verb in _REDIS_READ or sub in _REDIS_READ_SUB.get(verb, ()):
        return Risk.LOW, f"{verb} {sub}".strip() if verb in _REDIS_READ_SUB else verb
    if verb == "KEYS":
        return Risk.MEDIUM, "KEYS blocks the server while it walks every key (use SCAN)"
    if verb in _REDIS_STREAMS:
        return Risk.MEDIUM, f"{verb} streams until interrupted"
    if verb in ("FLUSHALL", "FLUSHDB", "SHUTDOWN", "SLAVEOF", "REPLICAOF") or verb == "DEBUG" \
            or (verb, sub) in {("CONFIG", "SET"), ("MODULE", "LOAD"), ("MODULE", "LOADEX")}:
        return Risk.HIGH, f"{verb} {sub}".strip()
    return Risk.MEDIUM, f"{verb or 'an unrecognised command'} changes data in a data store"


def _one_field(call: Call, index: int) -> bool:
    """`call.args[index]` comes from a wholly double-quoted word: one field, whatever its
    run-time value (`-p "$(sed ...)"`); unquoted, `$P` may split into more words."""
    words = call.command.words if call.command is not None else []
    return len(words) == len(call.argv) and bool(_DQ_WORD.fullmatch(words[index + 1]))


@rule("redis-cli", "valkey-cli")
def rule_redis(call: Call) -> None:
    args, i, walks = call.args, 0, []
    found: list[tuple[Risk, str]] = []
    known = _REDIS_FLAGS | _REDIS_VALUES | _REDIS_FILES | _REDIS_WALKS | set(_REDIS_NOT_LOW)
    while i < len(args) and args[i].startswith("-"):  # options end at the first command word
        opt = args[i]
        takes = opt in _REDIS_VALUES | _REDIS_FILES or _REDIS_NOT_LOW.get(opt, (False, ""))[0]
        if opt not in known or takes and i + 1 == len(args):
            break  # redis-cli refuses it; judged below as a command word (not LOW)
        value = args[i + 1] if takes else ""
        if UNKNOWN in value and not _one_field(call, i + 1):  # H='x FLUSHALL' in `-h $H INFO`
            found.append((Risk.MEDIUM, f"{opt} takes a value known only at run time"))
        if opt in ("--rdb", "--functions-rdb"):
            call.write(value, verb="dumps the database into")
        elif opt in _REDIS_FILES:
            call.read(value)
        if opt == "--eval":
            found.append((Risk.MEDIUM, "runs a Lua script"))
        elif opt in _REDIS_NOT_LOW:
            found.append((Risk.MEDIUM, _REDIS_NOT_LOW[opt][1] or opt))
        elif opt in _REDIS_WALKS:
            walks.append(opt)
        i += 2 if takes else 1
    command = args[i:]
    if command:
        found.append(_redis_command(command))
    texts = [" ".join(command)]
    if call.stdin is not None and call.stdin.text is not None:  # each line is a command
        texts.append(call.stdin.text.decode("utf-8", "replace"))
        found.extend(_redis_command(line.split()) for line in texts[-1].splitlines()
                     if line.split())
    elif call.stdin is not None and not command and not walks:
        found.append((Risk.MEDIUM, "runs commands read from stdin"))
    if not found and not walks:
        found.append((Risk.MEDIUM, "opens a data-store session"))
    if destructive(call, " ; ".join(texts)):
        return
    for risk, reason in found:
        if risk != Risk.LOW:
            call.add(risk, reason)
    if any(reason.startswith("CONFIG") for _, reason in found):
        call.out.tags.add("secret")  # `CONFIG GET *` prints requirepass and masterauth
    if all(risk == Risk.LOW for risk, _ in found):
        reads = sorted({reason for _, reason in found} | set(walks))
        call.low(f"read-only ({', '.join(reads)})")


__all__ = ["rule_data_store", "rule_redis"]
