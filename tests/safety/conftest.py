"""Fixtures shared by the safety tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def ws(tmp_path: Path) -> Path:
    """An incident workspace (exists, empty) under a per-test directory."""
    workspace = tmp_path / "incident-1"
    workspace.mkdir()
    return workspace
