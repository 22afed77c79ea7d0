"""Scenario validation: every scenario proven honest before anyone runs it.

For each scenario and seed: healthy before the fault; red after it; still red if nothing is
done; green after the known fix, sustained; red if the service is stopped, or replaced by an
impostor that answers like it; red if what must stay intact is destroyed; nothing left after
teardown. `validate(...)` returns one result per check; a scenario that fails one is not
runnable (`check_runnable`).
"""

from sre_agent.validation.checks import CHECKS, CheckResult, ScenarioResult, validate_scenario
from sre_agent.validation.report import ValidationReport, check_runnable, parse_seeds, validate

__all__ = ["CHECKS", "CheckResult", "ScenarioResult", "ValidationReport", "check_runnable",
           "parse_seeds", "validate", "validate_scenario"]
