"""The docker backend against a FAKE Docker client (no engine here): what it asks the engine."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest

from sre_agent.incidents import plan_incident
from sre_agent.sandbox import SandboxError
from sre_agent.sandbox.docker import DockerSandbox, self_test


class FakeContainer:
    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.id = "fake123"
        self.status = "running"
        self.removed = False
        self.ports = {}
        self.attrs = {"State": {"Pid": 4242}}

    def reload(self) -> None:
        if self.removed:
            raise docker.errors.NotFound("No such container")

    def remove(self, force: bool = False) -> None:
        assert force
        self.removed = True


class FakeDockerClient:
    """Records calls; never talks to an engine."""

    def __init__(self, image_present: bool = True) -> None:
        self.image_present = image_present
        self.runs: list[FakeContainer] = []
        self.images = SimpleNamespace(get=self._get_image, pull=self._pull)
        self.containers = SimpleNamespace(run=self._run, list=lambda **kw: [])

    def _get_image(self, name: str) -> object:
        if not self.image_present:
            raise docker.errors.ImageNotFound(name)
        return object()

    def _pull(self, *a: object, **k: object) -> None:
        raise AssertionError("the docker backend must never pull images")

    def _run(self, image: str, command: list[str], **kwargs: Any) -> FakeContainer:
        container = FakeContainer(kwargs)
        self.runs.append(container)
        return container

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _sandbox(client: FakeDockerClient) -> DockerSandbox:
    sb = DockerSandbox(plan_incident("port_mismatch", 1))
    sb.client_factory = lambda: client  # type: ignore[method-assign]
    sb._wait_socket = lambda timeout=20.0: None  # type: ignore[method-assign]  # no engine
    sb._inject = lambda values: None  # type: ignore[method-assign]  # nothing runs in a fake
    return sb


def test_fake_client_run_is_confined_with_no_network() -> None:
    client = FakeDockerClient()
    sb = _sandbox(client)
    sb.start()
    kwargs = client.runs[0].kwargs
    assert kwargs["cap_drop"] == ["ALL"] and "no-new-privileges" in kwargs["security_opt"]
    assert kwargs["volumes"][str(sb.workdir)] == {"bind": str(sb.workdir), "mode": "rw"}
    assert kwargs["network_mode"] == "none" and "ports" not in kwargs  # no network at all
    assert kwargs["volumes"][sb.incident.pack_root]["mode"] == "ro"
    assert "SRE_INSTANCE_ID" not in kwargs["environment"]  # only the app gets its instance id
    assert "OPENAI_API_KEY" not in kwargs["environment"]
    argv = sb.shell_argv()
    assert "exec docker exec -i" in argv[argv.index("-c") + 1]  # -t added only on a terminal
    assert argv[-2:] == ["fake123", "/bin/bash"]
    assert sb.leftover_pids() == [4242]
    sb.teardown()
    assert client.runs[0].removed and sb.leftover_pids() == []


def test_fake_client_missing_image_is_a_clear_error_and_nothing_is_left() -> None:
    sb = _sandbox(FakeDockerClient(image_present=False))
    with pytest.raises(SandboxError, match="not built") as info:
        sb.start()
    assert "docker build" in (info.value.hint or "")
    assert not sb.root.exists()


def test_self_test_reports_an_unreachable_engine() -> None:
    def broken() -> FakeDockerClient:
        raise docker.errors.DockerException("Error while fetching server API version")

    ok, why = self_test(broken)
    assert not ok and "no Docker engine reachable" in why
    assert self_test(FakeDockerClient) == (True, "Docker engine reachable")


def test_fake_client_agent_file_operations_go_through_docker_exec() -> None:
    from sre_agent.sandbox.editor import SandboxEditor

    sb = _sandbox(FakeDockerClient())
    sb.start()
    try:
        entry = (sb.root / "shell").read_text()
        assert "docker exec -i" in entry and "fake123 /usr/bin/env -i" in entry
        editor = SandboxEditor(sb.root)
        assert editor.python == "/usr/local/bin/python"  # the container's, not the host's
        assert editor.workdir == str(sb.workdir)
    finally:
        sb.teardown()
