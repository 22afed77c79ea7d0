"""`sre-agent scenarios validate`, in-process: the example pack (a service that is not ours,
examples/packs/static-site) is proven honest on seeds 1-3, and each deliberately broken pack of
tests/data/packs/validation fails exactly the one check it was built to fail.

Every validation starts real sandboxes, so they all run once, from a module fixture, in one
pool; the tests then read the results. A validation mostly waits (probe intervals, the pause
before red_if_nothing_done, program start-up) and uses little CPU: on this 2-core machine the
sum of the validations' durations stays the same with 2, 3 or 4 workers (~205 s) while the
wall time falls (107 s, 77 s, 57 s under a load average of 7), hence 3 workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sre_agent.incidents.packs import PATH_ENV
from sre_agent.validation import CHECKS, ScenarioResult, validate_scenario
from tests.support import DATA, needs_ns

pytestmark = needs_ns

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "packs" / "static-site"
BROKEN = DATA / "packs" / "validation"
WORKERS = 3
EXAMPLE_SCENARIOS = ["upstream_port_drift", "broken_release", "maintenance_left_on",
                     "site_false_alarm"]
SEEDS = [1, 2, 3]
# the check each broken pack fails (its directory is named after it), its scenario, and the
# backend it fails on (teardown_clean: only `local` lets a process outlive its sandbox)
BROKEN_PACKS = {
    "healthy_before_fault": ("never_healthy", "ns"),
    "red_after_fault": ("invisible_fault", "ns"),
    "red_if_nothing_done": ("self_healing_fault", "ns"),
    "green_after_fix_sustained": ("fix_does_not_fix", "ns"),
    "red_if_stopped": ("probe_ignores_service", "ns"),
    "red_if_intact_destroyed": ("intact_regenerated", "ns"),
    "teardown_clean": ("daemon_escapes", "local"),
}
# Once broken (`own_listener` named another port than the probed one, so an impostor on the
# probed port passed); the verifier now always checks who serves every probed port.
CLOSED_HOLES = {"red_if_impostor": ("impostor_passes", "ns")}


@pytest.fixture(scope="module")
def results(runtime_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[tuple[str, int], ScenarioResult]]:
    """Every validation of this file, run once: (scenario, seed) -> result."""
    jobs = [(name, 1, backend) for name, backend in BROKEN_PACKS.values() if backend == "local"]
    jobs += [(name, seed, "ns") for name in EXAMPLE_SCENARIOS for seed in SEEDS]
    jobs += [(name, 1, backend) for name, backend in BROKEN_PACKS.values() if backend != "local"]
    jobs += [(name, 1, backend) for name, backend in CLOSED_HOLES.values()]
    with pytest.MonkeyPatch.context() as mp:  # the autouse fixtures are per test: repeat them
        mp.setenv(PATH_ENV, f"{EXAMPLE}:{BROKEN}")
        mp.setenv("SRE_AGENT_RUNTIME_DIR", str(runtime_dir))
        mp.setenv("SRE_AGENT_ARTIFACTS_DIR", str(tmp_path_factory.mktemp("artifacts")))
        mp.setenv("SRE_AGENT_NO_DOTENV", "1")
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            done = list(pool.map(lambda job: validate_scenario(*job), jobs))
        yield {(r.scenario, r.seed): r for r in done}


def _failures(result: ScenarioResult) -> dict[str, str]:
    return {c.name: c.detail for c in result.checks if not c.passed and not c.skipped}


@pytest.mark.parametrize("scenario", EXAMPLE_SCENARIOS)
def test_the_example_pack_is_honest_on_seeds_1_to_3(results, scenario: str) -> None:  # noqa: ANN001
    for seed in SEEDS:
        result = results[(scenario, seed)]
        assert result.pack == "static-site"
        assert [c.name for c in result.checks] == list(CHECKS)
        assert _failures(result) == {}, f"{scenario} seed {seed}"
        ran = {c.name for c in result.checks if not c.skipped}
        assert {"healthy_before_fault", "red_after_fault", "red_if_stopped",
                "red_if_impostor", "red_if_intact_destroyed", "teardown_clean"} <= ran
        if scenario != "site_false_alarm":  # a false alarm has nothing to fix
            assert {"red_if_nothing_done", "green_after_fix_sustained"} <= ran


def test_the_example_pack_is_red_for_the_right_reasons(results) -> None:  # noqa: ANN001
    def detail(scenario: str, check: str) -> str:
        return next(c.detail for c in results[(scenario, 1)].checks if c.name == check)

    assert "answered 502" in detail("upstream_port_drift", "red_after_fault")
    assert "answered 404" in detail("broken_release", "red_after_fault")
    assert "answered 503" in detail("maintenance_left_on", "red_after_fault")
    for scenario in EXAMPLE_SCENARIOS:
        assert "impostor" in detail(scenario, "red_if_impostor")
    assert "changed or destroyed" in detail("maintenance_left_on", "red_if_intact_destroyed")


@pytest.mark.parametrize("check", list(BROKEN_PACKS))
def test_each_broken_pack_fails_exactly_its_check(results, check: str) -> None:  # noqa: ANN001
    scenario, _backend = BROKEN_PACKS[check]
    result = results[(scenario, 1)]
    assert result.pack.startswith("broken-")
    # a steady state that never looks at the service is also one any impostor passes
    also = ["red_if_impostor"] if check == "red_if_stopped" else []
    assert result.failed == [check, *also], _failures(result)
    assert not result.passed


def test_broken_packs_say_why(results) -> None:  # noqa: ANN001
    def failure(check: str) -> str:
        return _failures(results[(BROKEN_PACKS[check][0], 1)])[check]

    assert failure("healthy_before_fault").startswith("expected green, the verifier said red")
    assert "answered 404" in failure("healthy_before_fault")
    for check in ("red_after_fault", "red_if_nothing_done", "red_if_stopped",
                  "red_if_intact_destroyed"):
        assert failure(check).startswith("expected red, the verifier said green"), check
    assert "body not matching /hello/" in failure("green_after_fix_sustained")
    # see the pack (local backend): the escaped shipper is named, or the directory it kept
    assert failure("teardown_clean").startswith(("left: pids", "directory left"))
    # a steady state that never looks at the service's own processes fails the impostor check
    stopped = results[(BROKEN_PACKS["red_if_stopped"][0], 1)]
    impostor = next(c for c in stopped.checks if c.name == "red_if_impostor")
    assert not impostor.passed and "nothing ties health" in impostor.detail


def test_own_listener_cannot_exclude_the_probed_port(results) -> None:  # noqa: ANN001
    result = results[(CLOSED_HOLES["red_if_impostor"][0], 1)]
    assert result.passed, _failures(result)
    impostor = next(c for c in result.checks if c.name == "red_if_impostor")
    assert not impostor.skipped and "impostor" in impostor.detail
