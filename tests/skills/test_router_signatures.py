"""The router's reading of real software's strings (signatures, masks, context rules): each
rule recognises its string and leaves look-alikes alone. Texts written for this test, not taken
from the router dataset."""

from __future__ import annotations

import pytest

from sre_agent.skills.catalogue import SkillCatalog, load_catalog
from sre_agent.skills.context import DEPENDENCY_CONCEPT, DUPLICATE_CONCEPT
from sre_agent.skills.masks import mask, not_an_incident
from sre_agent.skills.router import route
from sre_agent.skills.signatures import expand


@pytest.fixture(scope="module")
def catalog() -> SkillCatalog:
    return load_catalog()


def _concepts(text: str) -> list[str]:
    return expand(text)[1]


@pytest.mark.parametrize(
    "text",
    [
        "$ grep -n '^CACHE_PORT=' etc/svc.env\n2:CACHE_PORT=6379\n17:CACHE_PORT=6390",
        "env:\n- name: QUEUE_URL\n  value: \"amqp://a\"\n- name: QUEUE_URL\n  value: \"amqp://b\"",
        "$ grep -c '^API_TOKEN_TTL=' /srv/app/.env\n2",
        "2: CACHE_PORT 6379 \n17: CACHE_PORT 6390",  # an alert-style reading of KEY=value
    ],
)
def test_one_variable_with_two_values_is_a_duplicate(text: str) -> None:
    concepts = _concepts(text + "\nwaiting for cache: connection refused")
    assert DUPLICATE_CONCEPT in concepts and DEPENDENCY_CONCEPT not in concepts


@pytest.mark.parametrize(
    "text",
    [
        # Two files compared (the env file against its documented example) are not a duplicate.
        "etc/svc.env:WORKER_MEMORY_MB=48\netc/svc.env.example:WORKER_MEMORY_MB=512",
        "CACHE_PORT=6379 and again CACHE_PORT=6379",  # the same value twice
        "$ grep -c '^API_TOKEN_TTL=' .env\n1",
    ],
)
def test_a_variable_compared_or_repeated_identically_is_not_a_duplicate(text: str) -> None:
    assert DUPLICATE_CONCEPT not in _concepts(text)


def test_a_backing_service_said_to_run_is_not_down() -> None:
    refused = "app: waiting for cache at cache.svc:6379: Connection refused"
    assert DEPENDENCY_CONCEPT in _concepts(refused)
    assert DEPENDENCY_CONCEPT in _concepts(refused + "; redis is not running")
    for up in ("; yet redis is RUNNING", "; redis-cli ping answers PONG", "; valkey is up"):
        assert DEPENDENCY_CONCEPT not in _concepts(refused + up), up


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("[ERROR] Connection in use: ('0.0.0.0', 8000)", "port address already in use"),
        ("service failed: cannot parse /etc/svc/app.toml", "config parse error syntax error"),
        ("app.ini still has <<<<<<< HEAD in it after the merge", "config parse error syntax error"),
        ('"GET /ready HTTP/1.1" 503 -', "readiness probe not ready"),
        ("api FATAL: stale .pid left by the killed instance", "stale lock file held by pid"),
        ("old api.pid from the crashed run", "stale lock file held by pid"),
        ('Service "shop/api" does not have any active Endpoint.', "upstream backend not serving"),
        ("sqlite3 shell with an open BEGIN IMMEDIATE", "database busy concurrent writer"),
        ("cache auth errors since the password rotation", "authentication password rotated"),
        ("cache.svc resolves to 10.9.8.7 but redis listens on 127.0.0.1", "name resolves address"),
        ("loading the model (20s)\nreceived SIGTERM, exiting", "liveness probe killed while "
         "warming up"),
        ("the predict_linear alert says the disk fills up in 3 hours", "disk full no space left"),
        ("the /dev/shm ram disk is full", "tmpfs scratch full"),
        ("every /api call answers the maintenance page", "service in maintenance mode"),
        ("nginx won't start after the edit", "nginx will not start configuration test failed"),
        ("errors on 1 in 5 checkouts since the flag ramped to 20%", "feature flag rollout"),
        ("new uploads fail but reading old files works", "read only not writable"),
    ],
)
def test_signatures_add_their_concept(text: str, concept: str) -> None:
    assert concept in _concepts(text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("every new db connection fails with EMFILE", "orders vanished database path wrong empty "
         "file"),
        ("the port is open and connections work", "port address already in use"),
        ("reads fail and writes fail", "read only not writable"),
        ("we rotate the logs nightly", "authentication password rotated"),
    ],
)
def test_look_alikes_do_not_add_the_concept(text: str, concept: str) -> None:
    assert concept not in _concepts(text)


