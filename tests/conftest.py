"""Hermetic tests: no real keys, no shared output paths, short sandbox paths."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SECRET_HINTS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_MODEL_VARS = ("SRE_AGENT_MODEL", "LLM_MODEL", "LLM_BASE_URL", "OPENAI_BASE_URL",
               "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture(scope="session")
def runtime_dir() -> Iterator[Path]:
    # Unix socket paths are limited to 108 bytes: keep sandbox roots short.
    path = Path(tempfile.mkdtemp(prefix="sa-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, runtime_dir: Path, tmp_path: Path) -> None:
    if not os.environ.get("SRE_AGENT_TEST_LIVE_LLM"):
        for name in list(os.environ):
            if any(h in name.upper() for h in _SECRET_HINTS) or name in _MODEL_VARS:
                monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRE_AGENT_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setenv("SRE_AGENT_NO_DOTENV", "1")
    monkeypatch.setenv("SRE_AGENT_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
