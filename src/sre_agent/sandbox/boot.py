"""Bringing a sandbox up from its pack: the supervisor's program table, the fault, and the
fingerprints of what must stay intact.

The order (`Sandbox.start`): lay out the workdir from the pack; start the supervisor holding
its programs; run the pack's preparation inside; fingerprint the `before_fault` files; apply the
scenario's prepare-phase fault inside; start the programs (the declared-stopped ones stay
down); apply the live fault; fingerprint the `after_fault` files. Every action runs inside the
sandbox (a shell command through the sandbox's own entry) or is a hook of the pack.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sre_agent.incidents import pack_of
from sre_agent.incidents.spec import ActionSpec, ProgramSpec
from sre_agent.incidents.templates import Values
from sre_agent.sandbox import inside
from sre_agent.sandbox.common import SandboxError

if TYPE_CHECKING:
    from sre_agent.sandbox.base import Sandbox

INSIDE_DIR = Path(inside.__file__).resolve().parent


def _ready(program: ProgramSpec, ports: dict[str, int]) -> dict[str, Any]:
    ready: dict[str, Any] = {"after_s": program.ready.after_s,
                             "timeout_s": program.ready.timeout_s}
    if program.ready.tcp:
        ready["port"] = ports[program.ready.tcp]
    if program.ready.tcp_from:
        ready["tcp_from"] = program.ready.tcp_from.model_dump()
    if program.ready.waiting:
        ready["waiting"] = program.ready.waiting
    return ready


def supervisor_config(sandbox: Sandbox, values: Values) -> dict[str, Any]:
    """The program table the supervisor gets on its command line (immutable inside)."""
    pack, _spec = pack_of(sandbox.incident)
    service = pack.spec.service
    programs = []
    for program in service.programs:
        where = f"pack {pack.name}: program {program.name}"
        entry: dict[str, Any] = {
            "name": program.name, "command": values.render_obj(program.command, where),
            "env": values.render_obj(program.env, where), "env_file": program.env_file,
            "log": program.log, "restart": program.restart,
            "ready": _ready(program, sandbox.incident.ports),
            "stopped": program.name in sandbox.incident.stopped_programs,
            "nofile": program.nofile, "memory_mb": program.memory_mb,
        }
        if program.liveness is not None:
            live = program.liveness
            entry["liveness"] = {**live.model_dump(exclude={"port"}),
                                 "port": sandbox.incident.ports[live.port]}
        programs.append(entry)
    env = sandbox.shell_env()
    base_env = {key: env[key] for key in ("PATH", "HOME", "LANG")}
    return {"programs": programs, "default": service.main, "base_env": base_env}


def supervisor_argv(sandbox: Sandbox, values: Values) -> list[str]:
    config = json.dumps(supervisor_config(sandbox, values), separators=(",", ":"))
    # -I -S: the supervisor and `svc` are stdlib only, so they skip site-packages (a third
    # less start-up CPU for `svc`, which the agent and triage call many times per incident)
    return [sandbox.python(), "-I", "-S", str(INSIDE_DIR / "supervisor.py"),
            str(sandbox.workdir), config, "--hold"]


def write_svc(sandbox: Sandbox) -> None:
    """`bin/svc` in the workdir: the supervisor's client, on the sandbox's PATH."""
    svc = sandbox.workdir / "bin" / "svc"
    svc.parent.mkdir(parents=True, exist_ok=True)
    svc.write_text(f"#!/bin/sh\nSVC_WORKDIR={shlex.quote(str(sandbox.workdir))} exec "
                   f"{shlex.quote(sandbox.python())} -I -S "
                   f"{shlex.quote(str(INSIDE_DIR / 'svc.py'))} \"$@\"\n")
    svc.chmod(0o755)


def apply(sandbox: Sandbox, action: ActionSpec, values: Values, what: str) -> None:
    """Run one fault/fix action inside the sandbox (or the pack's hook); it must succeed."""
    pack, _spec = pack_of(sandbox.incident)
    if action.hook is not None:
        pack.hook(action.hook)(sandbox.check_context())
        return
    assert action.run is not None
    command = values.render(action.run, f"{sandbox.incident.scenario}: {what}")
    done = sandbox.exec(command, timeout=action.timeout)
    if done.exit_code != 0:
        raise SandboxError(f"sandbox {sandbox.id}: {what} `{command}` failed with exit code "
                           f"{done.exit_code}: {' '.join(done.output.split())[:300]}",
                           "check the scenario's fault/fix commands (sre-agent scenarios "
                           "validate)")