def test_masks_keep_a_full_disk_from_the_kernel() -> None:
    masked = mask("kernel: EXT4-fs warning (device sdb1): ext4_writepages: No space left on device")
    assert "hardware fault" in masked and "No space left on device" in masked
    assert "No space" not in mask("kernel: EXT4-fs error (device sdb1): bad block bitmap")


@pytest.mark.parametrize(
    "text",
    [
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (apt-get)",
        "Error: ENOSPC: System limit for number of file watchers reached, watch '/src'",
        "Task timed out after 6.00 seconds",
        "curl: (60) SSL: no alternative certificate subject name matches target host name 'x.io'",
        "google.api_core.exceptions.PermissionDenied: 403 Permission 'storage.objects.get' denied "
        "on resource",
        "permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock",
        "# Wrong RDB checksum expected: (0x1) got (0x2). Aborting now.",
        "OCI runtime create failed: runc create failed: exec: \"/start.sh\": permission denied",
    ],
)
def test_confusers_of_real_software_abstain(catalog: SkillCatalog, text: str) -> None:
    assert route(text, catalog).skill is None


@pytest.mark.parametrize(
    "text",
    [
        "planned maintenance: the card processor will be in maintenance mode on Sunday",
        "design question: should the readiness probe check the queue?",
        "what's a sane initialDelaySeconds for a slow JVM?",
        "marketing wants a flag for the new banner, who can create it?",
    ],
)
def test_notices_and_questions_are_not_incidents(text: str) -> None:
    assert not_an_incident(text)


def test_an_incident_after_maintenance_is_still_one() -> None:
    assert not not_an_incident("after the maintenance window redis stayed stopped")


