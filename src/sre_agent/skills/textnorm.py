"""Text normalisation shared by the router's index and its queries.

Words, never substrings ("report" is not "port", "clock" is not "lock"): a text is split on
non-alphanumerics and camelCase, lower-cased, expanded through a table of generic operations
vocabulary (abbreviations, errno names, product names mapped to the role they play: "redis"
is also a "cache", "postgres" also a "database"), stop words are dropped and each word is
lightly stemmed. Nothing here names a skill.
"""

from __future__ import annotations

import re

# Generic English and alert boilerplate; nothing here names an incident class.
STOP_WORDS = frozenset(
    """
    a an the and or but if then than so of to in on at by for from with without into onto over
    under about after before since until while during as is are was were be been
    being am do does did done has have had having it its it's this that these those there here
    i me my we our us you your he she they them their his her who whom which what when where why
    how all any each every some no nor not own same too very can could will would should
    shall may might must just also again still yet ever now please pls thanks thank hi hello
    one two get gets got getting seem seems seemed look looks looking like someone something
    anything everything nothing because via per etc e g i e
    anyone somebody kindly team guys folks hey ok okay fyi btw idea think guess maybe probably
    since morning night today yesterday quick q
    """.split()
)
# Negations are meaningful in phrases ("not ready", "no space left"): keep them out of STOP_WORDS
# for phrase matching but give them no weight on their own.
WEAK_WORDS = frozenset({"not", "no", "nor"})

# Generic abbreviations, compounds and operations vocabulary, expanded before stemming. A value
# that repeats its key keeps the word and adds the role it plays.
SYNONYMS: dict[str, str] = {
    # configuration and environment
    "env": "environment",
    "envs": "environment",
    "environ": "environment",
    "envvar": "environment variable",
    "envvars": "environment variable",
    "dotenv": "environment file",
    "conf": "config",
    "cfg": "config",
    "configuration": "config",
    "configmap": "config",
    "yml": "yaml",
    "boot": "start",
    "boots": "start",
    "booting": "start",
    "startup": "start up",
    # files, permissions, locks
    "dir": "directory",
    "dirs": "directories",
    "folder": "directory",
    "perm": "permission",
    "perms": "permissions",
    "rights": "permissions",
    "readonly": "read only",
    "unwritable": "not writable",
    "unreadable": "not readable",
    "lockfile": "lock file",
    "pidfile": "pid file",
    "flock": "lock",
    # errno names: the words of their strerror
    "eacces": "eacces permission denied",
    "eperm": "eperm operation not permitted",
    "enospc": "enospc no space left",
    "edquot": "disk quota exceeded",
    "econnrefused": "econnrefused connection refused",
    "econnreset": "connection reset",
    "etimedout": "timed out",
    "eaddrinuse": "address already in use",
    "eaddrnotavail": "cannot assign requested address",
    "emfile": "too many open files",
    "erofs": "read only file system",
    # backing services: the product and the role it plays
    "db": "database",
    "keyvalue": "key value",
    "redis": "redis cache",
    "valkey": "valkey cache",
    "keydb": "keydb cache",
    "memcache": "memcached cache",
    "memcached": "memcached cache",
    "postgres": "postgres database",
    "postgresql": "postgres database",
    "mysql": "mysql database",
    "mysqld": "mysql database",
    "mariadb": "mariadb database",
    "mongo": "mongo database",
    "mongodb": "mongo database",
    # networking and probes
    "conn": "connection",
    "lb": "load balancer",
    "unreachable": "not reachable",
    "unavailable": "not available",
    "unready": "not ready",
    "notready": "not ready",
    "nonready": "not ready",
    "unhealthy": "not healthy",
    "timeout": "time out",
    "timeouts": "time out",
    "k8s": "kubernetes",
    "crashloop": "crash loop",
    "crashloopbackoff": "crash loop",
    # slowness
    "sluggish": "slow",
    "crawl": "slow",
    "crawling": "slow",
    "laggy": "slow",
    "slowly": "slow",
    "p50": "latency",
    "p90": "latency",
    "p95": "latency",
    "p99": "p99 latency",
    "p999": "latency",
    # misc
    "msg": "message",
    "err": "error",
    "unset": "not set",
    "undefined": "not defined",
    "unparseable": "cannot parse",
    "dup": "duplicate",
    "dupe": "duplicate",
    "oomkilled": "out of memory killed",
    "oom": "out of memory",
}

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_IP_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+")
# Stems are cached: stemming is on the hot path of every query.
_STEM_CACHE: dict[str, str] = {}


def stem(word: str) -> str:
    """A light, deterministic suffix stripper (plural, -ing, -ed, final e)."""
    cached = _STEM_CACHE.get(word)
    if cached is not None:
        return cached
    out = _stem(word)
    if len(_STEM_CACHE) < 50_000:
        _STEM_CACHE[word] = out
    return out


def _stem(word: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokens(text: str) -> list[tuple[str, str]]:
    """(normalised term, surface word) pairs; stop words dropped, order kept."""
    text = _IP_RE.sub(" ", text)
    text = _CAMEL_RE.sub(" ", text).lower()
    out: list[tuple[str, str]] = []
    previous = ""
    for surface in _TOKEN_RE.findall(text):
        if len(surface) < 2 or (surface.isdigit() and len(surface) > 3):
            continue  # single letters; timestamps, ports, pids: values, not symptoms
        if surface == previous:
            continue  # a word repeated in a row (a column of status codes) counts once
        previous = surface
        for part in SYNONYMS.get(surface, surface).split():
            if part in STOP_WORDS and part not in WEAK_WORDS:
                continue
            out.append((stem(part), surface))
    return out


def terms(text: str) -> list[str]:
    """The normalised terms of a text, in order."""
    return [term for term, _ in tokens(text)]
