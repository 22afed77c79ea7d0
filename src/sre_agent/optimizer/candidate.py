"""A candidate skill: SKILL.md text for one skill id, validated against the skill contract.

Candidates are edited at the text level (a runbook step is a span of frontmatter lines) so that
a cut or a reorder leaves every other byte of the file as its author wrote it, and the diff an
operator reviews shows only what the optimizer changed. Every edit is re-validated with
`sre_agent.skills.catalogue.parse_skill_file` rules; an edit that breaks the contract is
reported, never used.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sre_agent.skills.catalogue import Skill, SkillInvalid, SkillStep, parse_skill_file

_FRONT_END_RE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_RUNBOOK_KEY_RE = re.compile(r"^(?P<indent>[ \t]*)runbook:[ \t]*$")
_ITEM_RE = re.compile(r"^(?P<indent>[ \t]*)- ")
_RUN_LINE_RE = re.compile(r"^(?P<lead>[ \t]*(?:- )?)run:[ \t]*(?P<value>\S.*)$")


class Candidate(BaseModel):
    """One candidate SKILL.md. `version` is the sha256 of its bytes (first 12 hex chars)."""

    model_config = ConfigDict(frozen=True)

    skill_id: str
    text: str
    origin: str = "seed"  # what produced it: seed, current, a mutation, gepa, manual
    parent: str | None = None  # version of the candidate it was derived from

    @property
    def version(self) -> str:
        return version_of(self.text)

    def skill(self) -> Skill:
        """The parsed skill; raises SkillInvalid with the reason."""
        return parse_candidate_text(self.text, self.skill_id)

    def problem(self) -> str | None:
        """Why this candidate breaks the contract, or None when it is valid."""
        try:
            self.skill()
        except SkillInvalid as exc:
            return str(exc)
        return None

    def derive(self, text: str, origin: str) -> Candidate:
        return Candidate(skill_id=self.skill_id, text=text, origin=origin, parent=self.version)


def version_of(text: str) -> str:
    """The skill version of a SKILL.md text, as `parse_skill_file` computes it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_candidate_text(text: str, skill_id: str) -> Skill:
    """Validate `text` as `.agents/skills/<skill_id>/SKILL.md`; raises SkillInvalid."""
    with tempfile.TemporaryDirectory(prefix="sa-cand-") as tmp:
        folder = Path(tmp) / skill_id
        folder.mkdir()
        path = folder / "SKILL.md"
        path.write_text(text, encoding="utf-8")
        return parse_skill_file(path)


def write_candidate(candidate: Candidate, root: Path) -> Path:
    """Write `<root>/<skill_id>/SKILL.md` (the folder name must be the skill id) and return it."""
    folder = root / candidate.skill_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SKILL.md"
    path.write_text(candidate.text, encoding="utf-8")
    return path


def unified_diff(old: str, new: str, old_name: str = "current/SKILL.md",
                 new_name: str = "candidate/SKILL.md") -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True), old_name, new_name))


@dataclass(frozen=True)
class RunbookLayout:
    """A SKILL.md split around its runbook items: `head`, one text span per step, `tail`."""

    head: str
    spans: tuple[str, ...]
    tail: str
    steps: tuple[SkillStep, ...]

    @classmethod
    def of(cls, text: str, skill_id: str) -> RunbookLayout:
        """Split a valid candidate; raises SkillInvalid if the runbook is not a block list."""
        steps = tuple(parse_candidate_text(text, skill_id).contract.runbook)
        lines = text.splitlines(keepends=True)
        closing = _frontmatter_end(lines)
        key_at = next((i for i in range(1, closing) if _RUNBOOK_KEY_RE.match(lines[i])), None)
        if key_at is None:
            raise SkillInvalid("runbook is not a block list under `runbook:`")
        key_indent = len(_RUNBOOK_KEY_RE.match(lines[key_at]).group("indent"))  # type: ignore[union-attr]
        starts: list[int] = []
        end = closing
        item_indent: int | None = None
        for i in range(key_at + 1, closing):
            line = lines[i]
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            item = _ITEM_RE.match(line)
            if item and (item_indent is None or indent == item_indent):
                item_indent = indent
                starts.append(i)
            elif indent <= key_indent or (item_indent is not None and indent < item_indent):
                end = i
                break
        if len(starts) != len(steps):
            raise SkillInvalid("runbook items could not be matched to their text lines")
        bounds = [*starts, end]
        spans = tuple("".join(lines[bounds[k]:bounds[k + 1]]) for k in range(len(starts)))
        return cls("".join(lines[:starts[0]]), spans, "".join(lines[end:]), steps)

    def compose(self, order: list[int], replace: dict[int, str] | None = None) -> str:
        """The text with the steps at `order` (indices into `spans`), some spans replaced."""
        replace = replace or {}
        return self.head + "".join(replace.get(i, self.spans[i]) for i in order) + self.tail


def _frontmatter_end(lines: list[str]) -> int:
    for i in range(1, len(lines)):
        if _FRONT_END_RE.match(lines[i]):
            return i
    raise SkillInvalid("no closing '---' for the frontmatter")


def replace_run(span: str, new_run: str) -> str | None:
    """The step span with its single-line `run:` value replaced, or None if it cannot be."""
    out: list[str] = []
    done = False
    for line in span.splitlines(keepends=True):
        match = _RUN_LINE_RE.match(line.rstrip("\r\n"))
        if match and not done:
            ending = line[len(line.rstrip("\r\n")):]
            # A JSON string is a valid YAML double-quoted scalar.
            out.append(f"{match.group('lead')}run: {json.dumps(new_run)}{ending}")
            done = True
        else:
            out.append(line)
    return "".join(out) if done else None


def with_guidance(text: str, title: str, guidance: str) -> str:
    """The text with a `## title` section holding `guidance` placed first in the body."""
    lines = text.splitlines(keepends=True)
    closing = _frontmatter_end(lines)
    head = "".join(lines[:closing + 1])
    body = "".join(lines[closing + 1:]).lstrip("\n")
    title_line = ""
    if body.startswith("# "):  # keep the document title first
        title_line, _, body = body.partition("\n")
        title_line, body = title_line + "\n\n", body.lstrip("\n")
    return f"{head}\n{title_line}## {title}\n\n{guidance.strip()}\n\n{body}"
