"""Text and evidence together: which runbook a run plays first, and why.

- The service is green and no check supports a fault: nothing to fix, whatever the text says
  (no runbook plays). Green probes with evidence of a cause (an intermittent fault, e.g. port
  exhaustion under bursts) go on to the evidence's skill below.
- The text's skill is among those the evidence supports, as strongly as any: `both`.
- The evidence supports other skills (more strongly, or the text fits none): the best of them
  (ties broken by the text's scores), `evidence`; `overruled` when the text had chosen.
- Nothing fits the evidence: the text's choice stands (`text`) unless a check ruled it out;
  without any choice the incident is escalated with the evidence (`none`).
"""

from __future__ import annotations

from sre_agent.skills.router import RouteResult
from sre_agent.triage.model import RoutingDecision, TriageReport


def decide(routed: RouteResult | None, report: TriageReport | None) -> RoutingDecision:
    text_skill = routed.skill if routed else None
    confidence = routed.confidence if routed else 0.0
    base = {"text_skill": text_skill, "text_confidence": confidence}
    if report is None:
        if text_skill:
            return RoutingDecision(skill=text_skill, source="text", outcome="play",
                                   reason=f"text chose {text_skill} ({confidence:.2f}); "
                                          "no triage", **base)
        return RoutingDecision(skill=None, source="none", outcome="escalate",
                               reason="the text fits no skill and there was no triage", **base)
    fitting = report.fitting
    base["fitting"] = fitting
    if report.healthy and not fitting:
        why = "every health check is green"
        if text_skill:
            why += f"; the text's {text_skill} is not needed"
        return RoutingDecision(skill=None, source="evidence", outcome="nothing_to_fix",
                               overruled=text_skill is not None, reason=why, **base)
    if fitting:
        best = max(report.fit_of(s).score for s in fitting)  # type: ignore[union-attr]
        top = [s for s in fitting if report.fit_of(s).score == best]  # type: ignore[union-attr]
        if text_skill in top:
            return RoutingDecision(skill=text_skill, source="both", outcome="play",
                                   reason=f"text chose {text_skill} ({confidence:.2f}) and "
                                          f"the evidence supports it: {_why(report, text_skill)}",
                                   **base)
        text_scores = {c.skill: c.score for c in (routed.candidates if routed else [])}
        chosen = max(top, key=lambda s: (text_scores.get(s, 0.0), -top.index(s)))
        if text_skill:
            reason = (f"the evidence overrules the text's {text_skill} ({confidence:.2f}): "
                      f"{_why(report, chosen)}")
        else:
            reason = f"the text chose nothing; the evidence points at {chosen}: " \
                     f"{_why(report, chosen)}"
        return RoutingDecision(skill=chosen, source="evidence", outcome="play",
                               overruled=text_skill is not None, reason=reason, **base)
    if text_skill:
        fit = report.fit_of(text_skill)
        if fit is not None and fit.against:
            return RoutingDecision(
                skill=None, source="evidence", outcome="escalate", overruled=True,
                reason=f"the evidence rules out the text's {text_skill} "
                       f"({fit.against[0].check}: {fit.against[0].excerpt}) and supports no "
                       "other skill", **base)
        return RoutingDecision(skill=text_skill, source="text", outcome="play",
                               reason=f"text chose {text_skill} ({confidence:.2f}); no check "
                                      "confirms or rules it out", **base)
    return RoutingDecision(skill=None, source="none", outcome="escalate",
                           reason="no skill fits the text or the evidence", **base)


def _why(report: TriageReport, skill: str) -> str:
    fit = report.fit_of(skill)
    if fit is None or not fit.supports:
        return "no evidence"
    return "; ".join(f"{e.check}: {e.excerpt}" for e in fit.supports[:2])
