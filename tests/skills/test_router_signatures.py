"""The router's reading of real software's strings (signatures, masks, context rules): each
rule recognises its string and leaves look-alikes alone. Texts written for this test, not taken
from the router dataset."""

from __future__ import annotations

import pytest

from sre_agent.skills.catalogue import SkillCatalog, load_catalog
from sre_agent.skills.masks import mask, not_an_incident
from sre_agent.skills.router import route
from sre_agent.skills.signatures import DEPENDENCY_CONCEPT, DUPLICATE_CONCEPT, expand


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
