"""Progress of a run, told to the caller's UI (CLI dashboard, web events), redacted."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from sre_agent.runs.request import RunHooks
from sre_agent.safety import Redactor

logger = logging.getLogger(__name__)


def progress(hooks: RunHooks, stage: str, **info: Any) -> None:
    """Tell the caller's UI; a broken UI callback is logged, never allowed to abort a run.

    What leaves here (to a dashboard, the web UI's events and API) is redacted first.
    """
    if hooks.on_progress:
        try:
            hooks.on_progress(stage, redact_info(info))
        except Exception:
            logger.exception("progress callback failed at stage %s", stage)


def redact_info(info: dict[str, Any]) -> dict[str, Any]:
    """A copy of a progress payload with secrets redacted (models stay models)."""
    redactor = Redactor.from_environment()
    clean: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, BaseModel):
            clean[key] = type(value).model_validate(redactor.redact_obj(value))
        else:
            clean[key] = redactor.redact_obj(value)
    return clean
