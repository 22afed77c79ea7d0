"""Settings: `.env` files load without overriding the environment, and only names are shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sre_agent import settings


def test_dotenv_loads_without_overriding(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SRE_T_A=from-file\nSRE_T_B=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SRE_AGENT_NO_DOTENV")
    monkeypatch.setenv("SRE_T_A", "from-env")
    monkeypatch.delenv("SRE_T_B", raising=False)
    loaded = settings.load_dotenv_files()
    try:
        assert tmp_path / ".env" in loaded
        assert os.environ["SRE_T_A"] == "from-env"  # the environment wins
        assert os.environ["SRE_T_B"] == "from-file"
    finally:
        os.environ.pop("SRE_T_B", None)


def test_no_dotenv_switch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SRE_T_C=x\n")
    monkeypatch.chdir(tmp_path)
    assert settings.load_dotenv_files() == [] and "SRE_T_C" not in os.environ


def test_configured_returns_names_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-value-never-shown-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "   ")
    assert settings.configured(settings.LLM_KEY_VARS) == ["OPENAI_API_KEY"]
