"""The `docker` backend: one container per incident, for users who have a Docker engine (or
podman's Docker-compatible API).

The incident's workdir is bind-mounted read-write at the same path inside the container, the
pack and the supervisor read-only at theirs; the container has no network but its own loopback
(network mode `none`: nothing reaches out, and the verifier opens its sockets inside the
container's network namespace); all capabilities are dropped, no new privileges, memory and
pids limited. The agent's commands and file operations enter with `docker exec`. The image
(`docker/Dockerfile`: Python with Flask and ordinary tools) is built locally, never pulled.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import socket
from typing import Any

from sre_agent.incidents import pack_of
from sre_agent.sandbox import boot
from sre_agent.sandbox.base import Sandbox
from sre_agent.sandbox.common import SandboxError
from sre_agent.sandbox.process import DEFAULT_MAX_BYTES, Bounded
from sre_agent.sandbox.procs import connect_in_netns, descends_from, listener_pids, pids_where

IMAGE_ENV = "SRE_AGENT_DOCKER_IMAGE"
# Starting a `docker exec` through the engine (podman: conmon + runc) can take seconds on a
# busy machine: not charged to the command, whose own budget is enforced inside.
ENGINE_ALLOWANCE_S = 15.0
DEFAULT_IMAGE = "sre-agent-target:latest"
PRIVATE_DIRS = ("/tmp", "/var", "/run")
BUILD_HINT = ("build it with `docker build -t sre-agent-target:latest docker`, or without any "
              "pull from this machine's files: `python docker/build_rootfs.py rootfs.tar` then "
              "`docker import rootfs.tar sre-agent-target:latest` (docs/sandboxes.md; images "
              "are never pulled), or use --sandbox ns")


def _image() -> str:
    return os.environ.get(IMAGE_ENV, DEFAULT_IMAGE)


def make_client(timeout: int = 3) -> Any:
    """A Docker client that fails fast (seconds, not the SDK's default 60 s)."""
    import docker  # lazy: the docker SDK (requests) only where the backend is used

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
    enforces = frozenset({"fs", "pid", "caps", "net"})  # network mode none: only lo inside
    description = "one container per incident (workdir bind-mounted, no network, caps dropped)"
    host_env_keys = ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
                     "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION")
    client_factory: Any = staticmethod(make_client)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.client: Any = None
        self.container: Any = None

    def python(self) -> str:
        return "/usr/local/bin/python"

    def _launch(self, supervisor: list[str]) -> None:
        import docker.errors  # lazy: see make_client

        self.client = self.client_factory()
        try:
            self.client.images.get(_image())
        except docker.errors.ImageNotFound:
            raise SandboxError(f"the Docker image {_image()} is not built", BUILD_HINT) from None
        volumes = {str(self.workdir): {"bind": str(self.workdir), "mode": "rw"}}
        for path in (self.incident.pack_root, str(boot.INSIDE_DIR)):
            volumes[path] = {"bind": path, "mode": "ro"}
        service = pack_of(self.incident)[0].spec.service
        if service.hosts_file:
            volumes[str(self.workdir / service.hosts_file)] = {"bind": "/etc/hosts",
                                                                "mode": "rw"}
        # a read-only root, like the ns backend's: private /tmp, /var and /run
        tmpfs = {path: "mode=1777" if path == "/tmp" else "" for path in PRIVATE_DIRS}
        tmpfs.update({str(self.workdir / fs.path): f"size={fs.size_mb}m" for fs in service.tmpfs})
        try:
            self.container = self.client.containers.run(
                _image(), supervisor, detach=True, environment=self.shell_env(),
                working_dir=str(self.workdir), volumes=volumes, network_mode="none", tmpfs=tmpfs,
                read_only=True,
                cap_drop=["ALL"], security_opt=["no-new-privileges"], mem_limit="256m",
                pids_limit=256, hostname="incident", labels={"sre-agent.sandbox": self.id})
        except docker.errors.APIError as exc:
            # run() = create + start: a failed start leaves the created container behind
            for leftover in self.client.containers.list(
                    all=True, filters={"label": f"sre-agent.sandbox={self.id}"}):
                leftover.remove(force=True)
            detail = " ".join(str(getattr(exc, "explanation", None) or exc).split())[:300]
            raise SandboxError(f"the container engine could not start sandbox {self.id}: "
                               f"{detail}") from exc

    def alive(self) -> bool:
        if self.container is None:
            return False
        self.container.reload()
        return self.container.status == "running"

    def exec_raw(self, command: str, timeout: float = 30.0, *,
                 env: dict[str, str] | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> Bounded:
        """The command's `timeout` runs inside the container (coreutils `timeout`, exit 124);
        the host-side bound adds the engine's start-up allowance."""
        inner = f"exec timeout -k 1 {timeout:g} /bin/bash -c {shlex.quote(command)}"
        done = super().exec_raw(inner, timeout + ENGINE_ALLOWANCE_S, env=env,
                                max_bytes=max_bytes)
        if done.exit_code == 124 and not done.timed_out:
            return dataclasses.replace(done, timed_out=True)
        return done

    def shell_argv(self) -> list[str]:
        if self.container is None:
            raise SandboxError(f"sandbox {self.id} is not running")
        # A caller on a terminal gets a terminal inside too (`-t`); pipes (harness commands,
        # the agent's terminal: `sandbox/terminal.py`) must not ask for one.
        argv = ["env", *(f"{k}={os.environ[k]}" for k in self.host_env_keys if k in os.environ),
                "/bin/sh", "-c", 'if [ -t 0 ] && [ -t 1 ]; then set -- -t "$@"; fi; '
                'exec docker exec -i "$@"', "docker-exec", "-w", str(self.workdir)]
        for key, value in self.shell_env().items():
            argv += ["-e", f"{key}={value}"]
        return [*argv, self.container.id, "/bin/bash"]

    def _container_pid(self) -> int:
        self.container.reload()
        return int((self.container.attrs.get("State") or {}).get("Pid") or 0)

    def connect(self, port: int, timeout: float) -> socket.socket:
        if self.container is None:
            raise ConnectionRefusedError(f"sandbox {self.id} is not running")
        pid = self._container_pid()
        if not pid:
            raise ConnectionRefusedError(f"sandbox {self.id} has no running process")
        return connect_in_netns(pid, port, timeout)

    def supervisor_pid(self) -> int | None:
        if self.container is None:
            return None
        return self._container_pid() or None  # the supervisor is the container's process

    def listener_supervised(self, port: int) -> bool | None:
        supervisor = self.supervisor_pid()
        if supervisor is None:
            return None
        pidns = os.readlink(f"/proc/{supervisor}/ns/pid")
        inside = pids_where(lambda pid: os.readlink(f"/proc/{pid}/ns/pid") == pidns)
        holders = listener_pids(supervisor, port, inside)
        if not holders:
            return None
        return all(descends_from(pid, supervisor) for pid in holders)

    def leftover_pids(self) -> list[int]:
        if self.container is None:
            return []
        try:
            pid = self._container_pid()
        except Exception:  # removed: nothing left
            return []
        return [pid] if pid else []

    def _stop(self) -> None:
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except Exception as exc:
                if "No such container" not in str(exc) and "404" not in str(exc):
                    raise
