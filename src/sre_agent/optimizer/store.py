"""Promoted and rejected candidates on disk, and `--apply` over the skill file.

Layout under `artifacts/optimize/` (`sre_agent.paths.artifacts_dir()`):

    promoted/<skill>/SKILL.md                  the latest promoted candidate (what
                                               `run --strategy-source optimizer` reads)
    promoted/<skill>/versions/<version>.md     every promoted candidate, with
    promoted/<skill>/versions/<version>.json   its metadata (scores, seeds, parent, date)
    rejected/<skill>/<version>.md|.json        candidates the gate (or validation) refused

Files are written to a temporary name and renamed, so a reader never sees half a skill.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.optimizer.candidate import Candidate, unified_diff, version_of
from sre_agent.runs import promoted_candidate_path

STORE_SCHEMA_VERSION = 1


class CandidateRecord(BaseModel):
    """Metadata kept beside a stored candidate."""

    schema_version: int = STORE_SCHEMA_VERSION
    skill_id: str
    version: str
    parent: str | None = None
    origin: str = ""
    optimizer: str = ""
    run_id: str = ""
    status: str  # promoted | rejected
    reason: str = ""
    date: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seeds: dict[str, list[int]] = Field(default_factory=dict)
    scores: dict[str, Any] = Field(default_factory=dict)


class ApplyResult(BaseModel):
    path: Path
    backup: Path | None
    diff: str


def optimize_root() -> Path:
    return paths.artifacts_dir() / "optimize"


def promoted_dir(skill_id: str) -> Path:

    return promoted_candidate_path(skill_id).parent


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_record(folder: Path, candidate: Candidate, record: CandidateRecord) -> Path:
    _atomic_write(folder / f"{candidate.version}.md", candidate.text)
    meta = folder / f"{candidate.version}.json"
    _atomic_write(meta, record.model_dump_json(indent=2) + "\n")
    return meta


def promote(candidate: Candidate, record: CandidateRecord) -> Path:
    """Make `candidate` the promoted one for its skill; returns the promoted SKILL.md path."""
    if record.status != "promoted" or record.version != candidate.version:
        raise ValueError("promote() needs a 'promoted' record of this candidate")
    problem = candidate.problem()
    if problem:
        raise UsageError(f"refusing to promote an invalid skill: {problem}")
    folder = promoted_dir(candidate.skill_id)
    _write_record(folder / "versions", candidate, record)
    target = folder / "SKILL.md"
    _atomic_write(target, candidate.text)
    _atomic_write(folder / "promoted.json", record.model_dump_json(indent=2) + "\n")
    return target


def reject(candidate: Candidate, record: CandidateRecord) -> Path:
    """Keep a refused candidate with its reason; returns its metadata path."""
    if record.status != "rejected":
        raise ValueError("reject() needs a 'rejected' record")
    return _write_record(optimize_root() / "rejected" / candidate.skill_id, candidate, record)


def promoted_record(skill_id: str) -> CandidateRecord | None:
    """Metadata of the current promoted candidate, or None."""
    meta = promoted_dir(skill_id) / "promoted.json"
    if not meta.is_file():
        return None
    return CandidateRecord.model_validate_json(meta.read_text(encoding="utf-8"))


def history(skill_id: str, status: str = "promoted") -> list[CandidateRecord]:
    """Stored candidates of a skill (promoted versions or rejected ones), oldest first."""
    folder = (promoted_dir(skill_id) / "versions" if status == "promoted"
              else optimize_root() / "rejected" / skill_id)
    if not folder.is_dir():
        return []
    records = []
    for meta in folder.glob("*.json"):
        try:
            records.append(CandidateRecord.model_validate_json(meta.read_text(encoding="utf-8")))
        except ValueError:
            continue  # a foreign or damaged file is not a record
    return sorted(records, key=lambda r: r.date)


def apply_to_skill(candidate: Candidate, skills_dir: Path | None = None) -> ApplyResult:
    """Write the candidate over `.agents/skills/<id>/SKILL.md`, keeping `SKILL.md.bak-<old>`."""
    target = (skills_dir or paths.skills_dir()) / candidate.skill_id / "SKILL.md"
    if not target.is_file():
        raise UsageError(f"no skill file to apply to: {target}")
    old = target.read_text(encoding="utf-8")
    if old == candidate.text:
        return ApplyResult(path=target, backup=None, diff="")
    backup = target.with_name(f"SKILL.md.bak-{version_of(old)}")
    if not backup.exists():
        _atomic_write(backup, old)
    _atomic_write(target, candidate.text)
    return ApplyResult(path=target, backup=backup,
                       diff=unified_diff(old, candidate.text, f"{target} (before)",
                                         f"{target} (after)"))


def write_json(path: Path, obj: Any) -> None:
    _atomic_write(path, json.dumps(obj, indent=2, default=str) + "\n")
