"""The `sqlite3` shell, judged by its real grammar: its options (single or double dash, anywhere
on the line), each SQL argument, `-cmd`, and stdin read line by line as the shell reads them.

LOW means provably read-only: every statement is a SELECT (or a reading PRAGMA) calling only
known pure functions (the shell's own `writefile()`, `readfile()`, `load_extension()`, `edit()`,
`fsdir()`, `sha3_query()` write or read any file, run code or run SQL, `-readonly` or not) and
every dot-command is a reading one (`.tables`, `.schema`, `.mode`, ...). Anything else is MEDIUM
at least, and what can be seen is judged as the effect it has: `.shell`/`.system` and `|cmd`
file names run their command, `.output`/`.once`/`.backup`/`.save`/`.log` and `writefile()`,
`ATTACH`, `VACUUM INTO` write their file, `.import`/`.read`/`.load`/`readfile()` read theirs.
The shell also runs `~/.sqliterc` (of the passwd home) on every start: a write there is judged
as any write to the home directory.
"""

from __future__ import annotations

import re
import shlex

from sre_agent.safety.call import Call
from sre_agent.safety.effects import destructive
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import UNKNOWN

_SQL_TOKEN = re.compile(r"""(?P<skip>[ \t\n\r\f\v]+|--[^\n]*|/\*.*?(?:\*/|\Z))
  |(?P<str>'(?:[^']|'')*')
  |(?P<qid>"(?:[^"]|"")*"|\[[^\]]*\]|`(?:[^`]|``)*`)
  |(?P<word>[A-Za-z_\x80-\U0010ffff][\w$\x80-\U0010ffff]*)
  |(?P<num>[0-9][\w.]*|\.[0-9]\w*)
  |(?P<var>[?:@$][\w$]*)
  |(?P<op>[;(),.+\-*/%<>=!|&~])""", re.S | re.X)
_SQL_READ_FUNCTIONS = frozenset("""
ABS AVG CHAR COALESCE CONCAT CONCAT_WS COUNT CUME_DIST DATE DATETIME DENSE_RANK FIRST_VALUE FORMAT
GLOB GROUP_CONCAT HEX IFNULL IIF INSTR JSON JSON_ARRAY JSON_ARRAY_LENGTH JSON_EACH JSON_EXTRACT
JSON_GROUP_ARRAY JSON_GROUP_OBJECT JSON_OBJECT JSON_QUOTE JSON_TREE JSON_TYPE JSON_VALID
JULIANDAY LAG LAST_VALUE LEAD LENGTH LIKE LOWER LTRIM MAX MIN NTH_VALUE NTILE NULLIF
OCTET_LENGTH PERCENT_RANK PRINTF QUOTE RANK REPLACE ROUND ROW_NUMBER RTRIM SIGN STRFTIME
STRING_AGG SUBSTR SUBSTRING SUM TIME TIMEDIFF TOTAL TRIM TYPEOF UNHEX UNICODE UNIXEPOCH UPPER
CEIL CEILING FLOOR LN LOG LOG10 LOG2 MOD POW POWER SQRT TRUNC SQLITE_VERSION
""".split())
_SQL_PAREN_KEYWORDS = frozenset("""
SELECT FROM WHERE AND OR NOT IN EXISTS AS ON JOIN USING VALUES OVER FILTER CAST CASE WHEN THEN
ELSE IS BETWEEN BY HAVING UNION ALL DISTINCT EXCEPT INTERSECT WITH RECURSIVE MATERIALIZED LIMIT
OFFSET PARTITION ESCAPE ROWS RANGE GROUPS AND
""".split())
_SQL_WRITES = frozenset("""
INSERT UPDATE DELETE REPLACE UPSERT DROP CREATE ALTER ATTACH DETACH VACUUM REINDEX ANALYZE PRAGMA
BEGIN COMMIT ROLLBACK SAVEPOINT RELEASE INTO
""".split())
_SQL_READ_PRAGMAS = frozenset("""
TABLE_INFO TABLE_XINFO TABLE_LIST INDEX_LIST INDEX_INFO INDEX_XINFO FOREIGN_KEY_LIST
FOREIGN_KEY_CHECK INTEGRITY_CHECK QUICK_CHECK DATABASE_LIST COMPILE_OPTIONS PAGE_COUNT PAGE_SIZE
FREELIST_COUNT JOURNAL_MODE USER_VERSION SCHEMA_VERSION DATA_VERSION ENCODING COLLATION_LIST
FUNCTION_LIST MODULE_LIST PRAGMA_LIST FOREIGN_KEYS AUTO_VACUUM BUSY_TIMEOUT
""".split())
_SQL_PRAGMA_ARGS = {"TABLE_INFO", "TABLE_XINFO", "INDEX_LIST", "INDEX_INFO", "INDEX_XINFO",
                    "FOREIGN_KEY_LIST", "FOREIGN_KEY_CHECK", "INTEGRITY_CHECK", "QUICK_CHECK",
                    "TABLE_LIST"}  # `PRAGMA x(arg)` names a table here; elsewhere it sets x
