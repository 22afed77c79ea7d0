"""Skills: the runbook catalogue (`.agents/skills/<id>/SKILL.md` with a machine-checked
contract) and the router that picks one for an incident text, or abstains."""

from sre_agent.skills.catalogue import (
    Skill,
    SkillCatalog,
    SkillInvalid,
    SkillStep,
    load_catalog,
    parse_skill_file,
)
from sre_agent.skills.router import RouteResult, route

__all__ = ["RouteResult", "Skill", "SkillCatalog", "SkillInvalid", "SkillStep", "load_catalog",
           "parse_skill_file", "route"]