# --- dev4 round: confusers of real software, each mask against look-alikes it must leave alone


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("vite says port 3000 is taken on my laptop", "developer workstation"),
        ("jest: listen EADDRINUSE :::4000 between two spec files", "developer workstation"),
        ("fatal: Unable to create '/srv/repo/.git/index.lock': File exists.",
         "version control build tool"),
        ("Timeout waiting to lock build cache. It is currently in use by another Maven process.",
         "version control build tool"),
        ('type=AVC msg=audit(1.2:3): avc:  denied  { name_connect } for pid=9 comm="php-fpm"',
         "kernel network connect rule"),
        ("[FIRING] AWSAccessDeniedSpike role=etl", "cloud api authorization refused"),
        ("please grant me read access to the billing exports bucket",
         "cloud api authorization refused"),
        ("high disk watermark [90%] exceeded on [node-2]", "search cluster shard allocation"),
        ("x509: certificate has expired or is not yet valid: current time 2001-01-01T00:00:00Z "
         "is before 2026-01-01T00:00:00Z", "certificate issuance trust chain clock"),
        ("PKIX path building failed: unable to find valid certification path to requested target",
         "certificate issuance trust chain clock"),
        ("CLUSTERDOWN Hash slot not served", "store cluster data model"),
        ("consumer lag on the kafka topic orders is 2M", "stream platform"),
        ("bind 10.1.2.3 failed: the address is not on this host", "address not configured on host"),
        ("chromium crashes: /dev/shm is 64MB in the CI image", "browser shared memory segment"),
        ("pg_dump blocked behind VACUUM FULL", "database query plan"),
        ("npm ERR! code EACCES while installing typescript globally", "operator tooling script"),
        ("bash: ./rotate-logs.sh: Permission denied", "operator tooling script"),
    ],
)
def test_masks_of_confusers(text: str, concept: str) -> None:
    assert concept in mask(text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("my debug stub is still on the app's port", "developer workstation"),
        ("Port 8001 is in use by another program.", "version control build tool"),
        ("lock /data/.lock held by another instance", "version control build tool"),
        ('type=AVC msg=audit(1.2:3): avc:  denied  { write } for comm="app" name="data"',
         "kernel network connect rule"),
        ("RuntimeError: STORAGE_BUCKET must be set", "cloud api authorization refused"),
        ("SSLCertExpired notAfter=Nov 29 00:00:00 2026 GMT (expired 2 days ago)",
         "certificate issuance trust chain clock"),
        ("Environment variable KAFKA_BOOTSTRAP is not defined", "stream platform"),
        ("nginx: connect() failed (99: Cannot assign requested address) while connecting",
         "address not configured on host"),
        ("the /dev/shm scratch tmpfs of the app is full", "browser shared memory segment"),
        ("somebody ran chmod -R on the data folder, app can't read it", "operator tooling script"),
    ],
)
def test_masks_leave_look_alikes(text: str, concept: str) -> None:
    assert concept not in mask(text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("web :443 cert notAfter passed", "ssl certificate expired https"),
        ("$ ls -ld var/data\nd-w------- 2 svc svc 4096 var/data", "permission denied file mode"),
        ("$ curl -w 'total=%{time_total}' http://127.0.0.1/health\ntotal=4.120",
         "high latency slow response"),
        ("the worker crashes on message m-17 each time it is picked up",
         "poison job queue worker crash"),
        ("data disk crit alert but df says 18%", "disk alert fires while disk has room"),
        ("disk alert paging but the volume is mostly empty",
         "disk alert fires while disk has room"),
    ],
)
def test_signatures_of_the_dev4_round(text: str, concept: str) -> None:
    assert concept in _concepts(text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("notAfter=Dec  9 00:00:00 2027 GMT, renewal in 30 days", "ssl certificate expired https"),
        ("-rw-r--r-- 1 svc svc 4096 var/data/store.db", "permission denied file mode"),
        ("$ curl -w 'total=%{time_total}' http://127.0.0.1/health\ntotal=0.012",
         "high latency slow response"),
        ("the worker picked up job j-4 and finished it", "poison job queue worker crash"),
        ("data disk crit alert and df says 97%", "disk alert fires while disk has room"),
    ],
)
def test_look_alikes_of_the_dev4_round(text: str, concept: str) -> None:
    assert concept not in _concepts(text)


@pytest.mark.parametrize(
    "text",
    [
        "[RESOLVED] ApiErrorRate back to normal",
        "[INFO] NewVersionAvailable: nginx 1.27.3",
        '{"version": "4", "status": "resolved", "alerts": [{"status": "resolved"}]}',
        "planned: cache failover drill Tue 10:00 UTC",
        "heads up: we'll restart the workers after lunch",
        "change request CR-88: raise the pool size, approval needed",
        "40k sockets in TIME-WAIT on the proxy, is that a problem?",
        "which retention policy should the metrics store use?",
        "could we get an alert on queue depth before the launch?",
        "new flag for the banner, how to add it?",
        "256 MB for the session cache: enough?",
        "does the env file override the unit's Environment= or the other way round?",
        "npm run dev fails on my laptop with EADDRINUSE",
    ],
)
def test_notices_questions_and_workstations_are_not_incidents(text: str) -> None:
    assert not_an_incident(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"status": "firing", "alerts": [{"status": "firing"}, {"status": "resolved"}]}',
        "the info page of the shop answers 502",
        "INFO memory: used_memory_human:64.00M maxmemory_human:64.00M",
        "can we flip the feature flag off? the canary cohort gets 500s",
        "should we delete old orders to silence the disk alert? df shows free space",
        "checkout latency is not a problem for reads, but writes hang for 5 s",
    ],
)
def test_incidents_with_question_words_stay_incidents(text: str) -> None:
    assert not not_an_incident(text)


