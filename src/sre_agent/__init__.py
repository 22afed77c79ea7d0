"""sre-agent: a skills-first incident-remediation agent built on the OpenHands SDK."""

from __future__ import annotations

from sre_agent.errors import BackendUnavailable, SreAgentError, UsageError

__version__ = "0.1.0"

__all__ = ["BackendUnavailable", "SreAgentError", "UsageError", "__version__"]
