"""Settings from the environment and an auto-loaded `.env` (never printed).

Precedence: CLI flag > environment > `.env` > default. The `.env` is read from the current
directory and the project root; it never overrides a variable already set.
"""

from __future__ import annotations

import os
from pathlib import Path

from sre_agent import paths

LLM_KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLM_API_KEY", "GEMINI_API_KEY",
                "OPENROUTER_API_KEY", "AZURE_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY")
OBSERVABILITY_VARS = ("LMNR_PROJECT_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT",
                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def dotenv_paths() -> list[Path]:
    found = []
    for candidate in (Path.cwd() / ".env", paths.project_root() / ".env"):
        if candidate.is_file() and candidate.resolve() not in [p.resolve() for p in found]:
            found.append(candidate)
    return found


def load_dotenv_files() -> list[Path]:
    """Load `.env` files into the environment (no override). Returns the files loaded."""
    if os.environ.get("SRE_AGENT_NO_DOTENV"):
        return []
    from dotenv import load_dotenv

    loaded = dotenv_paths()
    for path in loaded:
        load_dotenv(path, override=False)
    return loaded


def configured(names: tuple[str, ...]) -> list[str]:
    """Which of `names` are set (names only, never values)."""
    return [name for name in names if os.environ.get(name, "").strip()]
