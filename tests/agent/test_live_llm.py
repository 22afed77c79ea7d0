"""A real LLM repairs a real incident. Opt-in: needs an API key and network access."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sre_agent.runs import RunRequest, run_incident

pytestmark = [
    pytest.mark.live_llm,
    pytest.mark.skipif(not os.environ.get("SRE_AGENT_TEST_LIVE_LLM"),
                       reason="needs a real LLM key and network: opt in with "
                              "SRE_AGENT_TEST_LIVE_LLM=1 (and OPENAI_API_KEY or --model's key)"),
]


def test_real_model_fixes_port_mismatch(tmp_path: Path) -> None:
    model = os.environ.get("SRE_AGENT_TEST_MODEL", "openai/gpt-4o-mini")
    row = run_incident(RunRequest(scenario="port_mismatch", seed=2, model=model,
                                  trace_log=tmp_path / "t.jsonl", max_steps=25))
    assert not row.simulated and row.model == model
    assert row.service_up, row.reason
