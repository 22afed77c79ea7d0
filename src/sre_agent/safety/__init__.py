"""Safety: deterministic risk analysis of the agent's actions, the block/confirm policy, the
SDK security analyzer, and secret redaction.

The public face is re-exported lazily: `Risk` and the policy are cheap to import, while the
shell analysis (bashlex) loads only when an action is first judged.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RISK_LEVELS": "levels", "Risk": "levels", "highest": "levels", "rank": "levels",
    "worst": "levels",
    "RiskVerdict": "verdict", "assess_command": "verdict", "assess_file_edit": "verdict",
    "Decision": "policy", "SecurityPolicy": "policy",
    "RedactingFilter": "redact", "Redactor": "redact", "is_secret_name": "redact",
    "analyzer_class": "analyzer", "judge_action": "analyzer",
    "make_security_analyzer": "analyzer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sre_agent.safety' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sre_agent.safety.{module}"), name)
    globals()[name] = value
    return value
