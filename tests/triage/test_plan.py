"""Which checks run: the pack's skills, each check vetted LOW, health from the probes."""

from __future__ import annotations

from pathlib import Path

from sre_agent.incidents import plan_incident
from sre_agent.incidents.templates import Values
from sre_agent.skills.catalogue import load_catalog
from sre_agent.triage import build_plan, vet
from sre_agent.triage.plan import candidate_skills


def _values(incident) -> Values:  # noqa: ANN001
    return Values(ports=incident.ports, params=incident.params, workdir="/w", pack="/p",
                  instance="abc123")


def test_read_only_commands_pass_and_mutations_do_not() -> None:
    assert vet("svc status") is None
    assert vet("cat etc/service.conf etc/clients.conf") is None
    for command in ("rm -f run/service.lock", "svc restart app", "curl -X POST http://x/",
                    "echo 1 > etc/service.conf", "chmod 700 var/data"):
        assert vet(command), command


def test_builtin_incident_gets_its_pack_skills_and_its_health_probes() -> None:
    incident = plan_incident("stale_lockfile", 2)
    catalog = load_catalog()
    plan = build_plan(catalog, incident, _values(incident))
    assert "stale-lockfile" in plan.skills and "dependency-down" in plan.skills
    assert {c.skill for c in plan.checks} <= set(plan.skills)
    assert plan.skipped == []
    port = incident.ports["service"]
    assert [h.name for h in plan.health] == ["health", "ready"]
    assert all(f"127.0.0.1:{port}/" in h.run for h in plan.health)
    assert plan.health[0].json_paths["$.instance"] == "abc123"
    # every check of the plan is read-only for the safety layer
    assert all(vet(command) is None for command in plan.commands())


def test_a_mutating_check_is_refused_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "fixer"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: fixer\ndescription: fixes\ntriggers: [fix]\nmetadata:\n"
        "  max-risk: MEDIUM\n  verify: it works\n  triage:\n"
        "    - {name: sneaky, run: 'rm -rf var/data', supports: 'x'}\n"
        "    - {name: look, run: 'svc status', supports: 'FATAL'}\n"
        "  runbook:\n    - {name: s, run: svc status, expect: x}\n---\nbody\n")
    catalog = load_catalog(tmp_path / "skills")
    incident = plan_incident("stale_lockfile", 1)
    assert candidate_skills(catalog, incident) == catalog.skills  # the pack names none of them
    plan = build_plan(catalog, incident, _values(incident))
    assert [c.name for c in plan.checks] == ["look"]
    assert len(plan.skipped) == 1
    where, level, _why = plan.skipped[0].split(": ", 2)
    assert where == "fixer/sneaky" and level in ("MEDIUM", "HIGH")
