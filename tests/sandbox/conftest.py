"""Fixtures of the sandbox tests: an unprivileged user (from a root run) and, opt-in, a real
Docker-compatible engine (podman's API service, see `podman_engine.py`)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox import podman_engine
from tests.sandbox.unprivileged import USER, Unprivileged


@pytest.fixture(scope="module")
def nobody() -> Iterator[Unprivileged]:
    """Run things as `nobody`; only a root test run can switch users (an unprivileged run
    is the rootless case already, in every test)."""
    if os.geteuid() != 0:
        pytest.skip("switching to another user needs root; this run is unprivileged already, "
                    "so every ns test here runs rootless")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        pytest.fail(f"no user {USER!r} on this machine")
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed"
    user = Unprivileged.make()
    try:
        yield user
    finally:
        problems = user.restore()
        assert not problems, f"could not undo host changes: {problems}"


DOCKER_OPT_IN = "SRE_AGENT_TEST_DOCKER"
IMAGE = "sre-agent-target:latest"
REPO = Path(__file__).resolve().parents[2]


def _import_image(url: str, rootfs: Path) -> None:
    import docker  # the SDK (requests): only in the opt-in job

    client = docker.DockerClient(base_url=url, version="1.41", timeout=300)
    try:
        try:
            client.images.get(IMAGE)
            return  # an engine of the user's that has the image already
        except docker.errors.ImageNotFound:
            pass
        if not rootfs.exists():
            subprocess.run([sys.executable, str(REPO / "docker" / "build_rootfs.py"),
                            str(rootfs)], check=True, timeout=600)
        name, tag = IMAGE.split(":")
        client.api.import_image(src=str(rootfs), repository=name, tag=tag, changes=[
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"])
        client.images.get(IMAGE)
    finally:
        client.close()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """A Docker-compatible engine for the opt-in `docker` tests: `DOCKER_HOST` when set (the
    user's engine), else podman's API service started here, on a socket this test owns (see
    podman_engine.py), with the backend's image imported from a tarball built on this machine
    (`docker/build_rootfs.py`; `SRE_AGENT_ROOTFS_TAR` reuses one). Never a pull. At the end
    the service is stopped and the host must be unchanged."""
    if not os.environ.get(DOCKER_OPT_IN):
        pytest.skip(f"needs a Docker engine: opt in with {DOCKER_OPT_IN}=1")
    base = Path(tempfile.mkdtemp(prefix="sa-pm-", dir="/tmp"))  # short: AF_UNIX path limit
    rootfs = Path(os.environ.get("SRE_AGENT_ROOTFS_TAR") or base / "rootfs.tar")
    engine = None
    try:
        url = os.environ.get("DOCKER_HOST")
        if not url:
            engine = podman_engine.start(base)
            url = engine.url
        _import_image(url, rootfs)
        yield url
    finally:
        if engine is not None:
            report = podman_engine.stop(engine)
            sys.stderr.write(f"\npodman engine: start {report['start_s']}s, stop "
                             f"{report['stop_s']}s, host changes {report['host_changes']}\n")
        shutil.rmtree(base, ignore_errors=True)
    if engine is not None:
        assert not engine.report["host_changes"], f"podman changed the host: {engine.report}"


@pytest.fixture(autouse=True)
def _engine_for_docker_tests(request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("docker") and os.environ.get(DOCKER_OPT_IN):
        monkeypatch.setenv("DOCKER_HOST", request.getfixturevalue("docker_engine"))
