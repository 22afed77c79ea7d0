"""End to end on the example pack (a service that is not ours): `sre-agent run --simulate`
breaks each scenario in a real sandbox for seed 1, the router picks the pack's own skill from
the incident text, the offline runbook policy plays it, and the verifier says green."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sre_agent.incidents.packs import PATH_ENV
from tests.support import needs_ns

pytestmark = [pytest.mark.e2e, needs_ns]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "packs" / "static-site"
EXPECTED = {  # scenario -> (skill chosen, final status)
    "upstream_port_drift": ("edge-bad-gateway", "fixed"),
    "broken_release": ("site-release-rollback", "fixed"),
    "maintenance_left_on": ("site-maintenance-stuck", "fixed"),
    "site_false_alarm": (None, "nothing_to_fix"),
}


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_run_simulate_on_seed_1(cli, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                scenario: str) -> None:
    monkeypatch.setenv(PATH_ENV, "")  # --scenario-path extends the environment: undo it
    code, out, err = cli("run", "--scenario-path", str(EXAMPLE), "--scenario", scenario,
                         "--seed", "1", "--simulate", "--sandbox", "ns", "--json",
                         "--disable-trace-log", "--verify-interval-s", "0.5")
    assert code == 0, err[-2000:]
    summary = json.loads(out)
    skill, status = EXPECTED[scenario]
    assert (summary["skill_id"], summary["status"]) == (skill, status), summary
    assert summary["service_up"] and summary["simulated"] and not summary["claim_disagrees"]
    if skill is not None:
        assert summary["steps"] >= 8 and summary["highest_risk"] == "MEDIUM"
