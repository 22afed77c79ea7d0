"""Masks: strings of real software or people whose words would mislead the router.

A mask replaces the matched text by the concept it stands for, in the skills' words and in
queries alike: a "sending quota" is not a disk quota, "database is locked" is not a stale lock
file, a failed disk is not a full one, a node that is not ready is not a service's readiness
probe, a certificate that expires next month is a reminder, a cloud `AccessDenied` is not a
file mode, "no such host" is DNS. A mask runs only when one of its gate substrings is in the
lower-cased text. `not_an_incident` recognises questions, notices and requests (read after
masking). Nothing here names a skill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Mask:
    """Replace the matched text (case-insensitive) by its concept, if `gate` is in the text."""

    gate: tuple[str, ...]
    pattern: re.Pattern[str]
    concept: str


def _mask(gate: str, pattern: str, concept: str) -> Mask:
    return Mask(tuple(gate.split("|")), re.compile(pattern, re.IGNORECASE), concept)


MASKS: tuple[Mask, ...] = (
    _mask("quota", r"\b(?:sending|request|query|api|rate[- ]limit|daily)\s+(?:request\s+)?quota\b"
          r"|\bquota\s+(?:for|of)\s+(?:this\s+)?api\b", "api usage limit"),
    _mask("locked|sqlite_busy",
          r"\bdatabase (?:table )?is locked\b(?:[\s\S]{0,40}\bbusy[_ ]?timeout\b)?|\bSQLITE_BUSY\b|"
          r"\b(?:database|db|sqlite)\b(?: \w+){0,3} locked\b|\blocked (?:the )?(?:database|db)\b",
          "database busy concurrent writer"),
    _mask("deadlock|sharelock|exclusivelock", r"\bdeadlock(?: detected)?\b|"
          r"\b\w*(?:Share|Exclusive)Lock\b", "transaction deadlock"),
    _mask("fail|degraded|smart|reallocated", r"\b(?:member |failed |failing )?dis[kc]s? "
          r"(?:has )?(?:failed|failing|degraded)\b|\bReallocated_Sector\w*|"
          r"\bSMART (?:warning|error|failure)\b|\bdegraded array\b", "hardware fault"),
    _mask("malformed",
          r"\b(?:(?:database|db)(?: file)? (?:disk image )?is|disk image is) malformed\b|"
          r"\bmalformed (?:database|db)\b", "data corruption"),
    _mask("ready", r"\bKube?NodeNotReady\b|\bnodes? (?:is |has been |are )?(?:not ?ready|unready)\b"
          r"|\bhas been unready\b", "node failure"),
    _mask("latency", r"\b(?:inter-?zone|cross-?(?:az|region|zone)|network|ping|rtt)\s+latency\b",
          "network round trip"),
    # A lock a database takes on its rows or tables is not a lock file.
    _mask("lock", r"\bcould not obtain lock on (?:relation|row|table)\b|\block wait timeout\b|"
          r"\block_timeout\b|\bcanceling statement due to lock timeout\b",
          "transaction row contention"),
    # A block device timing out is hardware, not a slow service.
    _mask("i/o", r"\b(?:nvme\w*|sd[a-z]\d*|vd[a-z]\d*|xvd\w*|blk\w*|ata\d+(?:\.\d+)?)\b[:,]?"
          r".{0,30}\bi/o (?:timeout|error)\b", "hardware fault"),
    # One slow database query is a query plan, not a slow service.
    _mask("quer", r"\bslow (?:sql )?quer(?:y|ies)\b|\bquery_time\b", "database query plan"),
    # Disk throughput and DNS latency are not a full disk or a slow service.
    _mask("disk io|diskio|disk i/o|iowait|iops|io saturat",
          r"disk ?i/?o[^.\n]{0,30}|\biowait\b|\biops\b|\bio saturat\w*",
          "storage throughput"),
    _mask("dns", r"\b(?:core|kube-?)?dns\w*\b[^.\n]{0,40}", "dns resolver"),
    # A client's connection pool running dry is not a slow or stopped service.
    _mask("pool", r"\bconnection is not available\b[^\n]*|\bpool (?:is )?exhausted\b|"
          r"\bHikariPool-\d+\b|\btimeout waiting for (?:a )?connection from (?:the )?pool\b",
          "client connection pool exhausted"),
    # A certificate the issuer has not signed yet, or one signed by an unknown authority, is not
    # an expired one, and its "not ready" is not a readiness probe.
    _mask("cert|issuer",
          r"\b(?:certificate|cert|issuer)s?\b[^.;\n]{0,30}\b(?:not ready|ready=false)\b|"
          r"\bCert\w*NotReady\b|\bself[- ]signed certificate(?: in certificate chain)?|"
          r"\bunable to get local issuer certificate\b|"
          r"\bcertificate verify failed\b(?!:? \(?certificate has expired)",
          "certificate issuance trust chain"),
    # A certificate that expires later is a reminder, not an expired one.
    _mask("expir|renewal",
          r"\b(?:expires?|will expire|expiring|is expiring)\s+(?:in|within|after)\s+\d+\s*"
          r"(?:days?|weeks?|months?|d)\b|Expires?In\d+Days|"
          r"\brenewal (?:is )?(?:due )?(?:in|within) \d+\s*(?:days?|weeks?|d)\b|"
          r"\bexpires? (?:next|this|in a|in one|within a) (?:week|month|quarter|year)\b|"
          r"\bexpir\w* soon\b",
          "renewal reminder"),
    # A name the resolver does not know is DNS, not a hosts entry or a refused connection.
    _mask("host|nxdomain|servfail|name resolution", r"\bno such host\b|\bNXDOMAIN\b|\bSERVFAIL\b|"
          r"\bName or service not known\b|\btemporary failure in name resolution\b",
          "dns lookup failure"),
    # A cloud API refusing a call is authorization, not a file mode.
    _mask("accessdenied|not authorized", r"\(AccessDenied\)[^\n]*|<Code>AccessDenied</Code>|"
          r"\bis not authorized to perform\b[^\n]*", "cloud api authorization refused"),
    # A remote login refused is access to a host, not a file mode or a service's port.
    _mask("ssh|publickey", r"\bPermission denied \((?:publickey|password|keyboard-interactive)"
          r"[^)]*\)|\bssh: connect to host\b[^\n]*|\bsshd\[\d+\]:[^\n]*", "remote login"),
    # A runtime's garbage collector pausing is the runtime's memory, not a slow dependency.
    _mask("gc|pause", r"\b(?:G1|ZGC|CMS|Full|Young|Old)? ?(?:GC|Evacuation) Pause\b[^\n,;]{0,20}|"
          r"\b\w*GC ?Pause\w*|\bstop-the-world\b", "garbage collection pause"),
    # The kernel failing a filesystem is hardware, not a read-only database or a full disk.
    # (ENOSPC from the kernel is still a full disk: the mask stops before it.)
    _mask("-fs|remounting", r"\b(?:EXT[234]|XFS|BTRFS)-fs (?:error|warning)\b"
          r"(?:(?!no space left)[^\n])*|"
          r"\bRemounting filesystem read-only\b", "hardware fault filesystem error"),
    # A volume the orchestrator cannot mount is storage attachment, not a slow service.
    _mask("mount", r"\bFailedMount\b|\bMountVolume\.\w+ failed\b[^\n]*|"
          r"\bFailedAttachVolume\b", "volume attach failure"),
    # A certificate issued for another name is not an expired or mismatched-key one.
    _mask("subject name|hostname|common_name|not valid for",
          r"(?:\bcurl: \(60\) )?(?:SSL: )?\bno alternative certificate subject name "
          r"matches\b[^\n]*|"
          r"\bhostname mismatch\b|\bERR_CERT_COMMON_NAME_INVALID\b|"
          r"\bcertificate is not valid for\b[^\n]{0,60}|\bdoesn't match any of the subject "
          r"alternative names\b[^\n]*", "certificate name mismatch"),
    # A cloud API's 403 on a permission is authorization, not a file mode.
    _mask("permissiondenied: 403|permission '",
          r"\b[\w.]*PermissionDenied: 403\b[^\n]*|\bPermission '[\w.]+' denied on resource\b[^\n]*",
          "cloud api authorization refused"),
    # The container runtime's socket refusing a user is host access, not a service's file mode.
    _mask("docker.sock|docker daemon",
          r"\b(?:Got )?permission denied while trying to connect to the Docker daemon socket\b"
          r"[^\n]*|[^\n]{0,80}\bdocker\.sock\b[^\n]*", "container runtime socket access"),
    # A package manager's lock is the host's package tooling, not a service's stale lock file.
    _mask("dpkg|/apt/|yum|rpm",
          r"[^\n]{0,100}(?:/var/lib/dpkg/lock\S*|/var/lib/apt/lists/lock|/var/cache/apt/\S*lock|"
          r"dpkg (?:frontend )?lock|yum\.pid|rpmdb lock)[^\n]*", "package manager in use"),
    # The kernel's inotify limit reuses ENOSPC: it is a watcher limit, not a full disk.
    _mask("file watchers|max_user_watches|inotify",
          r"\b(?:ENOSPC: )?System limit for number of file watchers reached\b[^\n]*|"
          r"\binotify_add_watch\b[^\n]*|"
          r"\bmax_user_watches\b|\binotify (?:watch(?:es|ers)? )?limit\b", "file watcher limit"),
    # A serverless runtime killing a function at its limit is not a slow service.
    # (its END/REPORT lines quote the billed duration in milliseconds: not a slow service)
    _mask("task timed out|requestid", r"\bTask timed out after \d+(?:\.\d+)? seconds\b|"
          r"\b(?:START|END|REPORT) RequestId: [^\n]*", "serverless function time limit"),
    # A store's data file failing its checksum is corruption, not a persistence setting.
    _mask("checksum|append only file|reading rdb|loading db",
          r"\bWrong RDB checksum\b[^\n]*|\bInternal error in RDB reading\b[^\n]*|"
          r"\bUnexpected EOF reading RDB file\b|\bBad file format reading the append only file\b|"
          r"\bShort read or OOM loading DB\b", "data corruption"),
    # A supervisor giving up on a program is a crash loop without its cause, not client retries.
    _mask("start retries", r"\btoo many start retries(?: too quickly)?\b",
          "crash loop fails at start"),
    # A container image whose entrypoint cannot be executed is the image, not a file mode of
    # the service's data.
    _mask("oci runtime|exec format|runc",
          r"\bOCI runtime (?:create|exec) failed\b[^\n]*|\bexec format error\b|"
          r"\brunc create failed\b[^\n]*", "container image entrypoint not executable"),
    # The build system (CI runners, pipeline definitions) is not the service in production.
    # (an error about a workflow file is the pipeline's: its whole line goes)
    _mask("ci |runner|workflows|gitlab-ci|jenkins|pipeline|github actions|build-agent",
          r"\b(?:CI|build)[ -](?:runners?|agents?|pipelines?|jobs?|workers?)(?:-\d+)?\b|"
          r"\b(?:GitHub|GitLab) (?:Actions )?runners?\b|[^\n]{0,200}\.github/workflows/[^\n]*|"
          r"\.gitlab-ci\.ya?ml\b|\bJenkinsfile\b|\bgithub actions\b[^\n]*|"
          r"\bjenkins (?:machine|host|server|box|agent|node|controller|worker)s?\b",
          "build pipeline"),
    # A developer's own machine (laptop, workstation, local dev server, test runner) is not
    # the service in production: no runbook of the catalogue is about it.
    _mask("my |macos|npm run|dev server|jest|test suite|test runner|live-cd|livecd|--inspect|"
          "disk c|drive c|c: drive",
          r"\b(?:on |from |in )?my (?:own )?(?:laptop|workstation|macbook|mac|desktop|computer|pc|"
          r"notebook|"
          r"dev (?:vm|box|machine)|local (?:machine|kind cluster|cluster))\b|\bon macos\b|"
          r"\bnpm run dev\b|\b(?:flask |vite |webpack )?dev server\b|\bjest\b|"
          r"\btest (?:suite|runner)\b|\blive-?cd\b|\bnode --inspect\b|"
          r"\b(?:the )?(?:disk|drive) c\b|\bc: drive\b",
          "developer workstation"),
    # Version control and build tools lock their own files: not a service's stale lock file.
    _mask("index.lock|git process|in use by another",
          r"[^\n]{0,100}\.git/index\.lock\b[^\n]*|\bgit\b[^\n]{0,20}\bindex\.lock\b[^\n]*|"
          r"\banother git process\b[^\n]*|"
          r"[^\n]{0,120}\bin use by another (?!program\b)(?:\w+ ){1,2}(?:instance|process)\b[^\n]*",
          "version control build tool"),
    # SELinux refusing a network connection is a policy on sockets, not a file mode.
    # (Alert label reading turns `type=AVC` into `type AVC`: the mask starts at `avc:`.)
    _mask("avc", r"[^\n]{0,80}\bavc: +denied +\{ name_(?:connect|bind) \}[^\n]*",
          "kernel network connect rule"),
    # Cloud identity alerts and bucket access requests are authorization, not a file mode.
    _mask("permissiondenied|accessdenied|bucket",
          r"\b(?:GCP|AWS|Azure|IAM|Cloud)\w*(?:PermissionDenied|AccessDenied)\w*|"
          r"\b(?:read|write) access to the [\w -]{0,30}\bbucket\b",
          "cloud api authorization refused"),
    # A search cluster's disk watermark is its shard allocation, not the service's disk.
    _mask("watermark", r"\b(?:flood[ -]stage|high|low) disk watermark\b[^\n]*",
          "search cluster shard allocation"),
    # A clock behind a certificate's start, or a JVM trust store without the issuer, is not an
    # expired certificate.
    _mask("is before|pkix|certification path",
          r"\bcertificate has expired or is not yet valid: current time \S+ is before \S+|"
          r"\bPKIX path building failed\b[^\n]*|\bunable to find valid certification path\b"
          r"[^\n]*", "certificate issuance trust chain clock"),
    # A store's cluster losing nodes, a big key and a fork's pause are not a stopped dependency
    # or a slow service.
    _mask("clusterdown|big key|bigkey|fork took",
          r"\bCLUSTERDOWN\b[^\n]*|\bbig ?key\b[^\n]*|[^\n]{0,80}\bfork took \d+\s*ms\b[^\n]*",
          "store cluster data model"),
    # Stream platforms and cloud queues are not the service's job queue.
    _mask("kafka|sqs", r"(?m)^[^\n]*\b(?:kafka|SQS)\b[^\n]*", "stream platform"),
    # Binding an address the host does not have is addressing, not the local port range.
    _mask("on this host|on any interface",
          r"[^\n]{0,80}\b(?:isn't|is not|not) (?:on this host|configured on any interface)\b[^\n]*",
          "address not configured on host"),
    # A browser's shared memory in a test container is not the service's scratch space.
    _mask("/dev/shm", r"[^\n]{0,60}/dev/shm\b[^\n]{0,80}\b(?:chrome|chromium|puppeteer|playwright|"
          r"selenium|browser)\b[^\n]*|\b(?:chrome|chromium|puppeteer|playwright|selenium|browser)"
          r"\b[^\n]{0,80}/dev/shm\b[^\n]*", "browser shared memory segment"),
    # Database maintenance (dumps, VACUUM FULL, a dropped index) is a query plan or a row
    # lock, not a slow service or a stale lock file.
    _mask("pg_dump|vacuum full|index was dropped|dropped the index|lock timeout",
          r"\bpg_dump\b|\bVACUUM FULL\b|\b(?:since|after) the index was dropped\b|"
          r"\bdropped the index\b|\block timeout\b",
          "database query plan transaction row contention"),
    # A package manager's global install and a shell script without its execute bit are the
    # operator's tooling, not the service's file modes.
    _mask("npm err|node_modules|chmod +x|.sh",
          r"\bnpm ERR![^\n]*|[^\n]{0,60}\bEACCES\b[^\n]{0,60}/node_modules/[^\n]*|"
          r"\bchmod \+x\b|\bpermission denied when (?:i|we|you) run \./\S+|"
          r"\./[\w.-]+\.sh: permission denied\b", "operator tooling script"),
    # Infrastructure code (Terraform's HCL) is the operator's tooling, not the service's config.
    _mask("hcl|terraform|.tf", r"\bInvalid HCL syntax\b|\bterraform\b|\b[\w/-]+\.tf\b",
          "infrastructure code tooling"),
    # A database's base backup job and a vendor's API are neither the service nor its store.
    _mask("basebackup|base backup", r"\b(?:pg[_-]basebackup|base backup)\b[^\n]*",
          "archive copy job"),
    _mask("vendor|third-party|third party",
          r"[^\n]*\b(?:vendor|third[- ]party)(?:'s)? (?:\w+ ){0,2}api\b[^\n]*",
          "external vendor api"),
    # The scheduler finding no node is capacity, not a full disk or a port.
    _mask("nodes are available", r"\b\d+/\d+ nodes are available\b[^\n]*",
          "pod scheduling failure"),
    # A node's condition reported clear, or a node's disk pressure from its container images
    # (kubelet's image garbage collection), is not the service's disk.
    _mask("diskpressure",
          r"\bDiskPressure\s+False\b|"
          r"[^\n]{0,100}\bDiskPressure\b[^\n]{0,100}\b(?:imagefs|image (?:cache|gc|garbage|layers|"
          r"store))\b[^\n]*|[^\n]{0,100}\b(?:imagefs|image (?:cache|gc|garbage|layers|store))\b"
          r"[^\n]{0,100}\bDiskPressure\b[^\n]*", "node condition container images"),
    # An orchestrator's ingress backend without endpoints is an upstream with nothing behind it.
    _mask("endpoints", r"\bendpoints? [\"']?[\w.-]+[\"']? not found\b", "no endpoints available"),
    # A memory limit written in an env file is the app's supervision setting, not the store's
    # maxmemory (that lives in the store's own config).
    _mask("memory",
          r"\bmemory (?:cap|limit|ceiling)\b(?=[^.\n]{0,40}(?:\bapp\.env\b|\benv file\b|\.env\b|"
          r"\b[A-Z][A-Z0-9]*_MEM(?:ORY)?(?:_[A-Z0-9]+)*\b))|"
          r"(?<=\benv file)[^.\n]{0,40}\bmemory (?:cap|limit|ceiling)\b|"
          r"(?<=app\.env)[^.\n]{0,40}\bmemory (?:cap|limit|ceiling)\b",
          "process supervision setting"),
    # How long a process takes to start is its warm-up, not a slow response.
    _mask("start|warm|boot",
          r"\b(?:start-?up|warm-?up|boot|start)(?:ing)? (?:takes?|needs?|lasts?|is|of) "
          r"(?:around |about |~ ?)?\d+(?:\.\d+)? ?(?:s|secs?|seconds?)\b|"
          r"\b(?:successful |last |first )?(?:start-?up|warm-?up|boot|start)\b[^.;\n]{0,25}? "
          r"(?:took|lasted|needed) (?:around |about |~ ?)?\d+(?:\.\d+)? ?(?:s|secs?|seconds?)\b",
          "long warm-up time"),
    # A client's time-out while it waits to connect is a connection never made, not slowness.
    _mask("waiting to connect",
          r"\btimed out after \d+ ?ms while waiting to connect\b|"
          r"\btimed out while waiting to connect\b", "connection not established"),
    # Prometheus failing to evaluate its rules is monitoring, not the service's config.
    _mask("rulefailures|rules in", r"\bPrometheusRuleFailures\b|"
          r"\bfailed to evaluate \d+ rules\b[^\n]*", "monitoring rule evaluation"),
    # A guess asked and answered "no" at once in chat ("disk full? no, df says 40%") is ruled
    # out: its words are not the fault.
    _mask("? no", r"(?:^|(?<=[.!;:,\n]\s)|(?<=\n))[^.?!;:,\n]{1,40}\? ?no(?:pe)?\b"
          r"(?! (?:idea|clue|incident|issue|action|problem|rush))[\s,:;.\u2014-]*", "ruled out"),
    # A cloud project's compute quota is capacity, not a disk quota.
    _mask("quota", r"\bquota exceeded:? (?:for )?(?:\w+ )?(?:vcpus?|cpus?|gpus?|instances|"
          r"(?:ip )?addresses)\b|\b(?:vcpus?|cpus?|gpus?|instances?) quota\b",
          "cloud resource capacity limit"),
    # A backup job timing out on its way to object storage is the backup, not a slow service.
    _mask("backup", r"\bbackup (?:job|run|task)\b[^.\n]{0,40}\b(?:time-?out|timed out)\b",
          "archive copy job failed"),
)


# Texts that are questions, notices or requests rather than incidents.
_NOT_AN_INCIDENT_RE = re.compile(
    r"just (?:logging|noting|fyi)|for the (?:capacity|design|quarterly|weekly) (?:review|doc)|"
    r"design doc|asking for (?![a-z0-9]*_[a-z0-9_]+\b)|no action (?:needed|required)|"
    r"please ignore|test page|"
    r"always firing|what'?s the default|how (?:do|can|should) (?:i|we)\b|"
    r"who (?:must|should|owns|handles|can (?:give|grant))\b|is it ok to|do we still|"
    r"feature request|"
    r"wants? (?:the |a |an |us )?.{0,40}(?:shown|changed|added|moved)\b|"
    r"no (?:errors?|latency)(?: or| and| nor)? (?:errors?|latency)? ?change|within baseline|"
    r"terminated with success|integrity_check.{0,10}ok\b|renewal reminder|approved change|"
    r"^(?:should|shall|when|what(?:'s| is)?|which|how|where|can|could|do|does|is there|"
    r"are there|does anyone) [^.!\n]*\?\s*$|"
    r"\b(?:may|might|could) fail\b|"
    r"(?:probe|check|job|backup|task)s? (?:succeeded|passed|completed)\b|"
    r"\[(?:warn|notice|info)\] \d+#\d+|^nginx: \[(?:warn|notice|info)\]|"
    r"(?:planned|scheduled) maintenance:|will be (?:in|under) maintenance\b|"
    r"design(?:ing)? (?:question|the probes?)|"
    r"what'?s a (?:sane|good|reasonable|sensible)\b|who can (?:create|set up|add|give|grant)\b|"
    r"\bproduct wants\b|wants? to review\b|who has (?:admin|access|rights)\b|"
    r"next (?:sprint|week)\b|drafting (?:the |an? )?(?:rfc|doc|proposal)|opinions welcome|"
    r"(?:super |too |very )?noisy\b.{0,40}\b(?:can|could) we (?:tune|adjust|change)|"
    r"where do we keep\b|no errors (?:so far|yet)\b|capacity (?:review|planning)\b|"
    r"(?:only )?for (?:your )?information(?: only)?\.?\s*$|everything is (?:back to )?normal now\b|"
    r"naming convention|style guide|nothing (?:we|i) can (?:change|do)\b|just monitoring\b|"
    r"not our (?:app|service|code)\W*$|no incident\W*$"
)
# Resolved and informational alerts, announcements (matched at the start of the text only).
_NOTICE_START_RE = re.compile(
    r"\s*(?:\[(?:resolved|info)\b|resolved:)|"
    r"(?:(?!\"status\": \"firing\").){0,250}\"status\": \"resolved\"|"
    r"planned:|heads[- ]up:? we(?:'ll| will)\b")
# A developer's own machine, change requests, sizing and how-to questions (every alternative
# starts with a literal, so the search skips ahead).
_QUESTION_RE = re.compile(
    r"developer workstation|change request|approval needed|"
    r"is (?:that|this|it) (?:a problem|normal|expected)\b|just curious|can we make it \w+er\?|"
    r"which (?:one|(?:\w+ ){1,3})should (?:the |we |i )?|could (?:we|you) (?:get|add|have)\b|"
    r"how to (?:do|add|set|make)\b|can someone give me|enough\?|or the other way round|"
    r"(?:what|which)(?:'s| is) (?:better|best)\b")


def not_an_incident(text: str) -> bool:
    """Whether the text reads as a question, a notice or a request, not a failure report."""
    lowered = mask(text).lower()
    return bool(_NOTICE_START_RE.match(lowered) or _QUESTION_RE.search(lowered)
                or _NOT_AN_INCIDENT_RE.search(lowered))


@lru_cache(maxsize=256)  # a route masks its text twice (expand, not_an_incident): once is enough
def mask(text: str) -> str:
    """The text with misleading strings replaced by their concept (index and query alike)."""
    lowered = text.lower()
    for m in MASKS:
        if any(g in lowered for g in m.gate):
            masked = m.pattern.sub(f" {m.concept} ", text)
            if masked != text:
                text, lowered = masked, masked.lower()
    return text
