"""The skill catalogue: every skill of the project and of the scenario packs, loaded and
checked (a skill that breaks the contract is reported, never used)."""

from __future__ import annotations

from pathlib import Path

from sre_agent import paths
from sre_agent.incidents.catalogue import pack_of
from sre_agent.incidents.model import Incident
from sre_agent.incidents.packs import catalogue_of_packs
from sre_agent.skills.contract import parse_skill_file
from sre_agent.skills.model import (
    PLACEHOLDER_RE,
    Skill,
    SkillCatalog,
    SkillContract,
    SkillInvalid,
    SkillProblem,
    SkillStep,
    TriageCheck,
    markdown_section,
)


def load_catalog(skills_dir: Path | None = None) -> SkillCatalog:
    """Load every `<dir>/<id>/SKILL.md` of the project's skills directory and of every scenario
    pack that brings skills (or only `skills_dir` when given); invalid ones become problems,
    never errors. A skill id declared twice keeps the first and reports the second."""
    if skills_dir is not None:
        roots = [Path(skills_dir)]
    else:
        roots = [paths.skills_dir(), *(p.skills_dir for p in catalogue_of_packs().packs
                                       if p.skills_dir is not None)]
    skills: list[Skill] = []
    problems: list[SkillProblem] = []
    for root in dict.fromkeys(roots):
        found = _load_dir(root)
        for skill in found.skills:
            if any(s.id == skill.id for s in skills):
                problems.append(SkillProblem(path=skill.path, reason=f"skill id {skill.id!r} "
                                             "is declared twice: the first one is used"))
            else:
                skills.append(skill)
        problems += found.problems
    return SkillCatalog(skills=skills, problems=problems)


def for_incident(catalog: SkillCatalog, incident: Incident) -> SkillCatalog:
    """The skills that apply to an incident's system: those its pack's scenarios name and
    those its pack ships (a pack that names none gets the whole catalogue)."""
    pack, _spec = pack_of(incident)
    named = {skill for scenario in pack.scenarios.values() for skill in scenario.skills}
    shipped = pack.skills_dir.resolve() if pack.skills_dir is not None else None
    chosen = [s for s in catalog.skills
              if s.id in named or (shipped is not None and s.path.resolve().parent.parent
                                   == shipped)]
    if not chosen:
        return catalog
    return SkillCatalog(skills=chosen, problems=catalog.problems)


def _load_dir(root: Path) -> SkillCatalog:
    if not root.is_dir():
        return SkillCatalog(problems=[SkillProblem(path=root, reason="skills directory not found")])
    skills: list[Skill] = []
    problems: list[SkillProblem] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        skill_file = folder / "SKILL.md"
        if not skill_file.is_file():
            problems.append(SkillProblem(path=skill_file, reason="no SKILL.md in skill folder"))
            continue
        try:
            skills.append(parse_skill_file(skill_file))
        except SkillInvalid as exc:
            problems.append(SkillProblem(path=skill_file, reason=str(exc)))
    return SkillCatalog(skills=skills, problems=problems)


__all__ = ["PLACEHOLDER_RE", "Skill", "SkillCatalog", "SkillContract", "SkillInvalid",
           "SkillProblem", "SkillStep", "TriageCheck", "for_incident", "load_catalog",
           "markdown_section", "parse_skill_file"]
