"""Which checks a triage runs for one incident, each vetted read-only by the safety layer.

The candidates are the skills of the incident's pack (the skills its scenarios name and the
skills it ships); a pack that names none gets every skill of the catalogue. A check whose
command the safety layer does not rate LOW is refused (listed in `Plan.skipped`, never run):
triage runs before anyone approved anything, so it may only look. Health checks come from the
pack's steady-state HTTP probes (GET only), with the incident's ports and instance rendered.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from sre_agent.incidents import Incident
from sre_agent.incidents.catalogue import pack_of, steady_state
from sre_agent.incidents.spec import HttpProvider
from sre_agent.incidents.templates import Values
from sre_agent.incidents.tolerance import as_data
from sre_agent.safety.assess import assess_command
from sre_agent.safety.levels import Risk
from sre_agent.skills.catalogue import for_incident
from sre_agent.skills.model import Skill, SkillCatalog
from sre_agent.triage.model import HealthCheck, Plan, SkillCheck

HEALTH_TIMEOUT_S = 2.0


def vet(command: str) -> str | None:
    """None when `command` may run as a triage check; otherwise why not (one home for the
    rule: triage checks are read-only, i.e. LOW for the safety layer)."""
    verdict = assess_command(command, None)
    if verdict.risk == Risk.LOW:
        return None
    return f"{verdict.risk.value}: {'; '.join(verdict.reasons) or 'not read-only'}"


def candidate_skills(catalog: SkillCatalog, incident: Incident) -> list[Skill]:
    """The skills that apply to the incident's system (`skills.catalogue.for_incident`)."""
    return list(for_incident(catalog, incident).skills)


def skill_checks(skills: Iterable[Skill]) -> tuple[list[SkillCheck], list[str]]:
    """The vetted checks of these skills, and the refused ones (with the reason)."""
    checks: list[SkillCheck] = []
    skipped: list[str] = []
    verdicts: dict[str, str | None] = {}
    for skill in skills:
        for check in skill.contract.triage:
            if check.run not in verdicts:
                verdicts[check.run] = vet(check.run)
            problem = verdicts[check.run]
            if problem:
                skipped.append(f"{skill.id}/{check.name}: {problem}")
                continue
            checks.append(SkillCheck(skill=skill.id, name=check.name, run=check.run,
                                     supports=check.supports, rules_out=check.rules_out))
    return checks, skipped


def health_checks(incident: Incident, values: Values) -> list[HealthCheck]:
    """The pack's steady-state HTTP GET probes as curl commands run inside the sandbox."""
    pack, spec = pack_of(incident)
    found = []
    for probe in steady_state(pack, spec).probes:
        provider = probe.provider
        if not isinstance(provider, HttpProvider) or provider.method.upper() != "GET":
            continue
        port = incident.ports.get(provider.port)
        if port is None:
            continue
        scheme = "https" if provider.tls else "http"
        url = f"{scheme}://127.0.0.1:{port}{values.render(provider.path)}"
        timeout = min(provider.timeout, HEALTH_TIMEOUT_S)
        command = (f"curl -sS{'k' if provider.tls else ''} -m {timeout:g} "
                   f"-w '\\nHTTP %{{http_code}}\\n' {shlex.quote(url)}")
        status = probe.status if probe.status is not None else 200
        found.append(HealthCheck(
            name=probe.name, run=command,
            status=values.render_obj(as_data(status)),
            json_paths={path: values.render_obj(as_data(tol))
                        for path, tol in probe.json_paths.items()}))
    return found


def build_plan(catalog: SkillCatalog, incident: Incident, values: Values) -> Plan:
    """The triage plan of one incident (no command runs here)."""
    skills = candidate_skills(catalog, incident)
    checks, skipped = skill_checks(skills)
    health = []
    for check in health_checks(incident, values):
        problem = vet(check.run)
        if problem:
            skipped.append(f"health/{check.name}: {problem}")
        else:
            health.append(check)
    return Plan(skills=[s.id for s in skills], checks=checks, health=health, skipped=skipped)
