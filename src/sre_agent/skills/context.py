"""Contextual rules: concepts a text implies by what it names together, not by one string.

A connection failure or a stopped process named together with a backing service (a cache, a
key-value store, a database, by product or by role) is that dependency being down, not a port
or a slowness problem; an UPPER_SNAKE name said to be missing is an environment variable; a
configuration format that fails to load is a syntax error; two different ports for one service
are a port mismatch. One UPPER_SNAKE variable given two values in one file is defined twice
(the later wins); reads that work while writes fail are read-only data.
"""

from __future__ import annotations

import re

WORD_RE = re.compile(r"[a-z0-9]+")

# A backing service, by product, by role or by its usual port.
_BACKING_WORDS = frozenset(
    "redis valkey keydb memcache memcached kv cache caches postgres postgresql mysql mysqld "
    "mariadb mongo mongodb database db dependency keyvalue datastore caching pg psycopg2 "
    "pymongo pymysql rabbit rabbitmq amqp cassandra etcd".split()
)
_BACKING_RE = re.compile(
    r"key[-/ ]?value|sessions? store|backing (?:store|service)|backend store|upstream store|"
    r"(?:backend )?storage component|"
    r"store (?:\w+ ){0,3}behind|data store|storage service|"
    r"(?::|port )(?:6379|11211|5432|3306|27017|5672|7777|9042|2379)\b"
)
_FAILURE_WORDS = frozenset(
    "refused refuse unreachable timeout stopped exited dead down crashed unavailable killed "
    "econnrefused etimedout econnreset ehostunreach".split()
)
_FAILURE_RE = re.compile(
    r"not reachable|timed out|time-out|no route to host|connection reset|reset by peer|"
    r"not responding|no longer answering|not answering|inactive \(dead\)|not running|"
    r"went away|didn't come back|closed the connection|never restarted|not restarted|"
    r"didn't restart|cannot connect|can't (?:talk|connect)|"
    r"could not connect|cannot reach|can't reach|_up ?== ?0|(?:switched|turned) off|"
    r"brought (?:it )?back|_up (?:is|==|=) ?0\b"
)
# An exporter's alert name for a backing service that is down (`MongodbDown`, `PostgresDown`).
_BACKING_DOWN_RE = re.compile(
    r"(?:redis|valkey|memcached|postgres(?:ql)?|pg|mysql|mariadb|mongo(?:db)?|rabbitmq|cassandra|etcd)"
    r"(?:instance)?"
    r"(?:down|unreachable)\b")
# A backing service that answers with an error (memory, persistence, credentials, locks) is up.
_ANSWERS_RE = re.compile(
    r"out of memory(?!.{0,20}kill)|\boom\b(?! ?kill)|maxmemory|memory (?:is )?full|misconf|"
    r"wrongpass|noauth|password|"
    r"read-?only|locked|persist|memory limit|limit of (?:the )?memory|"
    r"reached (?:its |the )?(?:memory|limit)|database busy|ceiling|"
    r"(?:redis|valkey|memcached|cache|postgres\w*|mysql|database|db)\b(?: itself)?(?: is| was)? "
    r"(?:running|up\b|working|healthy|fine\b)|pong\b|"
    r"redis-cli\b[^\n]*\n\s*1\) |"  # redis-cli printing a list: the store answers
    r"data corruption"  # a store reporting its data corrupt is up (masks.py)
)
# "down" that is a direction, not a state.
_NOT_DOWN_RE = re.compile(r"\b(?:further|lower|way|scroll(?:ed)?|farther) down\b|"
                          r"\bdown (?:below|the (?:file|page|list))\b")
DEPENDENCY_CONCEPT = "dependency down not reachable"
# Concepts a down dependency explains: they would point at a port or a slowness instead.
_EXPLAINED_BY_DEPENDENCY = frozenset({"connection refused", "timed out slow"})
# The cache said to run while the app waits for it or is refused: the cache is up, the app
# looks for it elsewhere (another port if the text shows two, else another address).
_CACHE_RUNS_RE = re.compile(r"(?:redis|valkey|keydb|cache)\w*\b(?:(?!not\b|n't|never\b|no\b|\. )"
                            r"[^;\n]){0,25}?(?<![-/])\b(?:is |was )?(?:running|up)\b(?! to\b)")
_APP_WAITS_RE = re.compile(r"waiting (?:for|on)|waits (?:for|on)|refused|cannot reach|can't reach|"
                           r"not reachable|unreachable|stalled|stuck")
