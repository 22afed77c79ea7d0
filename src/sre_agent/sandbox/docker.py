"""The `docker` backend: one container per incident, for users who have a Docker engine.

The incident's workdir is bind-mounted at the same path inside the container (so the agent's
`file_editor`, which runs in the host process, edits the same files), the service's port is
published on 127.0.0.1 only, all capabilities are dropped and memory/pids are limited. The image
is built from `target_service/Dockerfile`; it is never pulled.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sre_agent.sandbox.base import Sandbox, SandboxError

IMAGE_ENV = "SRE_AGENT_DOCKER_IMAGE"
DEFAULT_IMAGE = "sre-agent-target:latest"
IN_CONTAINER_TARGET = "/opt/target_service"


def _image() -> str:
    return os.environ.get(IMAGE_ENV, DEFAULT_IMAGE)


def make_client(timeout: int = 3) -> Any:
    """A Docker client that fails fast (seconds, not the SDK's default 60 s)."""
    import docker

    # An explicit API version skips the version round-trip in the constructor, so a missing
    # engine shows up at the first call on a client we can close (no leaked socket).
    return docker.from_env(timeout=timeout, version=os.environ.get("DOCKER_API_VERSION", "1.41"))


def self_test(client_factory: Any = make_client) -> tuple[bool, str]:
    if client_factory is make_client and not os.environ.get("DOCKER_HOST") \
            and not os.path.exists("/var/run/docker.sock"):
        return False, "no Docker engine: /var/run/docker.sock is missing and DOCKER_HOST unset"
    client = None
    try:
        client = client_factory()
        client.ping()
    except Exception as exc:  # docker raises DockerException, requests errors, OSError...
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        return False, f"no Docker engine reachable ({detail})"
    finally:
        if client is not None:
            client.close()
    return True, "Docker engine reachable"


class DockerSandbox(Sandbox):
    backend = "docker"
    enforces = frozenset({"fs", "pid", "caps"})  # bridge network: not cut off from the net
    description = "one container per incident (workdir bind-mounted, caps dropped)"
    host_env_keys = ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
                     "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION")
    client_factory: Any = staticmethod(make_client)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.client: Any = None
        self.container: Any = None

    def python(self) -> str:
        return "/usr/local/bin/python"

    def target_dir(self):  # type: ignore[no-untyped-def]
        from pathlib import Path

        return Path(IN_CONTAINER_TARGET)

    def _launch(self) -> None:
        import docker.errors

        self.client = self.client_factory()
        try:
            self.client.images.get(_image())
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"the Docker image {_image()} is not built",
                "build it with `docker build -t sre-agent-target:latest target_service` "
                "(images are never pulled), or use --sandbox ns") from None
        env = {**self.shell_env(), "SRE_INSTANCE_ID": self.instance_id}
        command = [self.python(), f"{IN_CONTAINER_TARGET}/supervisor.py", str(self.workdir),
                   "--kv-port", str(self.incident.kv_port)]
        for program in self.incident.stopped_programs:
            command += ["--stopped", program]
        self.container = self.client.containers.run(
            _image(), command, detach=True, environment=env, working_dir=str(self.workdir),
            volumes={str(self.workdir): {"bind": str(self.workdir), "mode": "rw"}},
            ports={f"{self.incident.service_port}/tcp": ("127.0.0.1", None)},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], mem_limit="256m",
            pids_limit=256, hostname="incident", labels={"sre-agent.sandbox": self.id},
        )

    def alive(self) -> bool:
        if self.container is None:
            return False
        self.container.reload()
        return self.container.status == "running"

    def shell_argv(self) -> list[str]:
        if self.container is None:
            raise SandboxError(f"sandbox {self.id} is not running")
        argv = ["docker", "exec", "-i", "-w", str(self.workdir)]
        for key, value in self.shell_env().items():
            argv += ["-e", f"{key}={value}"]
        return [*argv, self.container.id, "/bin/bash"]

    def connect(self, port: int, timeout: float) -> socket.socket:
        if self.container is None:
            raise ConnectionRefusedError(f"sandbox {self.id} is not running")
        self.container.reload()
        bindings = (self.container.ports or {}).get(f"{port}/tcp") or []
        if not bindings:
            raise ConnectionRefusedError(f"port {port} is not published by {self.id}")
        return socket.create_connection(("127.0.0.1", int(bindings[0]["HostPort"])), timeout)

    def leftover_pids(self) -> list[int]:
        if self.container is None:
            return []
        try:
            self.container.reload()
        except Exception:  # removed: nothing left
            return []
        pid = int((self.container.attrs.get("State") or {}).get("Pid") or 0)
        return [pid] if pid else []

    def _stop(self) -> None:
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except Exception as exc:
                if "No such container" not in str(exc) and "404" not in str(exc):
                    raise
