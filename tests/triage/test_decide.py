"""Text and evidence together: confirm, reorder, overrule, resolve, nothing to fix."""

from __future__ import annotations

from sre_agent.skills.router import Candidate, RouteResult
from sre_agent.triage import Evidence, SkillFit, TriageReport, decide


def _text(skill: str | None, *others: str) -> RouteResult:
    names = [n for n in (skill, *others) if n]
    return RouteResult(skill=skill, confidence=0.8 if skill else 0.1,
                       candidates=[Candidate(skill=n, score=10.0 - i, evidence=[n])
                                   for i, n in enumerate(names)])


def _fit(skill: str, supports: int = 0, against: int = 0) -> SkillFit:
    return SkillFit(skill=skill, score=supports - 2 * against, checks=supports + against,
                    supports=[Evidence(check=f"c{i}", kind="supports", excerpt="yes")
                              for i in range(supports)],
                    against=[Evidence(check=f"r{i}", kind="rules_out", excerpt="no")
                             for i in range(against)])


def _report(*fits: SkillFit, healthy: bool | None = False) -> TriageReport:
    ranked = sorted(fits, key=lambda f: (not f.fits, -f.score))
    return TriageReport(healthy=healthy, ranked=ranked)


def test_text_confirmed_by_the_evidence_is_both() -> None:
    d = decide(_text("disk-full"), _report(_fit("disk-full", 2), _fit("stale-lockfile")))
    assert (d.skill, d.source, d.outcome, d.overruled) == ("disk-full", "both", "play", False)


def test_a_red_herring_loses_to_the_evidence() -> None:
    d = decide(_text("disk-full"), _report(_fit("disk-full", 0, 1), _fit("stale-lockfile", 1)))
    assert (d.skill, d.source, d.overruled) == ("stale-lockfile", "evidence", True)
    assert "overrules" in d.reason


def test_stronger_evidence_reorders_the_text() -> None:
    d = decide(_text("dependency-down"),
               _report(_fit("disk-full", 2), _fit("dependency-down", 1)))
    assert d.skill == "disk-full" and d.overruled and d.fitting == ["disk-full",
                                                                     "dependency-down"]


def test_a_vague_text_is_resolved_by_the_evidence() -> None:
    d = decide(_text(None), _report(_fit("port-mismatch", 1)))
    assert (d.skill, d.source, d.overruled) == ("port-mismatch", "evidence", False)


def test_ties_in_the_evidence_are_broken_by_the_text_scores() -> None:
    d = decide(_text(None, "dependency-down", "disk-full"),
               _report(_fit("disk-full", 2), _fit("dependency-down", 2)))
    assert d.skill == "dependency-down"


def test_a_green_service_means_nothing_to_fix_whatever_the_text() -> None:
    d = decide(_text("disk-full"), _report(_fit("disk-full"), healthy=True))
    assert (d.skill, d.outcome, d.source, d.overruled) == (None, "nothing_to_fix", "evidence",
                                                           True)


def test_green_probes_with_evidence_of_a_cause_play_it() -> None:
    """An intermittent fault (port exhaustion under bursts) can look green at one instant:
    evidence of its cause still plays the runbook."""
    d = decide(_text(None), _report(_fit("disk-full", 1), healthy=True))
    assert (d.skill, d.outcome, d.source) == ("disk-full", "play", "evidence")


def test_silent_evidence_keeps_the_text_and_a_rule_out_escalates() -> None:
    silent = decide(_text("slow-response"), _report(_fit("slow-response")))
    assert (silent.skill, silent.source) == ("slow-response", "text")
    ruled = decide(_text("slow-response"), _report(_fit("slow-response", 0, 1)))
    assert (ruled.skill, ruled.outcome, ruled.overruled) == (None, "escalate", True)


def test_nothing_fits_and_no_text_escalates() -> None:
    d = decide(_text(None), _report(_fit("disk-full")))
    assert (d.skill, d.source, d.outcome) == (None, "none", "escalate")


def test_without_triage_the_text_decides() -> None:
    assert decide(_text("disk-full"), None).source == "text"
    assert decide(None, None).outcome == "escalate"
