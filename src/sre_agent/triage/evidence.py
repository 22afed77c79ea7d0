"""From command outputs to evidence: which skills the system supports, which it rules out,
and whether the service is red at all.

A support adds 1 to a skill's score, a rule-out takes 2 away (a look that contradicts a fault
outweighs one that is merely consistent with it). A skill fits when it has a support and a
positive score. Ranking: score, then catalogue order (the text breaks ties in `decide`).
"""

from __future__ import annotations

import json
import re

from sre_agent.incidents.spec import JsonPathTolerance
from sre_agent.incidents.tolerance import fits, from_data
from sre_agent.triage.model import (
    CheckRun,
    Evidence,
    HealthCheck,
    HealthResult,
    Plan,
    SkillFit,
    TriageReport,
)

SUPPORT_WEIGHT = 1.0
RULE_OUT_WEIGHT = 2.0
EXCERPT_CHARS = 160
_HTTP_LINE = re.compile(r"^HTTP (\d{3})\s*$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def excerpt(output: str, match: re.Match[str]) -> str:
    """The line where the match starts, printable and bounded."""
    start = output.rfind("\n", 0, match.start()) + 1
    end = output.find("\n", match.start())
    line = output[start:end if end >= 0 else len(output)].strip()
    line = _CONTROL.sub(" ", line)
    return line if len(line) <= EXCERPT_CHARS else line[:EXCERPT_CHARS - 1] + "…"


def _fired(pattern: str | None, run: CheckRun | None) -> re.Match[str] | None:
    if not pattern or run is None or run.timed_out or run.exit_code is None:
        return None
    return re.search(pattern, run.output, re.MULTILINE)


def health_result(check: HealthCheck, run: CheckRun | None) -> HealthResult:
    """Is this probe green? (status and JSON paths within the probe's tolerances)"""
    if run is None:
        return HealthResult(name=check.name, ok=False, detail="did not run")
    found = list(_HTTP_LINE.finditer(run.output))
    code = int(found[-1].group(1)) if found else 0
    body = run.output[:found[-1].start()].strip() if found else run.output.strip()
    if code == 0:
        first = body.splitlines()[-1] if body else "no answer"
        return HealthResult(name=check.name, ok=False, detail=_CONTROL.sub(" ", first)[:120])
    summary = f"HTTP {code}"
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("error"):
        summary += f": {str(doc['error'])[:120]}"
    if not fits(code, from_data(check.status)):
        return HealthResult(name=check.name, ok=False, detail=summary)
    for path, tolerance in check.json_paths.items():
        wanted = from_data(tolerance)
        if not isinstance(wanted, JsonPathTolerance):
            wanted = JsonPathTolerance(type="jsonpath", path=path, expect=wanted)
        if not fits(body, wanted):
            return HealthResult(name=check.name, ok=False, detail=f"{summary}; {path} differs")
    return HealthResult(name=check.name, ok=True, detail=summary)


def judge(plan: Plan, runs: dict[str, CheckRun], duration_s: float = 0.0) -> TriageReport:
    """The report of one look (pure: no command runs here)."""
    health = [health_result(check, runs.get(check.run)) for check in plan.health]
    healthy = all(h.ok for h in health) if health else None
    fits_by_skill: list[SkillFit] = []
    for skill in plan.skills:
        supports: list[Evidence] = []
        against: list[Evidence] = []
        checks = [c for c in plan.checks if c.skill == skill]
        for check in checks:
            run = runs.get(check.run)
            hit = _fired(check.supports, run)
            if hit and run is not None:
                supports.append(Evidence(check=check.name, kind="supports",
                                         excerpt=excerpt(run.output, hit)))
            miss = _fired(check.rules_out, run)
            if miss and run is not None:
                against.append(Evidence(check=check.name, kind="rules_out",
                                        excerpt=excerpt(run.output, miss)))
        score = SUPPORT_WEIGHT * len(supports) - RULE_OUT_WEIGHT * len(against)
        fits_by_skill.append(SkillFit(skill=skill, score=score, supports=supports,
                                      against=against, checks=len(checks)))
    order = {skill: i for i, skill in enumerate(plan.skills)}
    ranked = sorted(fits_by_skill, key=lambda f: (not f.fits, -f.score, order[f.skill]))
    return TriageReport(healthy=healthy, health=health, ranked=ranked,
                        commands_run=len(runs), duration_s=round(duration_s, 3),
                        skipped=list(plan.skipped))
