"""What we say about a command no rule knows: its effect is unknown (MEDIUM); a path to a
script runs that script; a credential file outside the workspace among its arguments is HIGH.
"""

from __future__ import annotations

from sre_agent.safety.call import Call
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import fallback


@fallback
def rule_unknown(call: Call) -> None:
    argv0 = call.argv[0]
    if "/" in argv0:
        call.execute_file(argv0)
    else:
        call.add(Risk.MEDIUM, "unrecognised command: its effect is not known")
    for arg in call.args:
        if "/" in arg or arg.startswith((".", "~")):
            ref = call.ref(arg)
            if call.judge.is_credential(ref) and not call.judge.inside(ref):
                call.add(Risk.HIGH, f"touches credential file {call.show(ref)}")


__all__ = ["rule_unknown"]
