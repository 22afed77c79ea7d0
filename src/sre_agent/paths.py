"""Where the project's data lives: skills, the target service, training data, artifacts.

Resolved at call time (never at import), from `SRE_AGENT_HOME` or the source checkout.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The directory holding `.agents/`, `packs/` and `artifacts/`."""
    env = os.environ.get("SRE_AGENT_HOME")
    if env:
        return Path(env).resolve()
    # src/sre_agent/paths.py -> project root is three levels up in a source checkout.
    here = Path(__file__).resolve().parent.parent.parent
    if (here / "packs").is_dir():
        return here
    return Path.cwd().resolve()


def skills_dir() -> Path:
    return project_root() / ".agents" / "skills"


def packs_dir() -> Path:
    """The built-in scenario packs (see docs/scenario-packs.md)."""
    return project_root() / "packs"


def training_data_dir() -> Path:
    return project_root() / "training_data"


def artifacts_dir() -> Path:
    env = os.environ.get("SRE_AGENT_ARTIFACTS_DIR")
    return Path(env) if env else project_root() / "artifacts"


def default_trace_log() -> Path:
    return artifacts_dir() / "runs" / "trace_log.jsonl"


def cache_dir() -> Path:
    """What the project can rebuild but keeps to save time (e.g. the router's example reads)."""
    return artifacts_dir() / "cache"
