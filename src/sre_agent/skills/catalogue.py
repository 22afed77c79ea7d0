"""The skill catalogue: `.agents/skills/<id>/SKILL.md` runbooks, parsed and validated.

A skill is an AgentSkills file (YAML frontmatter + Markdown body) that the OpenHands SDK also
loads. The SDK flattens `metadata` to strings, so this module parses the raw frontmatter with
PyYAML and checks the contract in `docs/skill-contract.md`. A skill that breaks the contract is
reported as a `SkillProblem` (file + reason) and left out of the catalogue; loading never
crashes on a bad file. No SDK import here: this is on the fast path of `skills route`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.incidents.packs import catalogue_of_packs
from sre_agent.safety.levels import RISK_LEVELS, RiskName

MAX_NAME_LENGTH = 64

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A `{var}` placeholder in a step's `run`: identifier only, so shell `{ ...; }` is not one.
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The SDK executes inline !`cmd` when it renders a skill: never allowed in a skill file.
_INLINE_CMD_RE = re.compile(r"!`")
_FRONTMATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STEP_KEYS = {"name", "run", "expect", "capture", "mutates"}


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


class SkillContract(BaseModel):
    """What a skill promises: the highest risk it needs, how success is judged, its runbook."""

    model_config = ConfigDict(frozen=True)

    max_risk: RiskName
    verify: str
    runbook: list[SkillStep]


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


def parse_skill_file(path: Path) -> Skill:
    """Parse and validate one SKILL.md; raises SkillInvalid with the reason."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkillInvalid(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkillInvalid("file is not valid UTF-8") from exc
    inline = _INLINE_CMD_RE.search(text)
    if inline:
        line = text[: inline.start()].count("\n") + 1
        raise SkillInvalid(f"inline !`cmd` at line {line} (the SDK would execute it)")
    match = _FRONTMATTER_RE.match(text)
    if not match:
        raise SkillInvalid("no YAML frontmatter (file must start with '---' and close it)")
    try:
        # yaml.safe_load semantics; the C SafeLoader when libyaml is there (5x faster).
        front = yaml.load(match.group(1), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise SkillInvalid(f"bad frontmatter YAML: {_yaml_reason(exc)}") from exc
    if not isinstance(front, dict):
        raise SkillInvalid("frontmatter must be a YAML mapping")
    name = _check_name(front.get("name"), path.parent.name)
    description = front.get("description")
    if not isinstance(description, str) or not description.strip():
        raise SkillInvalid("description is missing or empty")
    triggers = _check_triggers(front.get("triggers"))
    contract = _check_contract(front.get("metadata"))
    return Skill(
        id=name,
        path=path,
        description=" ".join(description.split()),
        triggers=triggers,
        body=text[match.end() :].strip(),
        contract=contract,
        version=hashlib.sha256(raw).hexdigest()[:12],
    )


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (frontmatter line {mark.line + 1})"
    return str(exc).splitlines()[0]


def _check_name(name: Any, folder: str) -> str:
    if not isinstance(name, str) or not name:
        raise SkillInvalid("name is missing")
    if len(name) > MAX_NAME_LENGTH or not _NAME_RE.match(name):
        raise SkillInvalid(f"name {name!r} must be lowercase words joined by hyphens, <= 64 chars")
    if name != folder:
        raise SkillInvalid(f"name {name!r} does not match its folder {folder!r}")
    return name


def _check_triggers(triggers: Any) -> list[str]:
    if not isinstance(triggers, list) or not triggers:
        raise SkillInvalid("triggers must be a non-empty YAML list of strings")
    if not all(isinstance(t, str) and t.strip() for t in triggers):
        raise SkillInvalid("every trigger must be a non-empty string")
    return [t.strip() for t in triggers]


def _check_contract(metadata: Any) -> SkillContract:
    if not isinstance(metadata, dict):
        raise SkillInvalid("metadata is missing (it must hold max-risk, verify and runbook)")
    max_risk = metadata.get("max-risk")
    if max_risk is None:
        raise SkillInvalid("metadata.max-risk is missing")
    if max_risk not in RISK_LEVELS:
        raise SkillInvalid(f"metadata.max-risk {max_risk!r} is not one of "
                           f"{', '.join(RISK_LEVELS)}")
    verify = metadata.get("verify")
    if not isinstance(verify, str) or not verify.strip():
        raise SkillInvalid("metadata.verify is missing or empty")
    runbook = metadata.get("runbook")
    if not isinstance(runbook, list) or not runbook:
        raise SkillInvalid("metadata.runbook must be a non-empty list of steps")
    steps = [_check_step(i, raw) for i, raw in enumerate(runbook, start=1)]
    _check_order(steps)
    return SkillContract(max_risk=max_risk, verify=verify.strip(), runbook=steps)


def _check_step(index: int, raw: Any) -> SkillStep:
    where = f"runbook step {index}"
    if not isinstance(raw, dict):
        raise SkillInvalid(f"{where} must be a mapping with name and run")
    unknown = sorted(set(map(str, raw)) - _STEP_KEYS)
    if unknown:
        raise SkillInvalid(f"{where} has unknown key(s) {', '.join(unknown)}")
    name, run = raw.get("name"), raw.get("run")
    if not isinstance(name, str) or not name.strip():
        raise SkillInvalid(f"{where} has no name")
    where = f"runbook step {index} ({name})"
    if not isinstance(run, str) or not run.strip():
        raise SkillInvalid(f"{where} has no run command")
    if "\n" in run.strip():
        raise SkillInvalid(f"{where}: run must be a single command line")
    expect = raw.get("expect")
    if expect is not None:
        if not isinstance(expect, str):
            raise SkillInvalid(f"{where}: expect must be a regex string")
        _compile(expect, f"{where}: expect")
    capture = raw.get("capture") or {}
    if not isinstance(capture, dict):
        raise SkillInvalid(f"{where}: capture must map variable names to regexes")
    for var, pattern in capture.items():
        if not isinstance(var, str) or not _VAR_NAME_RE.match(var):
            raise SkillInvalid(f"{where}: capture name {var!r} is not an identifier")
        if not isinstance(pattern, str):
            raise SkillInvalid(f"{where}: capture {var!r} must be a regex string")
        groups = _compile(pattern, f"{where}: capture {var!r}").groups
        if groups != 1:
            raise SkillInvalid(
                f"{where}: capture {var!r} must have exactly one group, has {groups}"
            )
    mutates = raw.get("mutates", False)
    if not isinstance(mutates, bool):
        raise SkillInvalid(f"{where}: mutates must be true or false")
    return SkillStep(
        name=name.strip(),
        run=run.strip(),
        expect=expect,
        capture={str(k): str(v) for k, v in capture.items()},
        mutates=mutates,
    )


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise SkillInvalid(f"{where} is not a valid regex: {exc}") from exc


def _check_order(steps: list[SkillStep]) -> None:
    """Diagnose before change; every `{var}` is captured by an earlier step; unique names."""
    seen_names: set[str] = set()
    captured: set[str] = set()
    diagnosed = False
    for index, step in enumerate(steps, start=1):
        where = f"runbook step {index} ({step.name})"
        if step.name in seen_names:
            raise SkillInvalid(f"{where}: duplicate step name")
        seen_names.add(step.name)
        if step.mutates and index == 1:
            raise SkillInvalid(f"{where}: the first step must not mutate (diagnose first)")
        if step.mutates and not diagnosed:
            raise SkillInvalid(
                f"{where} mutates before any non-mutating step with an expect or capture"
            )
        missing = [var for var in step.placeholders() if var not in captured]
        if missing:
            names = ", ".join("{" + var + "}" for var in missing)
            raise SkillInvalid(f"{where} uses {names} not captured by an earlier step")
        if not step.mutates and (step.expect or step.capture):
            diagnosed = True
        captured.update(step.capture)
