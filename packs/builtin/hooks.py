"""Ground-truth hooks of the built-in pack (where a declared check is not enough).

A hook receives the check context (`sre_agent.incidents.truth.CheckContext`: safe reads of
the workdir, the sandbox's ports) and returns `(ok, detail)`.
"""

from __future__ import annotations

import configparser


def effective_delay_cleared(ctx) -> tuple[bool, str]:  # noqa: ANN001
    """The delay the service would apply: RESPONSE_DELAY_MS from the env file wins over
    `response_delay_ms` in the config; under 500 ms is cleared."""
    env_delay = ""
    for line in (ctx.text("etc/service.env") or "").splitlines():
        if line.strip().startswith("RESPONSE_DELAY_MS="):
            env_delay = line.split("=", 1)[1].strip().strip("'\"")
    parser = configparser.ConfigParser()
    try:
        parser.read_string(ctx.text("etc/service.conf") or "")
        conf_delay = parser.get("features", "response_delay_ms", fallback="0")
    except configparser.Error:
        conf_delay = "?"
    effective = env_delay or conf_delay
    ok = effective.strip().isdigit() and int(effective) < 500
    return ok, f"effective response delay {effective} ms"
