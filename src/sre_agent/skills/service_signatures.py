"""Signatures of services and web stacks: start-up hangs, queues, persistence, proxies,
certificates, rollouts, name resolution, retries, ports held by others, and the strings of
things no built-in runbook handles (`signatures` holds files, configuration, ports, slowness).
"""

from __future__ import annotations

from sre_agent.skills.sigbase import Signature
from sre_agent.skills.sigbase import sig as _sig

SERVICE_SIGNATURES: tuple[Signature, ...] = (
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
         r"(?:job|message) \S+[\s\S]{0,200}?(?:valueerror|typeerror|keyerror|attributeerror|"
         r"indexerror|jsondecodeerror|unicodedecodeerror|zerodivisionerror|could not convert)|"
         # a queue backing up behind a dead worker; a job left in the processing list
         r"(?:queue|backlog)\b[^\n]{0,80}\bworker\w*\W{0,3}(?:state\W{0,3})?(?:fatal|crash\w*|dead)\b|"
         r"lrange \S*(?:processing|jobs?)\b[^\n]*\n\s*1\) "),
    _sig("redis memory limit maxmemory eviction policy", "",
         r"(?:configured|memory) (?:ceiling|cap)|hit its (?:configured )?(?:ceiling|cap|limit)|"
         r"(?:nothing|no keys?) (?:is )?(?:allowed|can be) (?:to be )?evict\w*|"
         r"(?:not|never|do not|don't) (?:remove|evict|delete) (?:the )?(?:old )?keys|"
         r"reject\w* new keys", gate="ceiling|cap|limit|evict|keys"),
    _sig("persist to disk snapshot", "bgsave rdb misconf",
         r"persist to disk|save (?:the )?snapshot|"
         r"(?:can't|cannot|can not|unable to|fails? to|failed to) (?:snapshot|persist)|"
         r"snapshots? (?:fail\w*|broken)|background sav\w* (?:error|failed|terminated)"),
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
         r"flag\b[^.;\n]{0,30}\b(?:failing|breaking|breaks|erroring)\b[^.;\n]{0,20}"
         r"\b(?:a share|(?:a )?third|(?:a )?quarter|half|\d+ ?%|some|part)\b|"
         r"(?:flag|feature)\b.{0,30}(?:rolled out|rollout)|(?:rolled out|rollout)\b.{0,30}\bflag"),
    _sig("feature flag rollout", "",
         r"(?:\d+ ?%|a third|a quarter|half|a share|a fraction|part|some|\b1 in \d+) of\b"
         r"[^.;\n]{0,60}\b(?:rollout|rolled out|ramp(?:ed)? (?:up|to))|"
         r"\bflag\b[^.;\n]{0,40}\bramp(?:ed|ing)? (?:up |to )|\bramp(?:ed|ing)? (?:the )?flag|"
         r"flag ramp|gradual (?:release|rollout)|canary (?:percentage|share|cohort)|"
         r"bucketed into",
         gate="rollout|rolled out|ramp|gradual|canary|bucketed"),
    _sig("share of requests", "",
         r"(?:\d+ ?%|(?:a )?third|(?:a )?quarter|half|a share|a fraction|part) of (?:the )?"
         r"(?:requests|orders|checkouts|traffic|users|calls)|"
         r"\b1 in \d+ (?:of (?:the )?)?(?:requests|orders|checkouts|calls|users)",
         gate=" of |1 in "),
    _sig("name resolves address", "",
         r"resolves? to \d{1,3}\.\d|(?:gives?|returns?|points? to|maps? to) (?:an? )?"
         r"(?:other|different|old|wrong|another|stale) (?:ip|address)|"
         r"ping\b[^\n]{0,40}\(\d{1,3}(?:\.\d{1,3}){3}\)|"
         r"ping\b[^\n]{0,40}\bgoes to \d{1,3}\.\d|"
         r"(?:internal|local|svc|lan) ?(?:->|=>) ?\d{1,3}\.\d|"  # a service name -> an address
         r"resolv\w* to (?:a |an )?(?:strange|wrong|weird|unexpected|odd|different|old|stale|"
         r"bogus) (?:ip|address)|resolv\w* (?:the \w+ )?(?:alias|name) to an? (?:address|ip)",
         gate="resolv|ip|address|ping|->|=>"),
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
         r"to (?:warm|start|boot|load(?! (?:the |a |an )?(?:\w+ )?(?:chart|page|dashboard|report|"
         r"graph|panel|image|file|query)s?\b))|"
         r"kill\w*\b[^.;\n]{0,40}\bliveness (?:check|probe)"),
    _sig("retry storm retries no backoff", "",
         r"retry storm|retries? (?:without|with no|immediately|forever|storm)|no backoff|"
         r"without backoff|retry budget|hammer\w* .{0,30}retr|retry without|"
         r"retr(?:y|ies) too (?:much|often|many)|too many retries|"
         r"retr\w*\b[^.;\n]{0,20}\bwithout (?:any |a )?(?:waiting|pause|delay|backoff)|"
         r"retries (?:of|from) the clients?|"
         r"clients?'?s? retries|retries (?:keep|make|are keeping)|tight (?:retry )?loop|"
         r"(?:request|traffic|call) rate \d+ ?x\b|hammer\w*\b[^.;\n]{0,20}\bnon-?stop\b|"
         r"retry \d+/\d+ (?:in|after) 0 ?m?s\b|retr\w* (?:in|after) 0 ?m?s\b"),
    # still degraded after the trigger is gone: metastable (the retries keep it so)
    _sig("retry storm metastable", "",
         r"(?:persist\w*|still)\b[^.;\n]{0,30}\bafter (?:the |a )?(?:[\w.]+ ){0,3}"
         r"(?:stall|hiccup|blip|pause|outage)\b|after (?:the |a )?(?:[\w.]+ ){0,3}"
         r"(?:stall|hiccup|blip|pause|outage) (?:resolved|ended|recovered|was fixed|cleared)|"
         r"(?:persist\w*|still)\b[^.;\n]{0,30}\bafter (?:the )?[\w.-]+ "
         r"(?:recovered|came back|is back|was back)|"
         # the trigger ended a while ago, and nothing says the service is back
         r"(?:stall|hiccup|blip|pause|outage)\b[^.;\n]{0,30}\b(?:ended|resolved|cleared|recovered|"
         r"was over)\b[^.;\n]{0,20}\b(?:ago|in a minute|in seconds)\b"
         r"(?![^\n]{0,40}\b(?:back to|normal|recovered|fine|ok)\b)|"
         r"that (?:started|caused|triggered) it\b[^.;\n]{0,30}\b(?:ended|over|resolved|gone)\b"
         r"(?![^\n]{0,40}\b(?:back to|normal|recovered|fine|ok)\b)|trigger_resolved\W{0,3}true",
         gate="after|ago|in a minute|in seconds| it|trigger_resolved"),
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
    # a disk alert's own labels: a low used share, a threshold written as a fraction
    _sig("disk alert fires while disk has room", "",
         r"(?:disk|volume|filesystem)\w*\b[^\n]{0,60}\bused_?(?:pct|percent)\W{0,3}"
         r"[0-7]?\d(?:\.\d+)?\b(?!\.)|"
         r"(?:disk|volume|filesystem)\w*\b[^\n]{0,80}\b(?:crit|warn)\w*\W{0,3}0?\.\d+\b",
         gate="used_p|crit|warn"),
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
         r"orders?(?:lookup|get|read|fetch)\w{0,6}404|"
         r"order (?:lookups?|reads?|gets?|fetch\w*) (?:\w+ )?404|"
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