# The cache answering: its exporter's `redis_up 1`, `redis-cli ping` answering PONG.
_CACHE_ANSWERS_RE = re.compile(r"\bpong\b|\b(?:redis|valkey|keydb|cache)_up\W{0,4}(?:is )?1\b")
_CACHE_WORDS = frozenset("redis valkey keydb cache".split())
# A port is the cache's when a cache word comes shortly before it on its line.
_CACHE_NEAR_RE = re.compile(r"(?:redis|valkey|keydb|cache)[^\n]{0,70}$")
CACHE_ELSEWHERE_ADDRESS = "cache name resolves to the wrong address"
CACHE_ELSEWHERE_PORT = "different cache port wrong cache port"
# A cache said to be stopped explains the app's failed liveness checks (it waits for the cache).
_CACHE_STOPPED_RE = re.compile(r"(?:redis|valkey|keydb|cache)\w*:?\s+(?:is |was )?(?:stopped|down|"
                               r"not running|exited|dead)\b")
# The app or the worker still starting (a supervisor's status) while the cache is stopped:
# their start-up waits for it.
_CLIENT_STARTING_RE = re.compile(r"\b(?:app|api|worker|web)\w*\s+starting\b")
_WAITING_CONCEPT = "stuck waiting at start up"
_LIVENESS_CONCEPT = "liveness probe killed while warming up"
# A runtime out of memory while the process is given a memory limit by a setting (a variable
# such as `WORKER_MEMORY_MB`, or a limit written in its env file): the setting starves it.
_RUNTIME_OOM_RE = re.compile(r"memoryerror|outofmemoryerror|runtime: out of memory|"
                             r"cannot allocate memory|javascript heap out of memory|"
                             r"(?:memory limit|process supervision setting)\s+(?:\d+ ?[mg]i?b\s+)?"
                             r"(?:reached|exceeded|hit)\b")  # (masks.py reads the latter)
_MEMORY_SETTING_RE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_MEM(?:ORY)?(?:_[A-Z0-9]+)*\b|"
                                r"process supervision setting")
MEMORY_SETTING_CONCEPT = "supervision limit setting starves the app crash loop"
# A health body naming a backing service as down (`{"status":"error","db":"down"}`): the check
# fails because of the dependency, not because of the probe.
_HEALTH_DEPENDENCY_DOWN_RE = re.compile(
    r"\"(?:kv|redis|valkey|cache|db|database|postgres\w*|mysql|mongo\w*|store|memcached)\" ?: ?"
    r"\"(?:down|error|unreachable|fail\w*|disconnected|timeout)\"")
_EXPLAINED_BY_GC = frozenset({"high latency slow response", "timed out slow"})
# A job that crashes the worker explains the JSON parse error of its payload.
_POISON_CONCEPT = "poison job queue worker crash"
_PAYLOAD_PARSE = frozenset({"json config parse error syntax error", "config file syntax error"})
_METASTABLE_CONCEPT = "retry storm metastable"
# A database busy with another writer explains its clients' time-outs.
_BUSY_CONCEPT = "database busy concurrent writer"

