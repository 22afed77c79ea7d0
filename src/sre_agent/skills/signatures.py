"""Error-string signatures of real software, read as generic operations concepts.

Real incidents quote their software: `while parsing a block mapping` (PyYAML), `Expecting ','
delimiter` (json), `File contains no section headers` (configparser), `CrashLoopBackOff`,
`Readiness probe failed` (kubelet), `[Errno 28]`, `upstream timed out (110: ...)` (nginx)...
None of these says "config syntax error" or "no space left" in the words a runbook uses. A
signature recognises such a string and adds the plain concept words ("config parse error
syntax", "disk full no space left"): words that skills' own triggers and descriptions use, so
any skill, built-in or from a pack, benefits. A signature never names a skill.

Before the signatures, `masks.mask` replaces strings whose words would mislead by their
concept (a "sending quota" is not a disk quota, "database is locked" is not a stale lock file).

Contextual rules: `sre_agent.skills.context`.

Speed: a signature is a set of whole words (looked up in the text's word set) and a regex of
phrases over the lower-cased text whose alternatives all start with a literal, so the regex
engine can skip ahead; `\\b` at the start of an alternative would make it try every position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sre_agent.skills.context import WORD_RE, context_concepts
from sre_agent.skills.masks import mask


@dataclass(frozen=True)
class Signature:
    concept: str
    words: frozenset[str] = frozenset()  # any of these whole words (lower case)
    phrases: re.Pattern[str] | None = None  # over the lower-cased text
    gate: tuple[str, ...] = ()  # the phrases are only searched if one of these is in the text

    def matches(self, lowered: str, words: set[str]) -> bool:
        if self.words and not self.words.isdisjoint(words):
            return True
        if self.phrases is None or (self.gate and not any(g in lowered for g in self.gate)):
            return False
        return self.phrases.search(lowered) is not None


def _sig(concept: str, words: str = "", phrases: str | None = None, gate: str = "") -> Signature:
    """`gate`: substrings separated by `|`, one of which every match of `phrases` holds (a
    substring test is far cheaper than a regex whose alternatives start anywhere)."""
    return Signature(concept, frozenset(words.split()),
                     re.compile(phrases) if phrases else None,
                     tuple(gate.split("|")) if gate else ())


SIGNATURES: tuple[Signature, ...] = (
    # --- configuration files that do not parse (YAML, JSON, INI, TOML, HCL, nginx, haproxy)
    _sig("yaml config syntax error parse error",
         "scannererror parsererror composererror",
         r"while (?:parsing|scanning) |expected <block end>|mapping values are not allowed|"
         r"did not find expected|found character that cannot start|yaml: line \d|"
         r"bad indentation|indentation (?:error|complaint)|tabs instead of spaces"),
    _sig("json config parse error syntax error", "jsondecodeerror",
         r"expecting (?:',' delimiter|':' delimiter|value|property name)|"
         r"unexpected token .{1,4} in json|unterminated string|extra data: line|trailing comma|"
         r"unexpected (?:end of (?:json )?input|eof)|invalid control character"),
    _sig("ini config parse error syntax error",
         "missingsectionheadererror parsingerror duplicatesectionerror duplicateoptionerror "
         "configparser",
         r"contains no section headers|contains parsing errors|section '\w+' already exists"),
    _sig("config syntax error parse error", "tomldecodeerror malformed bracket",
         r"toml: line \d|hcl: at \d|illegal char|unknown token|unexpected character|"
         r"unknown (?:directive|keyword)|unexpected \"[{};]\"|test failed|invalid line|"
         r"(?:wrong|invalid|bad) (?:format|syntax)|error of syntax|key name found without value|"
         r"expected an equals|expected '?key ?= ?value|ini: line \d|"
         r"line \d+:? (?:col(?:umn)? \d+:? )?expected\b|expected '[=:;]'|"
         r"unterminated (?:section|quote)|bad line in|\[\w+\] (?:section )?header|"
         r"(?:config|settings|ini|conf)\b[^.;\n]{0,30}\b(?:hand-?edit\w*|typo)"),
    _sig("config parse error syntax error", "unparseable",
         r"(?:cannot|can't|could not|couldn't|unable to|fails? to|failed to) parse|"
         r"parse (?:error|failure)|(?:parsing|syntax) (?:error|failed)|"
         r"<{7}|>{7}|conflict markers?|merge conflict", gate="pars|<<<<<<<|>>>>>>>|conflict"),
    # --- required settings missing from the environment
    _sig("missing required environment variable", "improperlyconfigured getenv",
         r"os\.environ|process\.env\.|env\[|parameter null or not set|"
         r"validation errors? for settings|field required|"
         r"could not resolve placeholder|status=78/config|type=missing"),
    _sig("missing environment variable", "",
         r"(?:environment|env)\b.{0,40}(?:blank|empty|missing|not set|unset|not defined)|"
         r"(?:blank|empty|missing|not set|unset|not defined)\b.{0,30}(?:from|in) (?:the )?"
         r"(?:environment|env)\b"),
    _sig("missing required environment variable", "",
         r"(?:wants?|needs?|expects?|asks? for|requires?) (?:an? |the )?env(?:ironment)? "
         r"(?:setting|variable|var|value|parameter)"),
    _sig("required environment variable", "",
         r"(?:mandatory|required|obligatory)\s+(?:env(?:ironment)?\s+)?"
         r"(?:setting|option|parameter|param|value|key|field|configuration)\b"),
    # a setting the documented example does not have: the env file drifted from it
    _sig("undocumented variable wrong env value drift from the documented example", "",
         r"(?:not|isn't|is not|wasn't|never) (?:\w+ )?(?:in|documented in|listed in|part of) "
         r"(?:the )?(?:documented )?(?:[\w.-]*\.example|example\b|docs\b|documentation)|"
         r"undocumented (?:variable|line|setting|key|entry|value)|"
         r"(?:not|isn't|is not) (?:\w+ )?documented\b|"
         r"not documented (?:in|anywhere)",
         gate="example|doc"),
    # --- crash loops and unready rollouts in orchestrator wording
    _sig("crash loop fails at start", "crashloopbackoff",
         r"back-off restarting|restart(?:ing)? loop|start request repeated too quickly|"
         r"too many start retries|exited \d+ times|pods? restarting"),
    _sig("readiness probe not ready", "containersnotready minimumreplicasunavailable",
         r"readiness probe failed|0/[1-9]\d*\s+(?:running|ready)\b|non-ready state|"
         r"updated replicas are available|readiness (?:gate|check)|"
         r"out of (?:the )?(?:lb |load balancer )?(?:rotation|pool)|"
         r"/ready\b(?:[^;,.]|\.\d){0,25}(?:503|false|fail|not ready|red\b)|"
         r"(?:503|fail|false|unhealthy)[^;]{0,40}/ready\b|"
         r"ready (?:endpoint|check|marker|flag|file)|"
         r"never (?:go|goes|become|becomes) ready|stays? unready|"
         r"(?:ready|readiness) (?:503|false|fail\w*|red)\b|\b0 (?:of|/) ?\d+\b[^.;]{0,30}\bready\b|"
         r"no such file or directory:? ['\"]?/\S*/(?:ready|readiness)\b|"
         r"(?:load balancer|\blb)\b.{0,40}(?:refuses to send|won't send|doesn't send|not sending)"),
    _sig("service in maintenance mode", "",
         r"maintenance (?:response|page|program|message|banner|screen|body|reply|answer)|"
         r"under maintenance|in maintenance mode|'try again later|\"try again later|"
         r"(?:in place|instead) of the real (?:one|app|program|service|entrypoint|module)|"
         r"maint(?:enance)? page|holding page|placeholder (?:module|page|app\w*|program)|"
         r"be back soon|\"maintenance\"|(?:message|page|screen|module) of maintenance|"
         r"[\"' ]maint(?:enance)?:[a-z_]\w*|"
         r"down for (?:scheduled )?maintenance|module maintenance:",
         gate="maint|try again later|of the real|holding page|placeholder|back soon"),
    # --- files: access, space, locks
    _sig("permission denied file mode", "eacces permissionerror accessdeniedexception",
         r"errno 13|\(13: permission denied|operation not permitted|avc: +denied|"
         r"access is denied|lost (?:write|read) access|d-{9}|-w-{7}|mode 0?[0-7]?[0-6]00\b|"
         r"(?:mode|permissions?|rights)\b(?: \w+){0,5} (?:to )?0?[0-7]{3}\b|"
         r"mode bits|owned by root|readonly database|read-only database|"
         r"no longer (?:readable|writable|accessible) by|\bwent 0[0-7]{3}\b"),
    # a file mode (ls -l, stat) whose owner cannot write: the data went read-only
    _sig("read only not writable permission", "",
         r"(?:^|[\s'\"(])-r-[-x][-r][-w][-x][-r][-w][-x](?=[\s'\",.)]|$)|"
         r"can read (?:\w+ ){0,3}but (?:not|can't|cannot|can not) write", gate="-r-|can read"),
    _sig("disk full no space left", "enospc edquot diskpressure filesfillingup",
         r"errno 28|no space left|disk quota exceeded|disk is full|disk watermark|"
         r"ephemeral-storage|inodes? (?:exhausted|full)|out of (?:disk|space)|"
         r"filesystem has less than|(?:9[5-9]|100)(?:\.\d+)?% ?(?:usage|used|full|/)|100% +/|"
         r"zero bytes available|no (?:more )?free space|filled up|over (?:its )?quota|out of room|"
         r"storage is finish|no have space|maxed out|"
         r"(?:var|data|disk|volume|partition|filesystem)/? (?:is )?(?:full|100 ?%)|"
         r"(?:disk|volume|partition|filesystem)\b.{0,40}?\b(?:at|is) (?:9[5-9]|100)(?:\.\d+)? ?%|"
         r"(?:^|\s)(?:/(?:var|srv|data|home|opt|mnt|tmp|usr|boot|export|media|backups?)\b"
         r"[\w/.-]*|/(?=\s)).{0,30}?\b(?:at|is|used|usage|use)[:= ]? ?"
         r"(?:9[5-9]|100)(?:\.\d+)? ?%"),
    _sig("disk full no space left",
         "kubepersistentvolumefillingup kubepersistentvolumeinodesfillingup "
         "nodefilesystemfilesfillingup", r"available[=: \"]+0(?:\.\d+)? ?%", gate="available"),
    _sig("disk full no space left", "predict_linear",
         r"will ?fill ?in|fills? up (?:in|within)|"
         r"(?:disk|volume|partition)\b.{0,30}\bfilling (?:up|fast)|"
         r"(?:disk|volume|partition)\b.{0,30}\bfull (?:in|within) \d",
         gate="fill|full in|full within"),
    _sig("tmpfs scratch full", "",
         r"ram ?disk|memory[- ](?:backed )?(?:disk|file ?system)|temporary memory disk|/dev/shm|"
         r"in-memory (?:file ?system|disk)", gate="disk|/dev/shm|system"),
    _sig("stale lock file held by pid", "pidfile",
         r"pid ?file|\.pid\b.{0,40}(?:exists|stale|left|present)|already running|"
         r"(?:leftover|left-over|stale|old|orphan\w*) (?:\S+ )?(?:\S*\.pid|pid)\b|"
         r"another (?:instance|copy|postmaster)|"
         r"another process (?:is )?(?:running|holds? the lock)|"
         r"could not (?:acquire|get) (?:instance )?lock|"
         r"unable to (?:acquire|create) .{0,30}lock|held by (?:process|pid|another)|already held|"
         r"lock(?: file)? .{0,60}(?:exists|present|already)|resource temporarily unavailable|"
         r"already (?:up|started|active) (?:elsewhere|somewhere)"),
    _sig("too many open files limit", "emfile nofile",
         r"errno 24|too many open files|ulimit -n|process_(?:max|open)_fds"),
    # --- ports and connections
    _sig("port address already in use", "eaddrinuse",
         r"address already in use|\(98: |bind\(\) to \S+ failed|connection in use: \("),
    _sig("listening port", "targetport",
         r"(?:listen(?:s|ing)?|bound|binds|serving|running) on (?:port )?\S*\d{2,5}\b|"
         r"nothing (?:bound|listening)|-p \d+:\d+|(?:wrong|other|different) port|"
         r"port (?:is )?changed"),
    _sig("connection refused", "econnrefused",
         r"connection refused|\(111: |errno 111|error 111|connection refuse\b|"
         r"refused (?:the )?connection|conn(?:ect)? refused|curl: \(7\)|failed to connect to|"
         r"\b\d{2,5} refuses(?:$|[,.;)]| (?:new )?connections| to connect)|"
         r"refuses (?:new )?connections"),
    _sig("bad gateway upstream connection", "502", r"bad gateway"),
    _sig("upstream backend not serving", "",
         r"does not have any active endpoints?|no live upstreams|no healthy upstream|"
         r"no (?:ready |active |available )?endpoints? (?:available|for)|"
         r"endpoints? \S+ not found",
         gate="endpoint|upstream"),
    # --- slowness
    _sig("timed out slow",
         "etimedout deadlineexceeded sockettimeoutexception readtimeout 504 504s",
         r"timed out|deadline exceeded|gateway time-?out|response flag ut|time-?outs?\b|"
         r"timeout exceeded"),
    _sig("high latency slow response", "p50 p75 p90 p95 p99 p999 latency apdex histogram_quantile",
         r"response[_ ]?time|request_time|took \d+(?:\.\d+)? ?(?:ms|s|seconds?)\b|"
         r"slow requests?|probe_duration|"
         r"takes? (?:forever|ages|long|many seconds|several seconds)|hangs? for|"
         r"respond(?:s)? (?:after|in) \d|[1-5]\d\d in \d{4,} ?ms|\b[1-9]\d{3,} ?ms\b|"
         r"\d+(?: or \d+)? ?(?:s|secs?|seconds?) (?:each|every|per|a|for (?:each|every)) "
         r"(?:time|request|call)|(?:more than|over|above) \d+ ?(?:s|secs?|seconds?)\b|"
         r"(?:come|comes|arrive|arrives|answer|answers) (?:very |really |too )?late\b|"
         r"\b\d+(?:\.\d+)? ?s\+|"
         r"(?:every|each|all) (?:request|call|response|page)s?\b.{0,20}~?\d+(?:\.\d+)? ?"
         r"(?:s|sec|secs|seconds)\b|~\d+(?:\.\d+)? ?(?:s|sec|secs|seconds)\b"),
    _sig("response delay", "",
         r"time\.sleep|sleep\(|artificial delay|fixed (?:pause|delay|wait)|added a wait|"
         r"response_delay|(?:responses?|requests?|replies|answers?) (?:are |is )?delayed"),
    _sig("high latency slow response", "",
         r"(?:\b|_)(?:rt|urt|request_time|upstream_response_time)[= ][1-9]\d*\.\d+"),
    # curl's timing (-w '%{time_total}') of two seconds or more
    _sig("high latency slow response", "",
         r"total[= ](?:[2-9]|[1-9]\d+)\.\d|time_total\}[^\n]*\n\s*(?:[2-9]|[1-9]\d+)\.\d",
         gate="time_total"),
    # the shell's `time` of two seconds or more
    _sig("high latency slow response", "", r"real\s+\d+m ?(?:[2-9]|[1-5]\d)(?:\.\d+)?s\b",
         gate="real"),
    # --- start-up hangs, queues, persistence
    _sig("stuck waiting at start up", "",
         r"(?:stuck|hangs?|hanging|blocked|waits?|waiting|sits?) (?:at |in |during |on )?"
         r"(?:its )?(?:start-?up|starting|boot)|never finish(?:es|ed)? (?:starting|booting|start)|"
         r"startup (?:loop|hang)|waiting (?:for|on) (?:the )?(?:cache|redis|database|db|it)\b|"
         r"(?:never|doesn't|does not|can't|cannot) gets? past (?:its )?(?:start-?up|boot)|"
         r"(?:boot|start-?up|start)\w* never (?:completes?|finish\w*)|still starting|"
         r"not (?:reachable|available|up) yet"),
    _sig("duplicate variable defined twice", "",
         r"(?:defined|set|declared|appears|present|written|listed|repeated) (?:twice|two times)|"
         r"two \S+ lines|"
         r"duplicate (?:line|entry|definition|variable)|"
         r"duplicate\b.{0,40}\boverrid\w*|overrid\w*.{0,40}\bduplicate|"
         r"duplicate (?:\w+ ){0,2}(?:var|variable|setting)s?\b|"
         r"(?:later|second|last|bottom) (?:line|one|definition) (?:wins|overrides|override)"),
    _sig("nginx emerg configuration test failed", "",
         r"nginx -t\b.{0,40}(?:fail|error|emerg)|configuration file \S+ test failed|"
         r"nginx\b.{0,20}config(?:uration)? test failed|"
         r"(?:proxy|nginx)\b.{0,20}\bfails? (?:its |the )?config(?:uration)? (?:check|test)|"
         r"proxy\b.{0,40}\bconfig(?:uration)? (?:check|test) fail|typo'?d? (?:in )?a directive"),
    _sig("database busy concurrent writer", "",
         r"begin (?:immediate|exclusive)|(?:open|uncommitted|long[- ]running|idle) transaction|"
         r"transaction (?:left |kept |still )?open|(?:lsof|fuser)\b[^\n]{0,40}\.(?:db|sqlite3?)\b|"
         r"(?:sqlite|\.db\b)[^\n]{0,60}\block[_ ]holder|lock[_ ]holder[^\n]{0,30}\bsqlite",
         gate="begin|transaction|lsof|fuser|lock_holder|lock holder"),
    _sig("database busy concurrent writer", "",
         r"lock\w*\"? (?:errors? )?on \S+\.(?:db|sqlite3?)\b|\.(?:db|sqlite3?)\b.{0,30}\blocked|"
         r"(?:sqlite|database|db)\b[^.;\n]{0,30}\b(?:writes?|inserts?) (?:are )?blocked|"
         r"write lock (?:of|on) (?:the )?(?:sqlite|database|db)|busy[_ ]timeout",
         gate="lock|blocked|busy"),
    _sig("nginx will not start configuration test failed", "",
         r"nginx\b.{0,20}\b(?:won't|will not|doesn't|does not|fails? to|can't|cannot|refuses to) "
         r"(?:start|reload|come up|restart)|nginx (?:reload|restart) fail", gate="nginx"),
    _sig("poison job queue worker crash", "poison",
         r"dead[- ]letter|same (?:job|message)|bad job|malformed (?:message|job)|"
         r"(?:dies|crashes|dying|crashing) on (?:job|message) \S+ (?:every|each)|"
         r"(?:job|message) \S+[\s\S]{0,60}?(?:valueerror|typeerror|could not convert)"),
    _sig("redis memory limit maxmemory eviction policy", "",
         r"(?:configured|memory) (?:ceiling|cap)|hit its (?:configured )?(?:ceiling|cap|limit)|"
         r"(?:nothing|no keys?) (?:is )?(?:allowed|can be) (?:to be )?evict\w*|"
         r"(?:not|never|do not|don't) (?:remove|evict|delete) (?:the )?(?:old )?keys|"
         r"reject\w* new keys", gate="ceiling|cap|limit|evict|keys"),
    _sig("persist to disk snapshot", "bgsave rdb misconf",
         r"persist to disk|save (?:the )?snapshot|"
         r"(?:can't|cannot|can not|unable to|fails? to|failed to) (?:snapshot|persist)|"
         r"snapshots? (?:fail\w*|broken)"),
    # --- web stacks: proxies, certificates, rollouts, name resolution, limits
    _sig("ssl certificate expired https", "",
         r"certificate has expired|cert(?:ificate)? (?:ran out|lapsed|expired|is expired)|"
         r"expired (?:ssl |tls |https )?cert|certificate expired|"
         r"notafter (?:passed|has passed|is (?:in the )?past)|past (?:its )?notafter|"
         r"cert(?:ificate)? (?:is )?out of date|err_cert_date_invalid|"
         r"probe_ssl_earliest_cert_expiry[^\n]{0,20}< ?0\b"),
    _sig("ssl key mismatch certificate", "",
         r"key values mismatch|private key does not match|key (?:and|&) (?:the )?certificate|"
         r"certificate and (?:the )?key|x509_check_private_key|"
         r"key (?:doesn't|does not|don't|no longer) (?:belong to|match) (?:the )?cert|-modulus\b"),
    _sig("feature flag rollout", "",
         r"feature[- ](?:flag|toggle)|flag (?:on|off)|canary cohort|"
         r"cohort (?:that|which|who) (?:gets|sees|has|is on)|"
         r"(?:turned|switched|enabled) on for (?:\d+ ?%|a (?:third|quarter|share|fraction))|"
         r"(?:flag|feature)\b.{0,30}(?:rolled out|rollout)|(?:rolled out|rollout)\b.{0,30}\bflag"),
    _sig("feature flag rollout", "",
         r"(?:\d+ ?%|a third|a quarter|half|a share|a fraction|part|some|\b1 in \d+) of\b"
         r"[^.;\n]{0,60}\b(?:rollout|rolled out|ramp(?:ed)? (?:up|to))|"
         r"\bflag\b[^.;\n]{0,40}\bramp(?:ed|ing)? (?:up |to )|\bramp(?:ed|ing)? (?:the )?flag|"
         r"flag ramp|gradual (?:release|rollout)|canary (?:percentage|share|cohort)|"
         r"bucketed into",
         gate="rollout|rolled out|ramp|gradual|canary|bucketed"),
    _sig("share of requests", "",
         r"(?:\d+ ?%|a third|a quarter|half|a share|a fraction|part) of (?:the )?"
         r"(?:requests|orders|checkouts|traffic|users|calls)|"
         r"\b1 in \d+ (?:of (?:the )?)?(?:requests|orders|checkouts|calls|users)",
         gate=" of |1 in "),
    _sig("name resolves address", "",
         r"resolves? to \d{1,3}\.\d|(?:gives?|returns?|points? to|maps? to) (?:an? )?"
         r"(?:other|different|old|wrong|another|stale) (?:ip|address)|"
         r"ping\b[^\n]{0,40}\(\d{1,3}(?:\.\d{1,3}){3}\)|"
         r"resolv\w* to (?:a |an )?(?:strange|wrong|weird|unexpected|odd|different|old|stale|"
         r"bogus) (?:ip|address)|resolv\w* (?:the \w+ )?(?:alias|name) to an? (?:address|ip)",
         gate="resolv|ip|address|ping"),
    _sig("hosts file entry name resolves wrong address", "",
         r"/etc/hosts|hosts file|getent hosts|resolves? (?:to )?(?:the )?wrong|"
         r"name resolution for the (?:cache|redis|database|db)"),
    _sig("liveness probe killed while warming up", "",
         r"(?:warming|loading|starting)\b[\s\S]{0,80}\b(?:received sigterm|sigterm|killed)\b|"
         r"(?:sigterm|kill\w*)\b[\s\S]{0,40}\b(?:while|still) (?:it is |it's )?(?:still )?"
         r"(?:loading|warming|starting)|"
         r"(?:health ?check|probe)s?\b.{0,30}\b(?:tuning|tuned|tighten\w*|faster|more fast|"
         r"shorter|more aggressive)", gate="sigterm|kill|probe|health"),
    _sig("liveness probe killed while warming up", "",
         r"liveness.{0,60}(?:kill|restart|too (?:fast|short|aggressive)|before)|"
         r"(?:kill|killed|restarts?) .{0,40}(?:before it (?:finish|is ready|listens)|"
         r"warming|warm-up|during start)|"
         r"kill\w*\b.{0,10}mid-?warm|(?:restarts?|kill\w*)\b.{0,30}before (?:it'?s|it is) "
         r"(?:done|finished|ready)|killed ~?\d+ ?s after start|"
         r"watchdog\b.{0,60}(?:kill|cut|timer|shorter)|(?:sigkill\w*|kill\w*)\b.{0,40}"
         r"(?:pre-?warm|think\w* it(?:'s| is) dead)|probe missed\b.{0,30}\bkill|"
         r"kills? (?:the \w+ |it )?too (?:early|soon)|"
         r"(?:needs?|takes?|requires?) (?:around |about |~)?\d+(?:\.\d+)? ?(?:s|secs?|seconds?) "
         r"to (?:warm|start|boot|load)"),
    _sig("retry storm retries no backoff", "",
         r"retry storm|retries? (?:without|with no|immediately|forever|storm)|no backoff|"
         r"without backoff|retry budget|hammer\w* .{0,30}retr|retry without|"
         r"retr(?:y|ies) too (?:much|often|many)|too many retries|"
         r"retr\w*\b[^.;\n]{0,20}\bwithout (?:any |a )?(?:waiting|pause|delay|backoff)|"
         r"retries (?:of|from) the clients?|"
         r"clients?'?s? retries|retries (?:keep|make|are keeping)|tight (?:retry )?loop|"
         r"(?:request|traffic|call) rate \d+ ?x\b"),
    # still degraded after the trigger is gone: metastable (the retries keep it so)
    _sig("retry storm metastable", "",
         r"(?:persist\w*|still)\b[^.;\n]{0,30}\bafter (?:the |a )?(?:[\w.]+ ){0,3}"
         r"(?:stall|hiccup|blip|pause|outage)\b|after (?:the |a )?(?:[\w.]+ ){0,3}"
         r"(?:stall|hiccup|blip|pause|outage) (?:resolved|ended|recovered|was fixed|cleared)|"
         r"(?:persist\w*|still)\b[^.;\n]{0,30}\bafter (?:the )?[\w.-]+ "
         r"(?:recovered|came back|is back|was back)",
         gate="after"),
    _sig("bursts under load ephemeral ports", "time_wait",
         r"under (?:load|burst)|any burst|bursts? of|only under load|time-wait|port range|"
         r"sysctl|(?:source|local|outbound) ports? (?:\w+ )?(?:used up|exhausted|ran out)|"
         r"(?:network|kernel|tcp) tuning|(?:200 ){3,}(?:000 ?){3,}"),
    _sig("another process holds the port", "stub",
         r"debug server|another (?:program|process) (?:is )?(?:us\w*|hold\w*|listen\w*|tak\w*|"
         r"occup\w*|ha[sv]e?)\b.{0,20}\bport|port\b.{0,30}\b(?:taken|held|occupied|used) by|"
         r"port \d+ (?:taken|held|occupied)|address in use|"
         r"port\b.{0,20}\b(?:grabbed|squatt\w*|stolen|hijack\w*)|(?:grabbed|squatt\w*|stole|"
         r"hijack\w*)\b.{0,30}\bport|bind(?:\(\))? failed|(?:leftover|stray|test) listener|"
         r"port (?:is )?(?:busy|in use) (?:with|by) (?:an?other|some other|a different)|"
         r"(?:leftover|left-over|stray|forgotten|orphan\w*) (?:\w+ ){0,2}(?:server|listener|"
         r"process|program)\b[^.;\n]{0,20}\b(?:bound|listen\w*|on|holds?|has)\b|"
         r"started (?:it )?and forg[oe]t|python3? -m (?:http\.server|simplehttpserver)|"
         r"not (?:started by |run by |from |under )?the supervisor|outside (?:of )?the supervisor"),
    # `ss -ltnp` naming a process on the port while the service itself is down
    _sig("another process holds the port", "",
         r"users:\(\(\"[^\"]+\", ?pid[= ]\d+[^\n]{0,120}\b(?:backoff|fatal|exited|bind)",
         gate="users:(("),
    _sig("disk alert fires while disk has room", "",
         r"(?:alert|alarm|paging|page)s?\b.{0,60}(?:but|although|yet|while)\b.{0,60}"
         r"(?:free|room|space|\d{1,2} ?% used|barely|(?:mostly|almost) empty|"
         r"df (?:says|shows|say) (?:only )?[1-7]?\d ?%)|false (?:disk )?alert|alert threshold|"
         r"(?:alert|alarm)s?\b.{0,40}\b[1-7]?\d ?% (?:full|used)|"
         r"threshold migration|df (?:says|shows|reports) (?:only )?\d ?%|"
         r"\b(?:[5-9]\d|100) ?% free\b|(?:alarm|alert) (?:is )?broken|"
         r"(?:disk|volume)\b.{0,40}\b(?:but|yet)\b.{0,40}\bnearly empty"),
    _sig("orders vanished database path wrong empty file", "",
         r"(?:orders?|data|history) (?:are |is |have )?"
         r"(?:vanished|disappear\w*|missing|gone|empty)|"
         r"opened (?:a )?new (?:db |database )?file|new file, 0 \w+|"
         r"empty database|new (?:empty )?(?:db|database) file|wrong (?:db|database)|db path|"
         r"database path|blank db|"
         r"(?:fresh|new|empty|blank) (?:empty )?(?:db|database)(?! conn| pool| session| client)|"
         r"shows nothing for|history (?:shows nothing|is empty)|"
         r"(?:db|database) file (?:somewhere else|elsewhere)|"
         r"/orders?/\S+ (?:returned |returns |-> |=> |: )?404|"
         r"read(?:ing)? (?:back )?(?:the |a )?canary\S*[^.;\n]{0,30}\b(?:404|missing|not found)"),
    # --- things no built-in runbook handles: name them so their words count
    _sig("authentication password rejected", "noauth wrongpass 401 unauthorized",
         r"authentication required|invalid (?:username-)?password|password authentication failed|"
         r"authentication failed|access denied for user|login failed"),
    _sig("authentication password rotated", "",
         r"(?:credential|password|secret|passwd)s? (?:was |were |got )?rotat\w*|"
         r"rotat\w* (?:of )?(?:the )?(?:\w+ )?(?:credential|password|secret)s?|"
         r"(?:vault|secret) rotation|credentials? change|"
         r"(?:rejects?|refus\w*|denies|denied)\b.{0,20}\bcredentials", gate="rotat|credential"),
    _sig("authentication password rejected", "", r"acl log\b[\s\S]{0,80}\bauth\b", gate="acl log"),
    _sig("tls certificate", "x509 certificate ssl tls handshake"),
)


def expand(text: str) -> tuple[str, list[str]]:
    """The text with misleading strings masked, and the concepts its signatures add."""
    text = mask(text)
    lowered = text.lower()
    words = set(WORD_RE.findall(lowered))
    concepts = [sig.concept for sig in SIGNATURES if sig.matches(lowered, words)]
    return text, context_concepts(text, lowered, words, concepts)