@pytest.mark.parametrize(
    "text",
    [
        "fatal: Unable to create '/work/app/.git/index.lock': File exists.",
        "Gradle: Timeout waiting to lock artifact cache. It is currently in use by another Gradle "
        "daemon process.",
        "org.apache.kafka.common.errors.SerializationException: poison message on topic refunds",
        "flood stage disk watermark [95%] exceeded on [es-hot-1]",
        'type=AVC msg=audit(1.2:3): avc:  denied  { name_connect } for pid=9 comm="nginx" '
        "dest=6379 scontext=system_u:system_r:httpd_t:s0",
    ],
)
def test_dev4_confusers_abstain(catalog: SkillCatalog, text: str) -> None:
    assert route(text, catalog).skill is None


# --- the dev5 round: each rule with the string it reads and a look-alike it leaves alone
@pytest.mark.parametrize(
    ("text", "concept", "look_alike"),
    [
        ("app.toml: unterminated section at line 4", "config syntax error parse error",
         "the section of the runbook on config is unfinished"),
        ("someone deleted the [main] header of the ini", "config syntax error parse error",
         "the page header shows the wrong logo"),
        ("api answers the holding page on every route", "service in maintenance mode",
         "the maintenance window for the db is on sunday"),
        ("[10:00:00] loading module maintenance:application", "service in maintenance mode",
         "[10:00:00] loading module shop.wsgi:application"),
        ("since the CIS hardening /srv/media is no longer readable by www-data",
         "permission denied file mode",
         "the log is no longer readable for humans, too verbose"),
        ("after the deploy the store file went 0400", "permission denied file mode",
         "the build went 4040 ms"),
        ("db host ran out of room on /var", "disk full no space left", "the meeting room is out"),
        ("daemon exits: 'already started elsewhere'", "stale lock file held by pid",
         "the replica is already up and serving"),
        ("process_open_fds 1023 of process_max_fds 1024", "too many open files limit",
         "process_cpu_seconds_total climbing"),
        ("probe: connect refused on :8080", "connection refused", "connect timed out"),
        ("every page 6s+ today", "high latency slow response", "6 pages today"),
        ("app start-up never completes", "stuck waiting at start up", "app start-up completes"),
        ("found a duplicate DB host variable in the unit file", "duplicate variable defined twice",
         "duplicate key value violates unique constraint"),
        ("job j-7 amount='1O' ValueError: could not convert string to float",
         "poison job queue worker crash", "ValueError: could not convert string to float"),
        ("TLS on :443 fails: certificate out of date", "ssl certificate expired https",
         "the docs about certs are out of date"),
        ("Chrome: NET::ERR_CERT_DATE_INVALID", "ssl certificate expired https",
         "Chrome: NET::ERR_CERT_AUTHORITY_INVALID"),
        ("probe_ssl_earliest_cert_expiry - time() < 0", "ssl certificate expired https",
         "probe_ssl_earliest_cert_expiry - time() < 86400 * 20"),
        ("nginx: this key doesn't match the cert on disk", "ssl key mismatch certificate",
         "nginx: this key matches the cert on disk"),
        ("5xx since the flag ramp to 30%", "feature flag rollout", "the ramp to the garage"),
        ("500s only for users bucketed into variant B", "feature flag rollout",
         "requests are batched into groups"),
        ("supervisor kills it mid-warm-up each time", "liveness probe killed while warming up",
         "warm-up finished, serving"),
        ("watchdog timer cut to 5 s, it kills the app", "liveness probe killed while warming up",
         "the watchdog reports all green"),
        ("the client retries in a tight loop", "retry storm retries no backoff",
         "the request retried once and succeeded"),
        ("egress calls error out, local ports exhausted", "bursts under load ephemeral ports",
         "source code was used up as an example"),
        ("a stray listener squatting on :9000", "another process holds the port",
         "port 9000 answers the app"),
        ("root disk crit alert; df shows 3%", "disk alert fires while disk has room",
         "root disk crit alert; df shows 99%"),
        ("DiskFull page, yet the volume shows 81% free", "disk alert fires while disk has room",
         "the disk is 3% free"),
        ("app.env now points the db file elsewhere", "orders vanished database path wrong "
         "empty file", "the env points at the cache"),
        ("GET /api/orders/o-1 returned 404", "orders vanished database path wrong empty file",
         "GET /static/logo.png returned 404"),
        ("redis rejects the worker's credentials", "authentication password rotated",
         "the cache rejects writes: OOM"),
        ("ACL LOG: reason auth, object AUTH", "authentication password rejected",
         "ACL LIST shows two users"),
        ("the LB refuses to send the new pod requests", "readiness probe not ready",
         "the LB sends the new pod requests"),
        ("valkey at its memory cap and nothing is allowed to be evicted", "redis memory limit "
         "maxmemory eviction policy", "the cpu hit 80% at noon"),
        ('worker: 40 "locked" errors on shop.db in 5 min', "database busy concurrent writer",
         "shop.db is 4 GB"),
        ("nginx fails the config test after the deploy", "nginx emerg configuration test "
         "failed", "nginx passes the config test after the deploy"),
        ('LISTEN 0 5 127.0.0.1:8081 users:(("python3",pid=4410,fd=3)) | app BACKOFF',
         "another process holds the port", 'LISTEN 0 5 *:8081 users:(("app",pid=9,fd=3)) | app '
         "RUNNING"),
        ("p99 1.4s, persisting 20m after the 5s cache pause", "retry storm metastable",
         "p99 1.4s since the deploy, cache pause at 10:00"),
        ("latency high 30m after the db hiccup resolved", "retry storm metastable",
         "latency high after the db hiccup"),
    ],
)
def test_signatures_of_the_dev5_round(text: str, concept: str, look_alike: str) -> None:
    assert concept in _concepts(text)
    assert concept not in _concepts(look_alike)


