"""The router: accuracy and abstention over training_data/incidents.json, words not substrings,
indirect symptoms, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sre_agent import paths
from sre_agent.skills.catalogue import SkillCatalog, load_catalog
from sre_agent.skills.router import route, stem, terms


@pytest.fixture(scope="module")
def catalog() -> SkillCatalog:
    return load_catalog()


def _incidents() -> list[dict]:
    return json.loads((paths.training_data_dir() / "incidents.json").read_text())


def test_incident_data_has_the_documented_shape() -> None:
    rows = _incidents()
    skill_ids = set(load_catalog().ids())
    assert len(rows) >= 170
    assert sum(r["expected_skill"] is None for r in rows) >= 0.25 * len(rows)
    assert len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"text", "scenario", "expected_skill", "split", "seeds"}
        assert r["split"] in {"train", "val", "test"}
        assert r["expected_skill"] is None or r["expected_skill"] in skill_ids
        if r["scenario"] is None or r["scenario"] in {"healthy_noop", "corrupted_data_store"}:
            assert r["expected_skill"] is None
        assert all(isinstance(s, int) for s in r["seeds"])


def test_accuracy_and_abstention_over_the_whole_set(catalog: SkillCatalog) -> None:
    rows = _incidents()
    in_cat = [r for r in rows if r["expected_skill"]]
    out_cat = [r for r in rows if not r["expected_skill"]]
    wrong = []
    for r in rows:
        got = route(r["text"], catalog).skill
        if got != r["expected_skill"]:
            wrong.append(f"[{r['split']}] expected {r['expected_skill']}, got {got}: {r['text']}")
    top1 = sum(route(r["text"], catalog).skill == r["expected_skill"] for r in in_cat)
    abstain = sum(route(r["text"], catalog).skill is None for r in out_cat)
    msg = "\n".join(wrong)
    assert top1 / len(in_cat) >= 0.95, f"top-1 {top1}/{len(in_cat)}; misroutes:\n{msg}"
    assert abstain / len(out_cat) >= 0.90, f"abstained {abstain}/{len(out_cat)}; misroutes:\n{msg}"


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("Writes failing with No space left on device", "disk-full"),
        ("ENOSPC", "disk-full"),
        # (a bare "TargetDiskUsageHigh ... severity=warning" is as near the disk alert threshold
        # runbook and the incidents no runbook covers: the example vote escalates it to triage)
        ("[FIRING:1] TargetDiskUsageHigh instance=sbx-9 severity=critical: no space left on "
         "device", "disk-full"),
        ("EACCES", "permission-denied"),
        ("p99 latency 9s", "slow-response"),
        ("connection refused while the process is running", "port-mismatch"),
        ("lock file run/x.lock is held by pid 77, refusing to start", "stale-lockfile"),
        ("missing required environment variable FOO_BAR", "bad-env-config"),
        ("dependency kv unreachable at 127.0.0.1:7777", "dependency-down"),
    ],
)
def test_indirect_symptoms_route(catalog: SkillCatalog, text: str, skill: str) -> None:
    result = route(text, catalog)
    assert result.skill == skill, result
    assert 0 < result.confidence <= 1 and result.abstained_reason is None
    assert result.candidates[0].skill == skill and result.candidates[0].evidence


@pytest.mark.parametrize(
    "text",
    [
        "The weekly report is late",  # "report" is not "port"
        "NTP clock drift on the host",  # "clock" is not "lock"
        "Deadlock detected in the orders transaction",
        # An expired certificate is no longer out of catalogue (the webstack pack's https skill
        # handles it); a renewal question still is.
        "When do we renew the TLS certificate for shop.example.com?",
        "DNS lookup returns NXDOMAIN for api.internal",
        "Billing bug: customers invoiced twice",
        "Pod OOMKilled, exit code 137",
        "",
    ],
)
def test_out_of_catalogue_abstains(catalog: SkillCatalog, text: str) -> None:
    result = route(text, catalog)
    assert result.skill is None
    assert result.abstained_reason


def test_words_not_substrings() -> None:
    assert "port" not in terms("report transport passport")
    assert "lock" not in terms("clock deadlock padlocks")
    assert terms("Ports") == ["port"] and stem("refused") == stem("refuses") == stem("refusing")
    assert terms("TargetDiskUsageHigh") == [stem(w) for w in ("target", "disk", "usage", "high")]


def test_route_is_deterministic_and_reports_candidates(catalog: SkillCatalog) -> None:
    text = "kv is STOPPED and the app health check fails"
    first = route(text, catalog)
    assert all(route(text, catalog) == first for _ in range(5))
    assert first.skill == "dependency-down"
    scores = [c.score for c in first.candidates]
    assert scores == sorted(scores, reverse=True)


def test_threshold_one_always_abstains(catalog: SkillCatalog) -> None:
    # the threshold is the hand-written reader's (the learned classifier has its own say)
    result = route("No space left on device", catalog, threshold=1.0, learned=False)
    assert result.skill is None and result.candidates[0].skill == "disk-full"


def test_router_and_skills_never_mention_the_sdk() -> None:
    for module in ("skills/router.py", "skills/catalogue.py"):
        source = (Path(__file__).resolve().parents[2] / "src" / "sre_agent" / module).read_text()
        assert not re.search(r"^\s*(from|import)\s+openhands", source, re.MULTILINE), module


def test_plain_python_bm25_matches_rank_bm25() -> None:
    from rank_bm25 import BM25Okapi as Reference

    from sre_agent.skills.router import BM25Okapi

    corpus = [["disk", "full", "quota", "disk"], ["lock", "pid"], ["port", "refus", "disk"],
              ["slow", "latency"], ["kv", "down", "disk"]]
    query = ["disk", "quota", "pid", "unknown", "disk"]
    assert BM25Okapi(corpus).get_scores(query) == pytest.approx(
        list(Reference(corpus).get_scores(query))
    )

