"""Which model drives the agent, and how the SDK `LLM` for it is built.

Precedence: the CLI flag (`--model`) > environment (`SRE_AGENT_MODEL`, then `LLM_MODEL`) >
`DEFAULT_MODEL`. Keys: `LLM_API_KEY` (any provider) > the provider's own variable
(`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...). Base URL: `LLM_BASE_URL` > `OPENAI_BASE_URL` (for
OpenAI-style providers only). Optional prices: `LLM_INPUT_COST_PER_TOKEN`,
`LLM_OUTPUT_COST_PER_TOKEN`; `LLM_TIMEOUT` (seconds, default 60) and `LLM_NUM_RETRIES`
(default 2). An explicit `--model` without credentials is an error, never a silent swap.

With `--simulate`, `--model runbook`, or no credentials for the chosen model's provider, the
model is the offline runbook policy (`model="runbook"`, `simulated=True`), served by
`sre_agent.agent.model_server.ModelServer`; `ModelConfig.note` says why, for the screen and
the trace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sre_agent.errors import UsageError
from sre_agent.sdk import prepare_environment

if TYPE_CHECKING:
    from openhands.sdk import LLM

RUNBOOK_MODEL = "runbook"
# What the SDK LLM is configured with for the runbook policy: litellm's "openai/" provider
# (plain chat completions against our server) and a name no capability table knows.
RUNBOOK_LLM_MODEL = "openai/runbook"
# Not a secret: the OpenAI client refuses to run without some key; our server ignores it.
RUNBOOK_API_KEY = "sre-agent-local"
DEFAULT_MODEL = "openai/gpt-4o-mini"

# provider -> environment variables holding its API key (first set wins).
_PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "litellm_proxy": ("LITELLM_PROXY_API_KEY",),
}
# Providers whose credentials litellm reads itself (no API key passed by us).
_AMBIENT_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"),
    "vertex_ai": ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT"),
}
# Local servers that need no credentials at all.
_KEYLESS = frozenset({"ollama", "ollama_chat", "lm_studio", "hosted_vllm"})
# Providers that speak the OpenAI protocol, for which OPENAI_BASE_URL applies.
_OPENAI_STYLE = frozenset({"openai", "azure", "litellm_proxy"})
# Bare model-name prefixes litellm maps to a provider.
_BARE_PREFIXES = (
    ("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
    ("chatgpt", "openai"), ("claude", "anthropic"), ("gemini", "gemini"),
    ("mistral", "mistral"), ("deepseek", "deepseek"), ("grok", "xai"),
)


class ModelConfig(BaseModel):
    """The resolved model settings for one run (never printed with its key)."""

    model_config = ConfigDict(frozen=True)

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    num_retries: int = Field(default=2, ge=0)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    simulated: bool = False
    note: str = ""

    @property
    def provider(self) -> str | None:
        return None if self.simulated else provider_of(self.model)


def provider_of(model: str) -> str | None:
    """The litellm provider of a model name (`openai/gpt-4o`, `gpt-4o`), None if unknown."""
    head, sep, _ = model.partition("/")
    if sep:
        return head.lower()
    lowered = model.lower()
    for prefix, provider in _BARE_PREFIXES:
        if lowered.startswith(prefix):
            return provider
    return None


def _env(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _price(env: Mapping[str, str], name: str) -> float | None:
    raw = _env(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number", hint="e.g. 0.00000015") from None
    if value < 0 or math.isnan(value):
        raise UsageError(f"{name}={raw!r} must be a non-negative number")
    return value


def runbook_config(note: str) -> ModelConfig:
    """The offline runbook policy: free, local, no key."""
    return ModelConfig(
        model=RUNBOOK_MODEL,
        num_retries=0,
        input_cost_per_token=0.0,
        output_cost_per_token=0.0,
        simulated=True,
        note=note,
    )


def resolve_model(cli_model: str | None, simulate: bool, env: Mapping[str, str]) -> ModelConfig:
    """Decide the model for a run (see the module docstring for precedence)."""
    if simulate:
        return runbook_config("--simulate: the offline runbook policy plays the skill's runbook")
    cli_model = (cli_model or "").strip() or None
    if cli_model is not None:
        model, origin = cli_model, "--model"
    elif _env(env, "SRE_AGENT_MODEL"):
        model, origin = _env(env, "SRE_AGENT_MODEL") or "", "SRE_AGENT_MODEL"
    elif _env(env, "LLM_MODEL"):
        model, origin = _env(env, "LLM_MODEL") or "", "LLM_MODEL"
    else:
        model, origin = DEFAULT_MODEL, "default"
    if model == RUNBOOK_MODEL:
        return runbook_config(f"{origin} selects the offline runbook policy")

    provider = provider_of(model)
    key_names = ("LLM_API_KEY", *_PROVIDER_KEYS.get(provider or "", ()))
    api_key = _env(env, *key_names)
    ambient = provider in _KEYLESS or bool(_env(env, *_AMBIENT_CREDENTIALS.get(provider or "", ())))
    if api_key is None and not ambient:
        wanted = " or ".join(key_names)
        if origin == "--model":  # asked for explicitly: never swap in another model silently
            raise UsageError(f"no API key for --model {model}",
                             f"set {wanted} (environment or .env), or use --simulate")
        return runbook_config(
            f"no API key for model {model} ({origin}): set {wanted}; "
            "using the offline runbook policy"
        )
    base_url = _env(env, "LLM_BASE_URL")
    if base_url is None and provider in _OPENAI_STYLE:
        base_url = _env(env, "OPENAI_BASE_URL")
    return ModelConfig(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key) if api_key else None,
        timeout_s=_number(env, "LLM_TIMEOUT", 60.0),
        num_retries=int(_number(env, "LLM_NUM_RETRIES", 2)),
        input_cost_per_token=_price(env, "LLM_INPUT_COST_PER_TOKEN"),
        output_cost_per_token=_price(env, "LLM_OUTPUT_COST_PER_TOKEN"),
        note=f"model {model} from {origin}",
    )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _env(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number") from None
    if value < 0 or math.isnan(value):
        raise UsageError(f"{name} must be >= 0")
    return value


def build_llm(
    config: ModelConfig, *, usage_id: str, base_url_override: str | None = None
) -> LLM:
    """Build the OpenHands SDK `LLM` for `config` (imports the SDK: seconds, first time).

    For the runbook policy, `base_url_override` is required: the session URL from
    `ModelServer.register`. It then gets `num_retries=0` (a local server does not flake),
    chat-completions mode, no reasoning effort, and zero prices (its cost is truly 0).
    Build one LLM per conversation: a shared LLM adds up cost across conversations.
    """

    prepare_environment()
    from openhands.sdk import LLM

    timeout = max(1, math.ceil(config.timeout_s))
    if config.simulated:
        if not base_url_override:
            raise UsageError(
                "the runbook policy needs the local model server's session URL",
                hint="pass base_url_override=ModelServer.register(session_id, policy)",
            )
        return LLM(
            model=RUNBOOK_LLM_MODEL,
            base_url=base_url_override,
            api_key=SecretStr(RUNBOOK_API_KEY),
            usage_id=usage_id,
            api_mode="chat",
            num_retries=0,
            timeout=timeout,
            reasoning_effort=None,
            caching_prompt=False,
            input_cost_per_token=0.0,
            output_cost_per_token=0.0,
        )
    kwargs: dict[str, object] = {
        "model": config.model,
        "usage_id": usage_id,
        "num_retries": config.num_retries,
        # The SDK default backoff is 8-64 s per retry; keep a failing run short.
        "retry_min_wait": 2,
        "retry_max_wait": 15,
        "timeout": timeout,
    }
    base_url = base_url_override or config.base_url
    if base_url:
        kwargs["base_url"] = base_url
    if config.api_key is not None:
        kwargs["api_key"] = config.api_key
    if config.input_cost_per_token is not None:
        kwargs["input_cost_per_token"] = config.input_cost_per_token
    if config.output_cost_per_token is not None:
        kwargs["output_cost_per_token"] = config.output_cost_per_token
    return LLM(**kwargs)  # type: ignore[arg-type]
