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

This module holds configuration, environment, crash loops, files, ports and slowness;
`service_signatures` the services and web stacks; `sigbase` what a signature is.
Contextual rules: `sre_agent.skills.context`.
"""

from __future__ import annotations

from sre_agent.skills.context import WORD_RE, context_concepts, explained_text
from sre_agent.skills.masks import mask
from sre_agent.skills.service_signatures import SERVICE_SIGNATURES
from sre_agent.skills.sigbase import Signature
from sre_agent.skills.sigbase import sig as _sig

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
         r"(?:refuses|refused|won't|will not) (?:to )?(?:read|load|accept) (?:its |the )?(?:own )?"
         r"(?:config|settings)|"
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
         r"not documented (?:in|anywhere)|"
         r"\.example\b[^\n]{0,20}\b(?:does not|doesn't|did not|didn't) (?:have|list|contain)\b|"
         r"diff \S*\.example \S+[^\n]*\n(?:\d+a\d+(?:,\d+)?\n)?> *[a-z][a-z0-9]*_[a-z0-9_]+[= ]",
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
         r"down for (?:scheduled )?maintenance|module maintenance:|"
         r"(?:says|answers|returns|serves|replies|shows) (?:with )?(?:a |the )?maintenance\b",
         gate="maint|try again later|of the real|holding page|placeholder|back soon"),
    # --- files: access, space, locks
    _sig("permission denied file mode", "eacces permissionerror accessdeniedexception",
         r"errno 13|\(13: permission denied|operation not permitted|avc: +denied|"
         r"access is denied|lost (?:write|read) access|d-{9}|-w-{7}|mode 0?[0-7]?[0-6]00\b|"
         r"(?:mode|permissions?|rights)\b(?: \w+){0,5} (?:to )?0?[0-7]{3}\b|"
         r"mode bits|owned by root|readonly database|read-only database|"
         r"no longer (?:readable|writable|accessible) by|\bwent 0[0-7]{3}\b|"
         r"-{10} +\d+ \w"),
    # a file mode (ls -l, stat) whose owner cannot write: the data went read-only
    _sig("read only not writable permission", "",
         r"(?:^|[\s'\"(])-r-[-x][-r][-w][-x][-r][-w][-x](?=[\s'\",.)]|$)|"
         r"can read (?:\w+ ){0,3}but (?:not|can't|cannot|can not) write", gate="-r-|can read"),
    _sig("disk full no space left", "enospc edquot diskpressure filesfillingup",
         r"errno 28|no space left|disk quota exceeded|disk is full|disk watermark|"
         r"ephemeral-storage|inodes? (?:exhausted|full)|out of (?:disk|space)|"
         r"filesystem has less than|(?:9[5-9]|100)(?:\.\d+)?% ?(?:usage|used|full|/)|100% +/|"
         r"zero bytes available|0 bytes (?:free|available|left)|no (?:more )?free space|"
         r"filled up|over (?:its )?quota|out of room|"
         r"used_?(?:pct|percent)\W{0,3}(?:9[5-9]|100)(?:\.\d+)?\b|"
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
         r"already (?:up|started|active) (?:elsewhere|somewhere)|"
         r"\.pid\b[^.;\n]{0,60}\bpid (?:that|which) `?(?:ps|top|pgrep)`? "
         r"(?:doesn't|does not|don't) (?:know|show|list|find)|"
         r"pid \d+ (?:is )?(?:not running|gone|dead)\b"),
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
    # a proxy (an ingress) routing a path to a backend with no endpoints: the wrong upstream
    _sig("proxy routes to the wrong upstream", "",
         r"no endpoints available|endpoints? \S+ not found", gate="endpoint"),
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
         r"(?:every|each|all) (?:request|call|response|page|endpoint|route)s?\b.{0,20}~?"
         r"\d+(?:\.\d+)? ?(?:s|sec|secs|seconds)\b|~\d+(?:\.\d+)? ?(?:s|sec|secs|seconds)\b"),
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
) + SERVICE_SIGNATURES


def expand(text: str) -> tuple[str, list[str]]:
    """The text with misleading strings masked, and the concepts its signatures add."""
    text = mask(text)
    lowered = text.lower()
    words = set(WORD_RE.findall(lowered))
    concepts = [sig.concept for sig in SIGNATURES if sig.matches(lowered, words)]
    concepts = context_concepts(text, lowered, words, concepts)
    return explained_text(text, concepts), concepts
