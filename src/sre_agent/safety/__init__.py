"""Safety: deterministic risk analysis of the agent's actions, the block/confirm policy, the
SDK security analyzer, and secret redaction.

The public face is re-exported lazily: `Risk` and the policy are cheap to import, while the
shell analysis (bashlex) loads only when an action is first judged.

Inside: `levels` (Risk), `verdict` (RiskVerdict), `assess` (the entry point: loads the rules,
runs the `engine` over the `shell` tree), `call` (what a rule receives), `registry` (command
name -> rule), `rules/` (one module per concept), `paths` and `hosts` (where a path or a
network target points), `policy`, `analyzer` (the SDK adapter), `redact`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RISK_LEVELS": "levels", "Risk": "levels", "RiskName": "levels", "highest": "levels",
    "rank": "levels", "worst": "levels",
    "RiskVerdict": "verdict", "assess_command": "assess", "assess_file_edit": "assess",
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