# An UPPER_SNAKE name (a variable) said to be missing.
_VARIABLE_RE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|KeyError: ['\"][A-Z][A-Z0-9_]+")
_MISSING_RE = re.compile(
    r"missing|not set|unset|undefined|not defined|required|must be (?:set|provided|defined|given)"
    r"|not provided|not given|not found|can't find|cannot find|could not find|empty|blank|"
    r"never set|not present|absent|please define|placeholder|not exist|keyerror|wants an env|"
    r"(?:isn't|is not|not|no longer) mounted|gone from|asking for|asks? for|lacks?\b|lacking|"
    r"not in (?:the )?env(?:ironment)?\b|"
    r"lost (?:a|the|its) line|(?:is |isn't |is not |not )there\b"
)
# One variable assigned two different values (an env file, a manifest), or counted twice.
# (`alerts.routing_text` reads `KEY=value` as `KEY value`: a number or a path counts too.)
# A file name before it (grep over several files: `a.env:KEY=1 b.env:KEY=2`) keeps them apart.
_ASSIGN_RE = re.compile(r"(?:([\w./-]*[a-z][\w./-]*):(?:\d+:)? ?)?"
                        r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:\s*=\s*['\"]?|[ \t]+['\"]?(?=[0-9/]))"
                        r"([^\s'\",;)]+)")
_MANIFEST_ENV_RE = re.compile(
    r"name: ['\"]?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['\"]?\s+value: ['\"]?([^\s'\"]+)")
_COUNTED_TWICE_RE = re.compile(
    r"grep -c\b[^\n]*?\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b[^\n]*?\s([2-9])\b|"
    r"grep -c\b[^\n]*?\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b[^\n]*\n\s*([2-9])\s*(?:\n|$)")
_SNAKE_RE = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+")  # a cheap first look for a repeated name
DUPLICATE_CONCEPT = "duplicate variable defined twice"
# Reads work while writes fail: something made the data read-only.
_READS_WORK_RE = re.compile(r"(?:reads?|reading|selects?|old \w+)\b[^.;\n]{0,30}\b"
                            r"(?:works?|fine|ok\b|succeed\w*|still load)")
_WRITES_FAIL_RE = re.compile(r"(?:writes?|writing|inserts?|new \w+|sav(?:e|es|ing))\b"
                             r"[^.;\n]{0,30}\b(?:fail\w*|errors?|denied|rejected)")
_CONFIG_FORMAT_WORDS = frozenset("yaml yml json toml ini hcl".split())
_LOAD_FAILURE_RE = re.compile(
    r"broken|invalid|error|fail|won't load|can't read|cannot read|unable to (?:load|read|parse)|"
    r"not load|rejected"
)
# A file that cannot be opened at all is not a file that does not parse.
_NOT_SYNTAX_RE = re.compile(r"permission denied|eacces|no such file|enoent|no space left|enospc")
# openssl's `notAfter=Nov 30 23:59:59 2026 GMT` and a later clock in the same text (`date`'s
# `Wed Dec  2 10:04:11 UTC 2026`, an ISO timestamp): the certificate has expired.
_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_NOT_AFTER_RE = re.compile(r"notafter[=: ]+([a-z]{3}) +(\d{1,2}) (\d\d:\d\d:\d\d) (\d{4})")
_DATE_RE = re.compile(r"(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) +(\d{1,2}) (\d\d:\d\d:\d\d) "
                      r"[a-z]{2,5} (\d{4})|(\d{4})-(\d\d)-(\d\d)[t ](\d\d:\d\d:\d\d)")
EXPIRED_CONCEPT = "ssl certificate expired https"
_PORT_RE = re.compile(
    r"(?:port[ =]|port: |:|on |uses |expects? |to |targets? |bound (?:to )?|binds |"
    r"[ ,;(]clients? |[ ,;(]checks? )(\d{4,5})\b(?!:\d)"  # not a stack frame's file:line:col
)
_CLI_PORT_RE = re.compile(r"-cli\b[^\n]*?\s-p (\d{4,5})\b")  # redis-cli -p 6380



# A dependency down explains its clients' refused connections, and a proxy's refused upstream
# (the app waits for it): those strings would point at a port or the proxy's upstream.
_REFUSED_TEXT_RE = re.compile(
    r"\bconnect\(\) failed \(111: Connection refused\) while connecting to upstream\b|"
    r"\bECONNREFUSED\b|\bConnection refused\b|\bError 111\b", re.IGNORECASE)


def explained_text(text: str, concepts: list[str]) -> str:
    """The text with the strings its concepts explain replaced by that explanation."""
    if DEPENDENCY_CONCEPT in concepts:
        return _REFUSED_TEXT_RE.sub(" ", text)
    return text


def context_concepts(text: str, lowered: str, words: set[str],
                     concepts: list[str]) -> list[str]:
    """The signatures' concepts of a text, corrected and completed by the rules above."""
    backing = not _BACKING_WORDS.isdisjoint(words) or bool(_BACKING_RE.search(lowered))
    if "down" in words and _NOT_DOWN_RE.search(lowered):  # "further down the file"
        lowered = _NOT_DOWN_RE.sub(" ", lowered)
        words = set(WORD_RE.findall(lowered))
    if ((backing and (not _FAILURE_WORDS.isdisjoint(words) or _FAILURE_RE.search(lowered))
            or _BACKING_DOWN_RE.search(lowered)) and not _ANSWERS_RE.search(lowered)):
        concepts = [c for c in concepts if c not in _EXPLAINED_BY_DEPENDENCY]
        concepts.append(DEPENDENCY_CONCEPT)
    if _RUNTIME_OOM_RE.search(lowered) and _MEMORY_SETTING_RE.search(text):
        concepts = [c for c in concepts if not c.startswith("redis memory")]
        concepts.append(MEMORY_SETTING_CONCEPT)
    if "garbage collection pause" in lowered:  # the runtime's pauses explain its latency
        concepts = [c for c in concepts if c not in _EXPLAINED_BY_GC]
    if DEPENDENCY_CONCEPT in concepts and _HEALTH_DEPENDENCY_DOWN_RE.search(lowered):
        concepts = [c for c in concepts if c != "readiness probe not ready"]
    if _POISON_CONCEPT in concepts:  # the job's payload does not parse, not a config file
        concepts = [c for c in concepts if c not in _PAYLOAD_PARSE]
    if _METASTABLE_CONCEPT in concepts:  # the retries keep the latency up after the trigger
        concepts = [c for c in concepts if c not in _EXPLAINED_BY_GC]
    if _BUSY_CONCEPT in concepts:
        concepts = [c for c in concepts if c != "timed out slow"]
    if _assigned_twice(text):
        # The later definition wins: what looks like a dependency down is the wrong value.
        concepts = [c for c in concepts if c != DEPENDENCY_CONCEPT]
        concepts.append(DUPLICATE_CONCEPT)
    if _READS_WORK_RE.search(lowered) and _WRITES_FAIL_RE.search(lowered):
        concepts.append("read only not writable")
    if _VARIABLE_RE.search(text) and _MISSING_RE.search(lowered):
        concepts.append("missing required environment variable")
    if (not _CONFIG_FORMAT_WORDS.isdisjoint(words) and _LOAD_FAILURE_RE.search(lowered)
            and not _NOT_SYNTAX_RE.search(lowered)):
        concepts.append("config file syntax error")
    if "notafter" in lowered and _expired_by_the_clock_shown(lowered):
        concepts.append(EXPIRED_CONCEPT)
    found = list(_PORT_RE.finditer(lowered)) + list(_CLI_PORT_RE.finditer(lowered))
    ports = {m.group(1) for m in found}
    cache = not _CACHE_WORDS.isdisjoint(words)
    cache_ports = {m.group(1) for m in found if m.group(1) == "6379"
                   or _CACHE_NEAR_RE.search(lowered, max(0, m.start() - 70), m.start())}
    if (cache and (_CACHE_RUNS_RE.search(lowered) or _CACHE_ANSWERS_RE.search(lowered))
            and _APP_WAITS_RE.search(lowered)):
        concepts = [c for c in concepts
                    if c not in (DEPENDENCY_CONCEPT, _WAITING_CONCEPT, "connection refused")]
        concepts.append(CACHE_ELSEWHERE_PORT if len(cache_ports) >= 2 else CACHE_ELSEWHERE_ADDRESS)
    elif cache and len(cache_ports) >= 2 and DEPENDENCY_CONCEPT in concepts:
        concepts = [c for c in concepts if c != DEPENDENCY_CONCEPT]
        concepts.append(CACHE_ELSEWHERE_PORT)
    if (cache and DEPENDENCY_CONCEPT in concepts and _WAITING_CONCEPT not in concepts
            and _CACHE_STOPPED_RE.search(lowered) and _CLIENT_STARTING_RE.search(lowered)):
        concepts.append(_WAITING_CONCEPT)
    if (DEPENDENCY_CONCEPT in concepts and _LIVENESS_CONCEPT in concepts
            and (_CACHE_STOPPED_RE.search(lowered) or _WAITING_CONCEPT in concepts)):
        concepts.remove(_LIVENESS_CONCEPT)
    if (len(ports) >= 2 and DEPENDENCY_CONCEPT not in concepts
            and CACHE_ELSEWHERE_PORT not in concepts):
        concepts.append("wrong port different port")
    return concepts


def _assigned_twice(text: str) -> bool:
    """Whether one UPPER_SNAKE variable is given two different values, or counted twice."""
    if "_" not in text:
        return False
    if "grep -c" in text and _COUNTED_TWICE_RE.search(text):
        return True
    names = _SNAKE_RE.findall(text)
    if len(names) == len(set(names)):
        return False
    seen: dict[tuple[str, str], str] = {}
    pairs = _ASSIGN_RE.findall(text) + [("", *p) for p in _MANIFEST_ENV_RE.findall(text)]
    for where, name, value in pairs:
        if seen.setdefault((where, name), value) != value:
            return True
    return False


def _expired_by_the_clock_shown(lowered: str) -> bool:
    """Whether a certificate's notAfter is before a clock the same text shows."""
    ends = [(int(y), _MONTHS.get(mon, 0), int(d), t)
            for mon, d, t, y in _NOT_AFTER_RE.findall(lowered)]
    if not ends:
        return False
    clocks = []
    for mon, d, t, y, iy, im, idd, it in _DATE_RE.findall(lowered):
        if mon:
            clocks.append((int(y), _MONTHS.get(mon, 0), int(d), t))
        else:
            clocks.append((int(iy), int(im), int(idd), it))
    return any(clock > end for clock in clocks for end in ends if end[1])