@pytest.mark.parametrize(
    ("text", "found", "look_alike"),
    [
        ("sessions store on cache-2: not running since 04:00", True, "the sessions store answers"),
        ("our storage component crashed at 3am", True, "the storage component is fine"),
        ("someone turned off the caching layer", True, "someone turned on the caching layer"),
    ],
)
def test_backing_services_of_the_dev5_round(text: str, found: bool, look_alike: str) -> None:
    assert (DEPENDENCY_CONCEPT in _concepts(text)) is found
    assert DEPENDENCY_CONCEPT not in _concepts(look_alike)


def test_a_variable_the_environment_lacks_is_missing() -> None:
    assert "missing required environment variable" in _concepts(
        "stderr: environment lacks PAYMENTS_URL")
    assert "missing required environment variable" not in _concepts(
        "stderr: the page lacks a footer")


@pytest.mark.parametrize(
    "text",
    [
        "legal wants to review the cookie text",
        "who has access to the grafana folder for billing?",
        "can we move the toggle to the new service next sprint",
        "drafting an RFC about log retention, opinions welcome",
        "memory alert on the ETL hosts is too noisy, could we adjust it",
        "where do we keep the on-call rota doc?",
        "capacity review: the data volume grows 5% a month",
        "Unleash: toggle 'x' moved from 10% to 25% (no errors so far)",
    ],
)
def test_notices_of_the_dev5_round(text: str) -> None:
    assert not_an_incident(text)
    assert not not_an_incident("checkout 500s since the toggle moved to 25%")


@pytest.mark.parametrize(
    "text",
    [
        "Error: Invalid HCL syntax on infra/main.tf line 9",
        "envoy: bind 10.1.2.3:443: cannot assign requested address (not configured on any "
        "interface)",
        "inotify_add_watch(/srv/src) failed: No space left on device",
        "pg_basebackup: could not write to archive, connection timed out",
        "SocketTimeoutException: Read timed out calling the payment vendor's REST API",
        "GitHub Actions: workflow lint fails, PYPI_TOKEN missing for forked PRs",
    ],
)
def test_dev5_confusers_abstain(catalog: SkillCatalog, text: str) -> None:
    assert route(text, catalog).skill is None
