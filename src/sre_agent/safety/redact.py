"""Secret redaction for traces, logs and anything shown to users or models.

A `Redactor` knows secret *values* (from the environment and a `.env` file, by variable name)
and secret *shapes* (`sk-...`, `ghp_...`, `AKIA...`, `Bearer ...`, PEM private keys). Known
values are replaced by `[REDACTED:<NAME>]`, shapes by `[REDACTED:<KIND>]`. Both passes are
single compiled regexes, so redacting a large trace is one linear scan per pass.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# The one home of "this variable holds a secret" (redaction here, exfiltration in the risk
# rules). AUTH covers AUTHORIZATION, OAUTH_*, BASIC_AUTH but not GIT_AUTHOR_NAME or AUTHORS.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH(?!ORS?(?:_|$))", re.I)
KNOWN_SECRET_NAMES = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLM_API_KEY", "LMNR_PROJECT_API_KEY",
    "GITHUB_TOKEN", "GH_TOKEN", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AZURE_OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY",
    "GROQ_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "TOGETHER_API_KEY",
    "LITELLM_API_KEY", "OH_SESSION_API_KEYS_0", "SESSION_API_KEY", "DATABASE_URL",
)
MIN_SECRET_LEN = 8

_SHAPES: list[tuple[str, str]] = [
    ("PRIVATE_KEY", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("ANTHROPIC_KEY", r"\bsk-ant-[A-Za-z0-9_-]{16,}"),
    ("OPENAI_KEY", r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{16,}"),
    ("GITHUB_TOKEN", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("SLACK_TOKEN", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("GOOGLE_API_KEY", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("HF_TOKEN", r"\bhf_[A-Za-z0-9]{20,}"),
    ("BEARER_TOKEN", r"(?<=Bearer )[A-Za-z0-9._~+/-]{8,}=*"),
]
_SHAPE_RE = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _SHAPES))


def is_secret_name(name: str) -> bool:
    """Whether a variable or key named `name` holds a secret (`OPENAI_API_KEY`, `db_password`)."""
    return name.upper() in KNOWN_SECRET_NAMES or bool(_SECRET_NAME.search(name))


class Redactor:
    """Replaces known secret values and common token shapes in text and nested objects."""

    def __init__(self, secrets: Mapping[str, str] | None = None, *, shapes: bool = True) -> None:
        self._by_value: dict[str, str] = {}
        self._shapes = shapes
        self._values_re: re.Pattern[str] | None = None
        for name, value in (secrets or {}).items():
            self.add(name, value)

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv_path: Path | str | None = None,
    ) -> Redactor:
        """Collect secrets from `environ` (default: os.environ) and an optional `.env` file."""
        redactor = cls()
        env = os.environ if environ is None else environ
        for name, value in env.items():
            if is_secret_name(name):
                redactor.add(name, value)
        if dotenv_path is not None and Path(dotenv_path).is_file():
            from dotenv import dotenv_values

            for name, value in dotenv_values(dotenv_path).items():
                if value and is_secret_name(name):
                    redactor.add(name, value)
        return redactor

    def add(self, name: str, value: str | None) -> None:
        """Register one secret value (ignored when shorter than MIN_SECRET_LEN)."""
        if not value or len(value.strip()) < MIN_SECRET_LEN:
            return
        self._by_value.setdefault(value.strip(), name)
        self._values_re = None

    @property
    def names(self) -> list[str]:
        return sorted(set(self._by_value.values()))

    def _values_pattern(self) -> re.Pattern[str] | None:
        if self._values_re is None and self._by_value:
            ordered = sorted(self._by_value, key=len, reverse=True)
            self._values_re = re.compile("|".join(re.escape(v) for v in ordered))
        return self._values_re

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._values_pattern()
        if pattern is not None:
            text = pattern.sub(lambda m: f"[REDACTED:{self._by_value[m.group(0)]}]", text)
        if self._shapes:
            text = _SHAPE_RE.sub(lambda m: f"[REDACTED:{m.lastgroup}]", text)
        return text

    def redact_obj(self, obj: Any) -> Any:
        """A copy of dicts/lists/tuples/pydantic models with every string redacted.

        A string stored under a secret-looking key (`api_key`, `password`) is replaced whole.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, BaseModel):
            return self.redact_obj(obj.model_dump(mode="json"))
        if isinstance(obj, Mapping):
            out: dict[Any, Any] = {}
            for key, value in obj.items():
                if isinstance(key, str) and isinstance(value, str) and is_secret_name(key) \
                        and len(value) >= MIN_SECRET_LEN and not value.startswith("[REDACTED"):
                    out[key] = f"[REDACTED:{key.upper()}]"
                else:
                    out[key] = self.redact_obj(value)
            return out
        if isinstance(obj, list):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(v) for v in obj)
        return obj


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message (and its traceback text).

    Attach it to the handlers that write logs out (the CLI does, for stderr), so a secret that
    reaches a log call (an exception message quoting a key, a command line) never leaves.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor.from_environment()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        return True


__all__ = ["KNOWN_SECRET_NAMES", "RedactingFilter", "Redactor", "is_secret_name"]