_DOT_READS = {"tables", "schema", "fullschema", "indexes", "indices", "databases", "dbinfo",
              "dump", "headers", "header", "mode", "width", "show", "help", "timer",
              "nullvalue", "separator", "print", "stats", "eqp", "bail", "echo", "changes"}
_DOT_ARG = re.compile(r"[\w*%?:,.-]+")
_SQLITE_FLAGS = {"-readonly", "-safe", "-bail", "-batch", "-header", "-noheader", "-echo",
                 "-box", "-column", "-csv", "-html", "-json", "-line", "-list", "-markdown",
                 "-quote", "-table", "-tabs", "-ascii", "-nofollow", "-stats", "-version",
                 "-help"}
_SQLITE_VALUES = {"-separator", "-newline", "-nullvalue", "-mmap", "-maxsize", "-escape"}


_DOT_WRITES = {"output", "once", "excel", "backup", "save", "log", "trace", "iotrace"}
_DOT_READS_FILE = {"import", "read", "load", "open", "restore"}
_DOT_KEEP = {"stdout", "stderr", "off", "on", "main"}


def _ascii_upper(word: str) -> str:
    """SQLite folds only ASCII case (`ſelect` is no SELECT to it)."""
    return word.upper() if word.isascii() else word


def _sql_effects(call: Call, tokens: list[tuple[str, str]]) -> None:
    """The files a statement names as literals: written (`writefile('f', ..)`, `ATTACH 'f'`,
    `VACUUM INTO 'f'`) or read (`readfile('f')`)."""
    words = [_ascii_upper(t) if kind == "word" else t for kind, t in tokens]
    for k, (kind, text) in enumerate(tokens):
        if kind != "str":
            continue
        path = text[1:-1].replace("''", "'")
        before = words[max(k - 2, 0):k]
        if before[-2:] == ["WRITEFILE", "("] or before[-1:] == ["INTO"] and "VACUUM" in words:
            call.write(path)
        elif before[-1:] == ["ATTACH"] or before[-2:] == ["ATTACH", "DATABASE"]:
            call.write(path, truncate=False, verb="attaches (creating it if missing)")
        elif before[-2:] == ["READFILE", "("]:
            call.read(path)


def _sql_statement_reason(tokens: list[tuple[str, str]]) -> str | None:
    """Why one statement (no `;`) is not provably read-only; None when it is."""
    first = _ascii_upper(tokens[0][1])
    words = [_ascii_upper(t) for kind, t in tokens if kind == "word"]
    if first == "PRAGMA":
        names = [w for w in words[1:] if w in _SQL_READ_PRAGMAS]
        rest = [t for _, t in tokens[1:]]
        if len(names) != 1 or "=" in rest or "(" in rest and names[0] not in _SQL_PRAGMA_ARGS \
                or len(rest) > 8:
            return f"PRAGMA that may set a value ({' '.join(rest)[:40]})"
        return None
    if first not in ("SELECT", "WITH", "VALUES", "EXPLAIN"):
        return f"{first[:20]} statement"
    for (kind, text), after in zip(tokens, [*tokens[1:], ("", "")], strict=True):
        name = _ascii_upper(text[1:-1] if kind == "qid" else text)
        if after[1] == "(" and kind in ("word", "qid"):
            if kind == "word" and name in _SQL_PAREN_KEYWORDS or name in _SQL_READ_FUNCTIONS \
                    or name.startswith("PRAGMA_") and name.isascii():
                continue
            return f"calls {text[:30]}() (may write or read any file, run code or SQL)"
        if kind == "word" and name in _SQL_WRITES:
            return f"{name} in a statement"
    return None


