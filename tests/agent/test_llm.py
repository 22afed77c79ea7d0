"""Model resolution (flag > environment > default; no key => runbook) and the SDK LLM built."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from sre_agent.agent.llm import (
    DEFAULT_MODEL,
    RUNBOOK_LLM_MODEL,
    ModelConfig,
    build_llm,
    provider_of,
    resolve_model,
    runbook_config,
)
from sre_agent.errors import UsageError


def test_simulate_wins_over_everything():
    cfg = resolve_model("openai/gpt-4o", True, {"OPENAI_API_KEY": "sk-x"})
    assert cfg.simulated and cfg.model == "runbook" and cfg.api_key is None
    assert cfg.input_cost_per_token == 0 and cfg.output_cost_per_token == 0
    assert "--simulate" in cfg.note


def test_no_key_means_the_runbook_policy_and_says_which_key():
    cfg = resolve_model(None, False, {})
    assert cfg.simulated and cfg.model == "runbook"
    assert DEFAULT_MODEL in cfg.note and "OPENAI_API_KEY" in cfg.note


def test_key_for_another_provider_does_not_count():
    env = {"OPENAI_API_KEY": "sk-x", "SRE_AGENT_MODEL": "anthropic/claude-sonnet-4"}
    cfg = resolve_model(None, False, env)
    assert cfg.simulated and "ANTHROPIC_API_KEY" in cfg.note


def test_explicit_model_without_key_is_an_error_not_a_silent_swap():
    with pytest.raises(UsageError, match="no API key for --model anthropic/claude") as info:
        resolve_model("anthropic/claude-sonnet-4", False, {"OPENAI_API_KEY": "sk-x"})
    assert "--simulate" in (info.value.hint or "")


def test_cli_flag_beats_environment_beats_default():
    env = {"OPENAI_API_KEY": "sk-x", "SRE_AGENT_MODEL": "openai/gpt-a", "LLM_MODEL": "openai/b"}
    assert resolve_model("openai/cli", False, env).model == "openai/cli"
    assert resolve_model(None, False, env).model == "openai/gpt-a"
    env.pop("SRE_AGENT_MODEL")
    assert resolve_model(None, False, env).model == "openai/b"
    env.pop("LLM_MODEL")
    cfg = resolve_model("", False, env)
    assert cfg.model == DEFAULT_MODEL and not cfg.simulated


def test_runbook_by_name():
    assert resolve_model("runbook", False, {"OPENAI_API_KEY": "sk-x"}).simulated
    assert resolve_model(None, False, {"LLM_MODEL": "runbook"}).simulated


def test_key_base_url_and_prices_from_environment():
    env = {
        "OPENAI_API_KEY": "sk-openai",
        "LLM_API_KEY": "sk-generic",
        "OPENAI_BASE_URL": "http://proxy.local/v1",
        "LLM_INPUT_COST_PER_TOKEN": "0.000001",
        "LLM_OUTPUT_COST_PER_TOKEN": "0.000002",
    }
    cfg = resolve_model("gpt-4o", False, env)
    assert not cfg.simulated and cfg.provider == "openai"
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == "sk-generic"
    assert cfg.base_url == "http://proxy.local/v1"
    assert (cfg.input_cost_per_token, cfg.output_cost_per_token) == (0.000001, 0.000002)
    assert "sk-generic" not in repr(cfg) and "sk-generic" not in cfg.model_dump_json()
    env["LLM_BASE_URL"] = "http://other/v1"
    assert resolve_model("gpt-4o", False, env).base_url == "http://other/v1"


def test_openai_base_url_is_not_applied_to_other_providers():
    env = {"ANTHROPIC_API_KEY": "k", "OPENAI_BASE_URL": "http://proxy.local/v1"}
    assert resolve_model("claude-3-5-sonnet", False, env).base_url is None


def test_keyless_and_ambient_credential_providers():
    assert not resolve_model("ollama/llama3", False, {}).simulated
    assert resolve_model(None, False, {"LLM_MODEL": "bedrock/anthropic.claude"}).simulated
    assert not resolve_model("bedrock/anthropic.claude", False, {"AWS_PROFILE": "p"}).simulated


def test_bad_price_is_a_usage_error():
    with pytest.raises(UsageError, match="LLM_INPUT_COST_PER_TOKEN"):
        resolve_model("gpt-4o", False, {"OPENAI_API_KEY": "k", "LLM_INPUT_COST_PER_TOKEN": "x"})


@pytest.mark.parametrize(
    "model, provider",
    [("openai/gpt-4o", "openai"), ("gpt-4o", "openai"), ("o3-mini", "openai"),
     ("claude-3-opus", "anthropic"), ("gemini-2.0-flash", "gemini"), ("mystery", None)],
)
def test_provider_of(model, provider):
    assert provider_of(model) == provider


def test_build_llm_for_the_runbook_policy():
    llm = build_llm(runbook_config("t"), usage_id="agent",
                    base_url_override="http://127.0.0.1:9/s/x/v1")
    assert llm.model == RUNBOOK_LLM_MODEL and llm.base_url == "http://127.0.0.1:9/s/x/v1"
    assert llm.num_retries == 0 and llm.timeout == 60 and llm.reasoning_effort is None
    assert llm.input_cost_per_token == 0 and llm.output_cost_per_token == 0
    assert llm.usage_id == "agent"
    assert not llm.uses_responses_api()


def test_build_llm_for_the_runbook_policy_needs_the_server_url():
    with pytest.raises(UsageError, match="session URL"):
        build_llm(runbook_config("t"), usage_id="agent")


def test_build_llm_for_a_real_model():
    cfg = ModelConfig(model="openai/gpt-4o-mini", api_key=SecretStr("sk-test"),
                      base_url="http://proxy.local/v1", timeout_s=12.5, num_retries=1,
                      input_cost_per_token=1e-6, output_cost_per_token=2e-6)
    llm = build_llm(cfg, usage_id="agent")
    assert llm.model == "openai/gpt-4o-mini" and llm.base_url == "http://proxy.local/v1"
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "sk-test"
    assert llm.num_retries == 1 and llm.timeout == 13
    assert (llm.input_cost_per_token, llm.output_cost_per_token) == (1e-6, 2e-6)
    override = build_llm(cfg, usage_id="agent", base_url_override="http://other/v1")
    assert override.base_url == "http://other/v1"
