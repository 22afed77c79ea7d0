"""The skill contract, checked: a SKILL.md parsed and validated, or `SkillInvalid` saying why.

The rules are in docs/skill-contract.md.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from sre_agent.safety.levels import RISK_LEVELS
from sre_agent.skills.model import (
    PLACEHOLDER_RE,
    Skill,
    SkillContract,
    SkillInvalid,
    SkillStep,
    TriageCheck,
)

MAX_NAME_LENGTH = 64

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The SDK executes inline !`cmd` when it renders a skill: never allowed in a skill file.
_INLINE_CMD_RE = re.compile(r"!`")
_FRONTMATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STEP_KEYS = {"name", "run", "expect", "capture", "mutates"}
_TRIAGE_KEYS = {"name", "run", "supports", "rules_out"}


def parse_skill_file(path: Path) -> Skill:
    """Parse and validate one SKILL.md; raises SkillInvalid with the reason.

    The file is read every time; its parse is remembered by path and content (a `Skill` is
    frozen), so a catalogue loaded once per incident costs a directory walk and reads, not
    YAML parsing and validation, and an edited file is parsed afresh."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkillInvalid(f"cannot read file: {exc.strerror or exc}") from exc
    return _parse(path, raw)


@functools.lru_cache(maxsize=512)
def _parse(path: Path, raw: bytes) -> Skill:
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
    triage = metadata.get("triage") or []
    if not isinstance(triage, list):
        raise SkillInvalid("metadata.triage must be a list of checks")
    checks = [_check_triage(i, raw) for i, raw in enumerate(triage, start=1)]
    return SkillContract(max_risk=max_risk, verify=verify.strip(), runbook=steps,
                         triage=checks)


def _check_triage(index: int, raw: Any) -> TriageCheck:
    where = f"triage check {index}"
    if not isinstance(raw, dict) or set(map(str, raw)) - _TRIAGE_KEYS:
        raise SkillInvalid(f"{where} must map only {', '.join(sorted(_TRIAGE_KEYS))}")
    name, run = raw.get("name"), raw.get("run")
    if not isinstance(name, str) or not name.strip() or not isinstance(run, str) \
            or not run.strip() or "\n" in run.strip():
        raise SkillInvalid(f"{where} needs a name and a single-line run command")
    if PLACEHOLDER_RE.search(run):
        raise SkillInvalid(f"{where} ({name}): a triage check cannot use {{vars}}: it runs "
                           "before any runbook step")
    patterns = {key: raw.get(key) for key in ("supports", "rules_out")}
    if not any(patterns.values()):
        raise SkillInvalid(f"{where} ({name}) needs supports or rules_out (a regex)")
    for key, pattern in patterns.items():
        if pattern is not None:
            if not isinstance(pattern, str):
                raise SkillInvalid(f"{where} ({name}): {key} must be a regex string")
            _compile(pattern, f"{where} ({name}): {key}")
    return TriageCheck(name=name.strip(), run=run.strip(), **patterns)


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
