"""`doctor`: every check has a verdict and a reason; the report fails only on what blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.doctor import run_doctor


def _by_name(report) -> dict:  # noqa: ANN001
    return {check.name: check for check in report.checks}


def test_every_area_is_checked_with_a_reason() -> None:
    checks = _by_name(run_doctor())
    for name in ("python", "uv", "skills", "sandbox local", "sandbox ns", "sandbox docker",
                 "tools", "llm", "observability", ".env"):
        assert name in checks, name
        assert checks[name].detail, name
    assert "isolates nothing" in checks["sandbox local"].detail
    assert checks["sandbox local"].status == "warn"


def test_llm_and_observability_name_variables_never_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-doctor-secret-0123456789")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    checks = _by_name(run_doctor())
    assert checks["llm"].status == "ok" and "OPENAI_API_KEY" in checks["llm"].detail
    assert checks["observability"].status == "ok"
    assert "sk-doctor-secret" not in json.dumps([c.model_dump() for c in checks.values()])


def test_without_a_key_the_offline_model_is_announced() -> None:
    llm = _by_name(run_doctor())["llm"]
    assert llm.status == "info" and "runbook" in llm.detail


def test_a_malformed_skill_is_reported_with_its_file(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    import shutil

    from sre_agent import paths

    home = tmp_path / "home"
    shutil.copytree(paths.skills_dir(), home / ".agents" / "skills")
    bad = home / ".agents" / "skills" / "broken-one"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: [not, a, name\n---\nbody\n")
    shutil.copytree(paths.packs_dir(), home / "packs")
    monkeypatch.setenv("SRE_AGENT_HOME", str(home))
    problems = [c for c in run_doctor().checks if c.name == "skill problem"]
    assert problems and "broken-one" in problems[0].detail and problems[0].status == "warn"


def test_cli_json_and_exit_code(cli) -> None:  # noqa: ANN001
    code, out, _ = cli("doctor", "--json")
    report = json.loads(out)
    assert code == (0 if report["ok"] else 1)
    assert {c["name"] for c in report["checks"]} >= {"python", "skills", "llm"}


def test_pack_servers_in_sbin_are_found_without_sbin_on_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # an ordinary user's PATH (Debian) has no sbin; the packs start /usr/sbin/nginx by path
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    servers = _by_name(run_doctor())["pack servers"]
    installed = any(Path(d, "nginx").exists() for d in ("/usr/sbin", "/usr/local/sbin"))
    missing = servers.detail.split(":")[0].removeprefix("missing ").split(", ") \
        if servers.detail.startswith("missing ") else []
    assert ("nginx" in missing) == (not installed), servers.detail