def _dot_reason(call: Call, line: str) -> str | None:
    """Why a dot-command line is not a reading one; None when it is. Its effects are judged."""
    words = line[1:].split()
    name = words[0] if words else ""
    try:
        args = shlex.split(line[1:])[1:]
    except ValueError:
        return f"dot-command .{name[:20]} with unbalanced quotes"
    if name in ("shell", "system"):
        call.run_script(" ".join(args))
    for arg in args:
        if arg.startswith("|") and name in _DOT_WRITES | _DOT_READS_FILE:  # `.once '|cmd'`
            call.run_script(arg[1:])
        elif name in _DOT_WRITES and not arg.startswith("-") and arg not in _DOT_KEEP:
            call.write(arg)
        elif name in _DOT_READS_FILE and not arg.startswith("-"):
            call.read(arg)
    if name not in _DOT_READS or "\n" in line or "\r" in line:
        return f"dot-command .{name[:20]}"
    if not all(_DOT_ARG.fullmatch(w) for w in words[1:]):
        return f"dot-command .{name} with quoted or unusual arguments"
    return None


def _script_reason(call: Call, text: str) -> str | None:
    """What the shell runs from one argument or from stdin, in one pass, as it reads it: a line
    that starts with `.` (or `#`) while no SQL is pending is a dot-command (or a comment); SQL
    stays pending until a line ends with its last token a `;`."""
    reasons: list[str | None] = []
    statement: list[tuple[str, str]] = []
    pending, last, pos = False, "", 0
    while pos < len(text):
        if not pending and (pos == 0 or text[pos - 1] == "\n") and text[pos] in ".#":
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            if text[pos] == ".":
                reasons.append(_dot_reason(call, text[pos:end]))
            pos = end + 1
            continue
        m = _SQL_TOKEN.match(text, pos)
        if m is None:
            reasons.append("SQL that cannot be tokenised")
            break
        pos, token = m.end(), (m.lastgroup or "", m.group())
        if token[0] == "skip":
            pending = pending and not ("\n" in token[1] and last == ";")
            continue
        pending, last = True, token[1]
        if token[1] != ";":
            statement.append(token)
        elif statement:
            _sql_effects(call, statement)
            reasons.append(_sql_statement_reason(statement))
            statement = []
    if statement:  # the last statement needs no `;`
        _sql_effects(call, statement)
        reasons.append(_sql_statement_reason(statement))
    return next((r for r in reasons if r), None)


@rule("sqlite3")
def rule_sqlite(call: Call) -> None:
    args, i = call.args, 0
    positional: list[str] = []
    scripts: list[str] = []
    reasons: list[str] = []
    while i < len(args):
        arg = args[i]
        opt = arg[1:] if arg.startswith("--") and len(arg) > 2 else arg
        i += 1
        if UNKNOWN in arg:  # `$DB` may be `-init evil.sql db`
            reasons.append("an argument known only at run time (it may be an option)")
        if not arg.startswith("-"):
            positional.append(arg)
        elif opt in _SQLITE_FLAGS:
            continue
        elif opt in _SQLITE_VALUES and i < len(args):
            i += 1
        elif opt == "-cmd" and i < len(args):
            scripts.append(args[i])
            i += 1
        elif opt == "-init" and i < len(args):
            call.read(args[i])
            reasons.append("runs an init script file")
            i += 1
        else:
            reasons.append(f"option {arg[:20]}")
    if positional:
        call.read(positional[0])
        if positional[0].startswith("file:"):
            reasons.append("opens a database by URI (its parameters are not judged)")
    scripts += positional[1:]
    stdin = call.stdin
    if stdin is not None and stdin.text is not None:
        scripts.append(stdin.text.decode("utf-8", "replace"))
    elif len(positional) < 2:
        reasons.append("runs statements read from stdin" if stdin is not None else
                       "opens a data-store session")
    reasons += [r for r in (_script_reason(call, s) for s in scripts) if r]
    if destructive(call, " ; ".join(scripts)):
        return
    for reason in reasons:
        call.add(Risk.MEDIUM, f"not provably read-only: {reason}")
    if not reasons:
        call.low("read-only query")


__all__ = ["rule_sqlite"]
