"""Evidence from command outputs: supports, rule-outs, ranking, health (pure, no sandbox)."""

from __future__ import annotations

from sre_agent.triage import CheckRun, HealthCheck, Plan, SkillCheck, judge
from sre_agent.triage.evidence import EXCERPT_CHARS, health_result

STATUS = "svc status"
LOGS = "svc logs app -n 5"
HEALTH = "curl -sS -m 2 -w '\\nHTTP %{http_code}\\n' http://127.0.0.1:8080/health"


def _plan(**extra: object) -> Plan:
    return Plan(
        skills=["stale-lockfile", "dependency-down", "port-mismatch"],
        checks=[
            SkillCheck(skill="stale-lockfile", name="log", run=LOGS,
                       supports=r"lock file \S+ is held by pid \d+"),
            SkillCheck(skill="stale-lockfile", name="status", run=STATUS,
                       rules_out=r"^app\s+RUNNING\b"),
            SkillCheck(skill="dependency-down", name="status", run=STATUS,
                       supports=r"^kv\s+STOPPED\b", rules_out=r"^kv\s+RUNNING\b"),
        ],
        health=[HealthCheck(name="health", run=HEALTH, status=200,
                            json_paths={"$.status": "ok"})],
        **extra)


def _run(command: str, output: str, **kw: object) -> CheckRun:
    return CheckRun(command=command, exit_code=0, output=output, duration_s=0.01, **kw)


def test_supports_rank_a_skill_and_rule_outs_remove_others() -> None:
    runs = {LOGS: _run(LOGS, "ERROR lock file run/x.lock is held by pid 4242 (not running)"),
            STATUS: _run(STATUS, "kv    RUNNING   pid 9\napp   FATAL     last exit 1"),
            HEALTH: _run(HEALTH, "curl: (7) Failed to connect\nHTTP 000")}
    report = judge(_plan(), runs)
    assert report.fitting == ["stale-lockfile"]
    assert report.healthy is False
    lock = report.fit_of("stale-lockfile")
    assert lock and lock.score == 1 and lock.supports[0].excerpt.startswith("ERROR lock file")
    kv = report.fit_of("dependency-down")
    assert kv and not kv.fits and kv.against[0].excerpt.startswith("kv    RUNNING")
    assert report.ranked[0].skill == "stale-lockfile"
    assert report.commands_run == 3


def test_a_rule_out_outweighs_a_support() -> None:
    runs = {LOGS: _run(LOGS, "lock file a is held by pid 1"),
            STATUS: _run(STATUS, "app   RUNNING   pid 3")}
    report = judge(_plan(), runs)
    assert report.fit_of("stale-lockfile").score == -1  # type: ignore[union-attr]
    assert report.nothing_fits


def test_a_check_that_timed_out_or_did_not_run_is_no_evidence() -> None:
    runs = {LOGS: _run(LOGS, "lock file a is held by pid 1", timed_out=True),
            STATUS: CheckRun(command=STATUS, exit_code=None, output="[not run]", duration_s=0)}
    report = judge(_plan(), runs)
    assert report.nothing_fits and not any(f.against for f in report.ranked)


def test_health_needs_the_status_and_the_json() -> None:
    check = _plan().health[0]
    assert health_result(check, _run(HEALTH, '{"status": "ok"}\nHTTP 200')).ok
    bad_json = health_result(check, _run(HEALTH, '{"status": "degraded"}\nHTTP 200'))
    assert not bad_json.ok and "$.status" in bad_json.detail
    red = health_result(check, _run(HEALTH, '{"status": "error", "error": "kv down"}\nHTTP 503'))
    assert not red.ok and red.detail == "HTTP 503: kv down"
    assert not health_result(check, None).ok


def test_no_health_check_means_health_unknown() -> None:
    report = judge(Plan(skills=["x"]), {})
    assert report.healthy is None and report.nothing_fits


def test_excerpts_are_one_printable_bounded_line() -> None:
    hostile = "lock file " + "A" * 5000 + " is held by pid 7\x1b[31m\x07\nnext line"
    report = judge(_plan(), {LOGS: _run(LOGS, hostile)})
    excerpt = report.fit_of("stale-lockfile").supports[0].excerpt  # type: ignore[union-attr]
    assert len(excerpt) <= EXCERPT_CHARS and "\n" not in excerpt and "\x1b" not in excerpt
