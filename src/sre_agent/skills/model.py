"""What a skill is: its runbook steps, its triage checks, its contract, the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sre_agent.errors import UsageError
from sre_agent.safety.levels import RiskName

# A `{var}` placeholder in a step's `run`: identifier only, so shell `{ ...; }` is not one.
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SkillInvalid(ValueError):
    """A SKILL.md that breaks the skill contract; the message is the reason."""


class SkillStep(BaseModel):
    """One runbook step: a single shell command line, checked by `expect`, feeding `capture`."""

    model_config = ConfigDict(frozen=True)

    name: str
    run: str
    expect: str | None = None
    capture: dict[str, str] = Field(default_factory=dict)
    mutates: bool = False

    def placeholders(self) -> list[str]:
        """The `{var}` names used in `run`, in order of first use."""
        return list(dict.fromkeys(PLACEHOLDER_RE.findall(self.run)))

    def render(self, variables: dict[str, str]) -> str:
        """`run` with every `{var}` replaced; raises KeyError for a missing variable."""
        return PLACEHOLDER_RE.sub(lambda m: variables[m.group(1)], self.run)


class TriageCheck(BaseModel):
    """A read-only look at the system for this skill's fault: `supports` (a regex matching
    the output) is evidence for it, `rules_out` evidence against (docs/skill-contract.md)."""

    model_config = ConfigDict(frozen=True)

    name: str
    run: str
    supports: str | None = None
    rules_out: str | None = None


class SkillContract(BaseModel):
    """What a skill promises: the highest risk it needs, how success is judged, its runbook,
    and the checks triage runs to tell whether its fault is there."""

    model_config = ConfigDict(frozen=True)

    max_risk: RiskName
    verify: str
    runbook: list[SkillStep]
    triage: list[TriageCheck] = Field(default_factory=list)


class Skill(BaseModel):
    """A validated skill. `version` is the first 12 hex chars of the file's sha256."""

    model_config = ConfigDict(frozen=True)

    id: str
    path: Path
    description: str
    triggers: list[str]
    body: str
    contract: SkillContract
    version: str

    def section(self, title: str) -> str:
        """Text of the body's `## <title>` section (case-insensitive), or '' if absent."""
        return markdown_section(self.body, title)


class SkillProblem(BaseModel):
    """A skill file (or folder) that was not loaded, and why."""

    path: Path
    reason: str


class SkillCatalog(BaseModel):
    """The loaded skills, sorted by id, plus the files that were rejected."""

    skills: list[Skill] = Field(default_factory=list)
    problems: list[SkillProblem] = Field(default_factory=list)

    def ids(self) -> list[str]:
        return [skill.id for skill in self.skills]

    def get(self, skill_id: str) -> Skill:
        """The skill with this id; UsageError naming the known ids otherwise."""
        for skill in self.skills:
            if skill.id == skill_id:
                return skill
        for problem in self.problems:
            if problem.path.parent.name == skill_id:
                raise UsageError(f"skill {skill_id!r} is invalid: {problem.reason}")
        known = ", ".join(self.ids()) or "none"
        raise UsageError(f"unknown skill {skill_id!r}", hint=f"known skills: {known}")

    def fingerprint(self) -> tuple[tuple[str, str], ...]:
        """(id, version) pairs: equal fingerprints mean identical skill files."""
        return tuple((skill.id, skill.version) for skill in self.skills)


def markdown_section(body: str, title: str) -> str:
    """The text under a `## title` heading up to the next heading of level 1 or 2."""
    heading = re.compile(rf"^##\s+{re.escape(title)}\s*$", re.IGNORECASE | re.MULTILINE)
    match = heading.search(body)
    if not match:
        return ""
    rest = body[match.end() :]
    end = re.search(r"^#{1,2}\s", rest, re.MULTILINE)
    return (rest[: end.start()] if end else rest).strip()
