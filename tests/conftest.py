"""Hermetic tests: no real keys, no shared output paths, short sandbox paths; the shared
fixtures (`cli`, `fast_verify`) and the `ns` marker's policy."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sre_agent.safety import is_secret_name
from sre_agent.sandbox import create_sandbox
from sre_agent.sandbox.limits import release_workdir
from tests.support import BWRAP_INSTALL, FAST, ns_usable

_MODEL_VARS = ("SRE_AGENT_MODEL", "LLM_MODEL", "LLM_BASE_URL", "OPENAI_BASE_URL",
               "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
HEAVY_AT_COLLECTION: list[str] = []  # heavy modules imported while collecting (must be none)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    HEAVY_AT_COLLECTION.extend(
        name for name in sys.modules if name.split(".")[0] in ("openhands", "litellm"))
    ok, why = ns_usable()
    if ok or os.environ.get("CI") == "true":
        return  # under CI an unusable ns backend fails the tests instead of skipping them
    skip = pytest.mark.skip(reason=f"needs the ns sandbox backend: {why} "
                                   f"(install: {BWRAP_INSTALL})")
    for item in items:
        if item.get_closest_marker("ns"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def runtime_dir() -> Iterator[Path]:
    # Unix socket paths are limited to 108 bytes: keep sandbox roots short.
    path = Path(tempfile.mkdtemp(prefix="sa-", dir="/tmp"))
    yield path
    for work in path.glob("*/work"):  # a sandbox a test kept: its workdir may be a mount
        release_workdir(work)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, runtime_dir: Path, tmp_path: Path) -> None:
    if not os.environ.get("SRE_AGENT_TEST_LIVE_LLM"):
        for name in list(os.environ):
            if is_secret_name(name) or name in _MODEL_VARS:
                monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRE_AGENT_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setenv("SRE_AGENT_NO_DOTENV", "1")
    monkeypatch.setenv("SRE_AGENT_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


@pytest.fixture
def fast_verify():  # noqa: ANN201
    """The verifier gate with short waits (same rules)."""
    return FAST


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Callable[..., tuple[int, str, str]]:
    """Run `sre-agent ARGS...` in-process: (exit code, stdout, stderr)."""
    from sre_agent.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="module")
def healthy_ns_sandbox() -> Iterator[Any]:
    """One started `ns` sandbox of `healthy_noop` per test module; torn down with nothing left
    running."""
    sb = create_sandbox("healthy_noop", 1, "ns").start()
    yield sb
    sb.teardown()
    assert sb.leftover_pids() == []
