"""Validating many scenarios (in parallel), and remembering the results per pack version so
that a scenario that failed validation is refused at run time, naming the failed check."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue, catalogue_of_packs, scenario_spec
from sre_agent.validation.checks import SETTINGS, ScenarioResult, validate_scenario

_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")
MAX_SEEDS = 100


class ValidationReport(BaseModel):
    results: list[ScenarioResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def summary(self) -> dict[str, object]:
        failed = [f"{r.scenario}/{r.seed}: {', '.join(r.failed)}" for r in self.results
                  if not r.passed]
        return {"scenarios": len({r.scenario for r in self.results}),
                "runs": len(self.results), "passed": self.passed, "failed": failed}


def parse_seeds(text: str) -> list[int]:
    """`1-3`, `5`, `1-3,7` -> seeds; anything else is a usage error."""
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEEDS.match(part)
        if not match:
            raise UsageError(f"--seeds {text!r} is not a list of seeds or ranges",
                             "for example 1-3 or 1,4,7")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise UsageError(f"--seeds range {part.strip()!r} is empty")
        seeds += range(low, high + 1)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise UsageError(f"--seeds gives {len(seeds)} seeds (1 to {MAX_SEEDS})")
    return list(dict.fromkeys(seeds))


def select(target: str | None) -> list[str]:
    """Scenario names for a pack name, a scenario name, or everything (None)."""
    names = [s.name for s in catalogue()]
    if target is None:
        return names
    # every pack of that name: a Chaos Toolkit experiment on a pack shares the pack's name
    of_pack = [name for p in catalogue_of_packs().packs if p.name == target
               for name in p.scenarios]
    if of_pack:
        return list(dict.fromkeys(of_pack))
    scenario_spec(target)  # an unknown name is a usage error that lists the known ones
    return [target]


def _pack_version(scenario: str) -> str:
    pack, _spec = scenario_spec(scenario)
    digest = hashlib.sha256()
    for path in sorted(p for p in pack.root.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(pack.root)).encode())
        digest.update(path.read_bytes())
    return f"{pack.name}-{digest.hexdigest()[:16]}"


def _record_path(version: str) -> Path:
    return paths.artifacts_dir() / "validation" / f"{version}.json"


def _remember(report: ValidationReport) -> None:
    by_version: dict[str, dict[str, list[str]]] = {}
    for result in report.results:
        version = _pack_version(result.scenario)
        failures = by_version.setdefault(version, {})
        failures.setdefault(result.scenario, [])
        failures[result.scenario] += result.failed
    for version, failures in by_version.items():
        path = _record_path(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        known = json.loads(path.read_text()) if path.is_file() else {}
        known.update({name: sorted(set(failed)) for name, failed in failures.items()})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        tmp.replace(path)


def check_runnable(scenario: str) -> None:
    """Refuse a scenario whose last validation (of this very pack version) failed."""
    path = _record_path(_pack_version(scenario))
    if not path.is_file():
        return
    failed = json.loads(path.read_text()).get(scenario) or []
    if failed:
        raise UsageError(f"scenario {scenario!r} failed validation ({', '.join(failed)})",
                         f"fix the pack and run `sre-agent scenarios validate {scenario}`")


def validate(target: str | None = None, seeds: list[int] | None = None, *,
             backend: str = "auto", concurrency: int = 2,
             on_result: Callable[[ScenarioResult], None] | None = None) -> ValidationReport:
    """Validate every scenario of `target` (pack or scenario; None: all) for each seed."""
    names = select(target)
    jobs = [(name, seed) for name in names for seed in (seeds or [1])]

    def one(job: tuple[str, int]) -> ScenarioResult:
        result = validate_scenario(job[0], job[1], backend, SETTINGS)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(one, jobs))
    report = ValidationReport(results=results)
    _remember(report)
    return report
