"""`sre-agent skills list/show/route` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.cli.main import main


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["skills"]) >= 9 and data["problems"] == []
    disk = next(s for s in data["skills"] if s["id"] == "disk-full")
    assert set(disk) >= {"id", "version", "description", "triggers", "max_risk", "verify", "steps"}
    assert len(disk["version"]) == 12 and disk["steps"] > 3


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "list"]) == 0
    out = capsys.readouterr().out
    assert "stale-lockfile" in out and "slow-response" in out


def test_list_reports_problems(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    skills = tmp_path / ".agents" / "skills" / "broken"
    skills.mkdir(parents=True)
    (skills / "SKILL.md").write_text("---\nname: [\n---\n")
    monkeypatch.setenv("SRE_AGENT_HOME", str(tmp_path))
    assert main(["skills", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skills"] == []
    assert data["problems"][0]["file"].endswith("broken/SKILL.md")
    assert "bad frontmatter YAML" in data["problems"][0]["reason"]


def test_show_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "show", "port-mismatch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "port-mismatch" and data["contract"]["runbook"][0]["name"] == "status"
    assert main(["skills", "show", "port-mismatch"]) == 0
    out = capsys.readouterr().out
    assert "cat etc/clients.conf" in out and "When to stop and escalate" in out


def test_show_unknown_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown skill 'nope'" in err and "disk-full" in err


def test_route_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "route", "--json", "Writes failing with No space left on device"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"skill", "confidence", "candidates", "abstained_reason",
                         "example_votes", "classifier", "decided_by"}
    assert data["skill"] == "disk-full" and data["abstained_reason"] is None
    assert data["decided_by"] == "router" and next(iter(data["classifier"])) == "disk-full"
    assert data["candidates"][0]["skill"] == "disk-full"


def test_route_abstains_in_text_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "route", "how do I renew the office wifi password"]) == 0
    assert "no skill" in capsys.readouterr().out


def test_route_file_one_json_per_line_in_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    incidents = tmp_path / "incidents.txt"
    incidents.write_text("EACCES on store.db\nDNS NXDOMAIN for api\np99 latency 9s\n")
    assert main(["skills", "route", "--file", str(incidents)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["skill"] for line in lines] == [
        "permission-denied", None, "slow-response"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["skills", "route"],
        ["skills", "route", "x", "--file", "y"],
        ["skills", "route", "   "],
        ["skills", "route", "--file", "/nonexistent/incidents.txt"],
    ],
)
def test_route_bad_input_is_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")
