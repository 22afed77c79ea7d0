"""The agent-server launcher of `sre-agent worker` (`python -m sre_agent.fleet.worker_server`).

The agent-server rebuilds a conversation's security analyzer from JSON (`kind:
SreRiskAnalyzer`); the SDK only finds a subclass that exists in its process. So this module
prepares the SDK environment, creates our analyzer class, then runs the agent-server's own
`main()` in-process with the arguments it was given (`--host`, `--port`, ...).
"""

from __future__ import annotations

import sys

from sre_agent.agent.tools import register_tools
from sre_agent.safety import analyzer_class
from sre_agent.sdk import prepare_environment


def main() -> None:
    """Register our SDK classes, then hand over to the agent-server (it parses `sys.argv`)."""
    prepare_environment()
    analyzer_class()
    register_tools()  # the sandbox-bound terminal and file editor
    # Lazy: the agent-server (and the SDK under it) may be imported only after
    # `prepare_environment()` has set the environment it reads at import time.
    from openhands.agent_server.__main__ import main as agent_server_main

    sys.argv[0] = "sre-agent-worker-server"
    agent_server_main()


if __name__ == "__main__":
    main()
