"""The skill catalogue: the 9 runbooks load with valid contracts, malformed files are reported
with their reason, the OpenHands SDK loads the real ones, and each runbook repairs its scenario."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

import pytest

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.skills.catalogue import SkillInvalid, load_catalog, parse_skill_file
from tests.support import DATA, needs_ns

SKILL_IDS = {
    "stale-lockfile", "bad-env-config", "readiness-probe-fail", "port-mismatch", "disk-full",
    "config-syntax-error", "dependency-down", "permission-denied", "slow-response",
}
MALFORMED = DATA / "skills_malformed"


def test_the_built_in_skills_load_without_problems() -> None:
    catalog = load_catalog()
    assert catalog.problems == []
    assert SKILL_IDS <= set(catalog.ids())  # the packs' skills come on top
    builtin = [s for s in catalog.skills if s.id in SKILL_IDS]
    assert all(s.contract.triage for s in builtin), "every built-in skill declares triage checks"
    assert "healthy-noop" not in catalog.ids() and "corrupted-data-store" not in catalog.ids()


@pytest.mark.parametrize("skill_id", sorted(SKILL_IDS))
def test_runbook_diagnoses_discovers_and_verifies(skill_id: str) -> None:
    skill = load_catalog().get(skill_id)
    raw = skill.path.read_bytes()
    assert skill.version == hashlib.sha256(raw).hexdigest()[:12]
    assert skill.contract.max_risk in {"LOW", "MEDIUM", "HIGH"}
    for section in ("Symptoms", "Diagnosis", "Remediation", "Verification",
                    "When to stop and escalate"):
        assert skill.section(section), f"{skill_id}: section {section!r} missing"
    steps = skill.contract.runbook
    assert not steps[0].mutates and any(s.mutates for s in steps)
    # The health port comes from the sandbox's clients.conf, never from the skill text.
    port_step = next(s for s in steps if "port" in s.capture)
    assert port_step.run == "cat etc/clients.conf"
    assert re.search(port_step.capture["port"], "upstream = 127.0.0.1:8123").group(1) == "8123"
    assert not re.search(r"127\.0\.0\.1:\d", " ".join(s.run for s in steps))
    # Ends by checking /health and /ready on that port, with an expect on a green answer.
    health, ready = steps[-2], steps[-1]
    assert "/health" in health.run and "{port}" in health.run
    assert re.search(health.expect or "^$", '{"instance":"x","status":"ok"}')
    assert "/ready" in ready.run and re.search(ready.expect or "^$", '{"ready": true}')
    for step in steps:
        assert "\n" not in step.run
        assert "store.db" not in step.run or not step.mutates, f"{step.name} touches live data"
        assert not re.search(r"\brm\b.*service\.log(\s|$)", step.run)
    assert "!`" not in raw.decode()


def test_parse_skill_file_raises_skill_invalid_a_value_error() -> None:
    with pytest.raises(SkillInvalid) as info:
        parse_skill_file(MALFORMED / "no-max-risk" / "SKILL.md")
    assert isinstance(info.value, ValueError)
    assert "max-risk" in str(info.value)


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        ("bad-yaml", r"bad frontmatter YAML"),
        ("name-mismatch", r"name 'some-other-name' does not match its folder 'name-mismatch'"),
        ("no-max-risk", r"metadata\.max-risk is missing"),
        ("mutates-first", r"step 1 \(restart\): the first step must not mutate"),
        ("undefined-var", r"step 2 \(check\) uses \{port\} not captured by an earlier step"),
        ("inline-cmd", r"inline !`cmd` at line \d+"),
    ],
)
def test_malformed_skill_is_reported_with_its_reason(folder: str, reason: str) -> None:
    catalog = load_catalog(MALFORMED)
    problems = {p.path.parent.name: p.reason for p in catalog.problems}
    assert folder in problems, problems
    assert re.search(reason, problems[folder]), problems[folder]
    assert folder not in catalog.ids()


def test_malformed_files_do_not_stop_valid_ones_and_get_explains() -> None:
    catalog = load_catalog(MALFORMED)
    assert catalog.ids() == ["valid-skill"]
    assert len(catalog.problems) == 6
    with pytest.raises(UsageError, match="is invalid: metadata.max-risk is missing"):
        catalog.get("no-max-risk")
    with pytest.raises(UsageError) as info:
        catalog.get("nope")
    assert "valid-skill" in (info.value.hint or "")


def _write_skill(root: Path, runbook: str, name: str = "tmp-skill") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    path = folder / "SKILL.md"
    path.write_text(
        f"---\nname: {name}\ndescription: d\ntriggers:\n  - t\nmetadata:\n  max-risk: LOW\n"
        f"  verify: v\n  runbook:\n{runbook}---\nbody\n"
    )
    return path


@pytest.mark.parametrize(
    ("runbook", "reason"),
    [
        ('    - name: a\n      run: "ls"\n    - name: b\n      run: "rm x"\n      mutates: true\n',
         "mutates before any non-mutating step with an expect or capture"),
        ('    - name: a\n      run: "ls"\n      capture:\n        x: "(a)(b)"\n',
         "exactly one group, has 2"),
        ('    - name: a\n      run: "ls"\n      expect: "(unclosed"\n', "not a valid regex"),
        ('    - name: a\n      run: "ls"\n      mutate: true\n', "unknown key(s) mutate"),
        ('    - name: a\n      run: "ls"\n      mutates: "yes"\n', "mutates must be true or false"),
        ('    - name: a\n', "has no run command"),
        ("    []\n", "non-empty list of steps"),
    ],
)
def test_contract_rules(tmp_path: Path, runbook: str, reason: str) -> None:
    path = _write_skill(tmp_path, runbook)
    with pytest.raises(SkillInvalid, match=re.escape(reason)):
        parse_skill_file(path)


def test_shell_braces_are_not_placeholders(tmp_path: Path) -> None:
    runbook = ('    - name: a\n      run: "svc status"\n      capture:\n        p: "(\\\\d+)"\n'
               '    - name: b\n      run: "test -n {p} && echo { ok; }"\n')
    skill = parse_skill_file(_write_skill(tmp_path, runbook))
    assert skill.contract.runbook[1].placeholders() == ["p"]
    assert skill.contract.runbook[1].render({"p": "8"}) == "test -n 8 && echo { ok; }"


def test_a_parse_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    runbook = '    - name: a\n      run: "svc status"\n'
    path = _write_skill(tmp_path, runbook)
    first = parse_skill_file(path)
    assert parse_skill_file(path) is first  # same path and bytes: the frozen parse, reused
    path.write_text(path.read_text().replace("description: d", "description: changed"))
    second = parse_skill_file(path)
    assert second.description == "changed" and second.version != first.version
    path.write_text(path.read_text().replace("name: tmp-skill", "name: Bad Name"))
    with pytest.raises(SkillInvalid):  # a broken edit is reported, never the old parse
        parse_skill_file(path)


def test_missing_skills_dir_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "nowhere")
    assert catalog.skills == [] and "not found" in catalog.problems[0].reason


def test_openhands_sdk_loads_the_nine_with_their_triggers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sre_agent.sdk import prepare_environment

    prepare_environment()
    from openhands.sdk.skills import load_project_skills

    work = tmp_path / "project"
    shutil.copytree(paths.skills_dir(), work / ".agents" / "skills")
    ours = {s.id: s for s in load_catalog(work / ".agents" / "skills").skills}
    with caplog.at_level(logging.WARNING):
        loaded = {s.name: s for s in load_project_skills(work)}
    assert set(loaded) == SKILL_IDS
    for name, sdk_skill in loaded.items():
        assert sdk_skill.get_triggers() == ours[name].triggers
        assert sdk_skill.description == ours[name].description
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []


@needs_ns
@pytest.mark.parametrize("skill_id", sorted(SKILL_IDS))
def test_runbook_played_step_by_step_repairs_its_scenario(skill_id: str) -> None:
    """Each step runs inside a real sandbox; expect/capture as the runbook policy applies them."""
    from sre_agent.incidents import VerifySettings, catalogue
    from sre_agent.sandbox import create_sandbox

    scenario = next(s.name for s in catalogue() if s.skill_id == skill_id)
    skill = load_catalog().get(skill_id)
    captured: dict[str, str] = {}
    with create_sandbox(scenario, 2, "ns") as sb:
        for step in skill.contract.runbook:
            out = sb.exec(step.render(captured), timeout=60).output
            if step.expect:
                assert re.search(step.expect, out, re.MULTILINE), f"{step.name}: {out[-400:]}"
            for var, pattern in step.capture.items():
                match = re.search(pattern, out, re.MULTILINE)
                assert match, f"{step.name}: capture {var} found nothing in {out[-400:]}"
                captured[var] = match.group(1)
        policy = VerifySettings(consecutive_successes=2, max_attempts=4, interval_s=0.2)
        verdict = sb.verify(policy)
    assert verdict.healthy and verdict.ground_truth_ok, verdict.reason
