"""Scenario packs: found on --scenario-path, SRE_AGENT_SCENARIO_PATH and entry points; listed
with their pack, source and skills; their skills loaded and routed; a broken pack is a one-line
usage error (exit 2) that names the problem. Nothing here starts a sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sre_agent import plugins
from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue, catalogue_of_packs, load_pack, packs, plan_incident
from sre_agent.incidents.catalogue import fingerprint, ground_truth
from sre_agent.incidents.packs import ENTRY_POINT_GROUP, PATH_ENV, search_paths
from sre_agent.incidents.templates import Values
from sre_agent.incidents.truth import MAX_CHECKED_BYTES, CheckContext
from sre_agent.skills.catalogue import load_catalog
from sre_agent.skills.router import route
from tests.support import DATA

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "packs" / "static-site"
FORMAT = DATA / "packs" / "format"
BROKEN = DATA / "packs" / "validation"
EXAMPLE_SKILLS = {"upstream_port_drift": ["edge-bad-gateway"],
                  "broken_release": ["site-release-rollback"],
                  "maintenance_left_on": ["site-maintenance-stuck"],
                  "site_false_alarm": []}


@pytest.fixture(autouse=True)
def no_scenario_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--scenario-path` extends the process environment: undo it after every test."""
    monkeypatch.setenv(PATH_ENV, "")


@pytest.fixture
def only_given_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    """No installed packs (entry points): an error of another pack (one being edited in the
    checkout, say) cannot come first and hide the one under test."""
    real = plugins.installed
    monkeypatch.setattr(plugins, "installed",
                        lambda group: {} if group == ENTRY_POINT_GROUP else real(group))
    monkeypatch.setattr(packs, "_cache", {})


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- discovery ------------------------------------------------------------------------------
def test_scenario_path_option_adds_the_example_pack(cli) -> None:  # noqa: ANN001
    code, out, err = cli("scenarios", "list", "--json", "--scenario-path", str(EXAMPLE))
    assert code == 0, err
    listed = {s["name"]: s for s in json.loads(out)}
    assert {n: listed[n]["skill_ids"] for n in EXAMPLE_SKILLS} == EXAMPLE_SKILLS
    for name in EXAMPLE_SKILLS:
        assert listed[name]["pack"] == "static-site" and listed[name]["source"] == "path"
    assert listed["upstream_port_drift"]["skill_id"] == "edge-bad-gateway"
    assert listed["site_false_alarm"]["skill_id"] is None
    assert listed["site_false_alarm"]["expected_outcome"] == "nothing_to_fix"
    assert listed["broken_release"]["difficulty"]["steps"] == 5
    assert listed["stale_lockfile"]["source"] == "plugin builtin"  # the built-ins stay
    ours = [s["name"] for s in json.loads(out) if s["pack"] == "static-site"]
    assert ours == list(EXAMPLE_SKILLS)  # the pack's `order`


def test_scenario_path_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATH_ENV, os.pathsep.join([str(EXAMPLE), str(BROKEN)]))
    assert search_paths() == [EXAMPLE, BROKEN]
    by_pack: dict[str, list[str]] = {}
    for scenario in catalogue():
        by_pack.setdefault(scenario.pack, []).append(scenario.name)
    assert by_pack["static-site"] == list(EXAMPLE_SKILLS)
    broken = sorted(p for p in by_pack if p.startswith("broken-"))
    assert len(broken) == 8  # a directory of packs: every pack in it
    assert "builtin" in by_pack  # entry points (group sre_agent.scenarios) still load
    sources = {p.name: p.source for p in catalogue_of_packs().packs}
    assert sources["static-site"] == "path" and sources["builtin"] == "plugin builtin"


def test_an_installed_entry_point_brings_its_packs(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """What docs/scenario-packs.md tells a third party to ship: a callable in the
    `sre_agent.scenarios` group that returns a pack directory (or a directory of packs)."""
    package = tmp_path / "acme_docs_pack"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from pathlib import Path\n\n\n"
        f"def packs() -> Path:\n    return Path({str(EXAMPLE.parent)!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins.installed

    def installed(group: str) -> dict[str, str]:
        found = real(group)
        return {**found, "acme-docs": "acme_docs_pack:packs"} if group == ENTRY_POINT_GROUP \
            else found

    monkeypatch.setattr(plugins, "installed", installed)
    monkeypatch.setattr(packs, "_cache", {})
    found = {p.name: p for p in catalogue_of_packs().packs}
    assert found["static-site"].source == "plugin acme-docs"
    assert found["static-site"].root == EXAMPLE
    assert [s.name for s in catalogue() if s.pack == "static-site"] == list(EXAMPLE_SKILLS)


def test_a_broken_installed_pack_is_skipped_and_named(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, cli) -> None:  # noqa: ANN001
    """A pack being edited next to working ones must not take the working ones down."""
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "half-written").mkdir()
    (shelf / "half-written" / "pack.yaml").write_text("name: half-written\n")
    (shelf / "site").symlink_to(EXAMPLE)
    package = tmp_path / "shelf_pack"
    package.mkdir()
    (package / "__init__.py").write_text(
        f"from pathlib import Path\n\n\ndef packs() -> Path:\n    return Path({str(shelf)!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "installed", lambda group: {"shelf": "shelf_pack:packs"}
                        if group == ENTRY_POINT_GROUP else {})
    monkeypatch.setattr(packs, "_cache", {})
    found = catalogue_of_packs()
    assert [p.name for p in found.packs] == ["static-site"]
    assert len(found.problems) == 1 and found.problems[0].startswith("half-written: ")
    assert "service: Field required" in found.problems[0]
    code, out, err = cli("scenarios", "list", "--json")
    assert code == 0 and "broken_release" in out
    assert "warning: skipped a broken installed pack: half-written" in err
    code, _out, err = cli("run", "--scenario", "ws_nothing", "--simulate")
    assert code == 2 and "skipped broken packs: half-written" in _one_line_error(err)
    # named by the user, the same pack is an error
    code, _out, err = cli("scenarios", "list", "--scenario-path", str(shelf / "half-written"))
    assert code == 2 and "service: Field required" in _one_line_error(err)


def test_the_same_pack_reached_twice_counts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = next(p for p in catalogue_of_packs().packs if p.name == "builtin").root
    monkeypatch.setenv(PATH_ENV, os.pathsep.join([str(builtin), str(EXAMPLE), str(EXAMPLE)]))
    names = [p.name for p in catalogue_of_packs().packs]
    assert names.count("builtin") == 1 and names.count("static-site") == 1


def test_the_pack_brings_its_skills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATH_ENV, str(EXAMPLE))
    catalog = load_catalog()
    ours = {s.id: s for s in catalog.skills if s.path.is_relative_to(EXAMPLE)}
    assert set(ours) == {"edge-bad-gateway", "site-release-rollback", "site-maintenance-stuck"}
    assert not [p for p in catalog.problems if p.path.is_relative_to(EXAMPLE)]
    for skill in ours.values():
        assert skill.contract.max_risk == "MEDIUM"
        steps = skill.contract.runbook
        assert not steps[0].mutates and any(s.mutates for s in steps)
    assert "site-release-rollback" not in {s.id for s in load_catalog(ROOT / ".agents/skills")
                                           .skills}


@pytest.mark.parametrize("scenario", list(EXAMPLE_SKILLS))
def test_every_incident_text_routes_to_the_scenarios_skill(monkeypatch: pytest.MonkeyPatch,
                                                           scenario: str) -> None:
    monkeypatch.setenv(PATH_ENV, str(EXAMPLE))
    catalog = load_catalog()
    wanted = (EXAMPLE_SKILLS[scenario] or [None])[0]
    for seed in (1, 2):  # the texts alternate with the seed
        text = plan_incident(scenario, seed).text
        assert "{" not in text
        assert route(text, catalog).skill == wanted, text


def test_seeds_vary_what_the_runbooks_must_discover(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATH_ENV, str(EXAMPLE))
    plans = [plan_incident("upstream_port_drift", seed) for seed in range(1, 13)]
    assert len({p.ports["proxy"] for p in plans}) > 1
    assert len({p.ports["origin"] for p in plans}) > 1
    assert all(p.ports["proxy"] != p.ports["origin"] for p in plans)
    assert all(int(p.params["stale_port"]) not in p.ports.values() for p in plans)
    assert {p.params["drift"] for p in plans} == {"proxy", "origin"}
    assert len({p.params["live_release"] for p in plans}) > 1  # a pack-wide parameter
    assert len({p.params["maintenance_file"] for p in plans}) > 1
    assert plan_incident("broken_release", 4) == plan_incident("broken_release", 4)
    assert plan_incident("upstream_port_drift", 1).service_port == plans[0].ports["proxy"]


def test_load_pack_reads_the_manifest_and_every_scenario() -> None:
    pack = load_pack(EXAMPLE, "path")
    assert pack.name == "static-site" and pack.skills_dir == EXAMPLE / "skills"
    assert list(pack.scenarios) == list(EXAMPLE_SKILLS)
    service = pack.spec.service
    assert [p.name for p in service.programs] == ["origin", "proxy"] and service.main == "proxy"
    assert set(service.ports) == {"proxy", "origin"}
    assert [p.name for p in service.steady_state.probes] == ["home", "stylesheet", "health"]


# ---- errors: one line, exit 2, naming the problem -------------------------------------------
@pytest.mark.usefixtures("only_given_packs")
def test_a_scenario_name_in_two_packs_names_both(cli) -> None:  # noqa: ANN001
    code, _out, err = cli("scenarios", "list", "--scenario-path", str(FORMAT / "clash"))
    assert code == 2
    line = _one_line_error(err)
    assert "scenario 'page_gone_clash' is declared by two packs" in line
    assert "format-clash-alpha" in line and "format-clash-beta" in line
    assert str(FORMAT / "clash" / "alpha") in line and "rename one of them" in line


@pytest.mark.parametrize(("case", "message"), [
    ("unknown_field", "scenarios/page_gone.yaml: faults: Extra inputs are not permitted"),
    ("unknown_port", "unknown port 'http' in 'web page on 127.0.0.1:{port:http} returns 404' "
                     "(declared ports: web)"),
    ("unknown_param", "unknown param 'page' in 'rm -f www/{param:page}' "
                      "(declared params: victim)"),
    ("missing_manifest", "no scenario pack at"),
])
@pytest.mark.usefixtures("only_given_packs")
def test_format_errors_are_one_line_usage_errors(cli, case: str, message: str) -> None:  # noqa: ANN001
    code, out, err = cli("scenarios", "list", "--scenario-path", str(FORMAT / case))
    assert code == 2 and out == ""
    line = _one_line_error(err)
    assert message in line
    assert str(FORMAT / case) in line  # the file or directory at fault


@pytest.mark.usefixtures("only_given_packs")
def test_a_missing_manifest_says_what_a_pack_is() -> None:
    with pytest.raises(UsageError, match="no scenario pack at .*missing_manifest") as info:
        catalogue_of_packs_at(FORMAT / "missing_manifest")
    assert "pack.yaml" in (info.value.hint or "")


@pytest.mark.usefixtures("only_given_packs")
def test_a_broken_pack_on_the_environment_path_is_an_error_too(
        monkeypatch: pytest.MonkeyPatch, cli) -> None:  # noqa: ANN001
    monkeypatch.setenv(PATH_ENV, str(FORMAT / "unknown_port"))
    code, _out, err = cli("scenarios", "list")
    assert code == 2 and "unknown port 'http'" in _one_line_error(err)


def test_a_scenario_path_that_does_not_exist(cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, _out, err = cli("scenarios", "list", "--scenario-path", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in _one_line_error(err)


def test_a_file_that_is_no_experiment(cli, tmp_path: Path) -> None:  # noqa: ANN001
    stray = tmp_path / "notes.yaml"
    stray.write_text("just: notes\n")
    code, _out, err = cli("scenarios", "list", "--scenario-path", str(stray))
    assert code == 2 and "neither a pack directory nor a Chaos Toolkit experiment" in \
        _one_line_error(err)


def catalogue_of_packs_at(path: Path) -> object:
    os.environ[PATH_ENV] = str(path)  # restored by the autouse fixture
    return catalogue_of_packs()


def test_an_intact_file_over_the_read_cap_is_a_red_check_not_a_crash(tmp_path: Path) -> None:
    """A pack may name a file too large to fingerprint: the run goes on and the intact check
    is red with the reason (never a traceback that kills validation or the run)."""
    incident = plan_incident("corrupted_data_store", 1)
    store = tmp_path / "var" / "data" / "store.db"
    store.parent.mkdir(parents=True)
    with store.open("wb") as f:
        f.truncate(MAX_CHECKED_BYTES + 1)  # sparse: no disk used
    ctx = CheckContext(workdir=tmp_path, incident=incident, values=Values())
    fingerprint(incident, ctx, "after_fault")
    assert incident.fingerprints["var/data/store.db"].startswith("unreadable: ")
    verdict = ground_truth(incident, ctx)
    assert not verdict.ok and "too large" in verdict.detail


def test_the_catalogue_is_built_once_when_many_threads_ask_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    monkeypatch.setattr(packs, "_cache", {})
    build = packs._build_catalogue
    builds: list[int] = []

    def slow_build(key: tuple[str, ...]) -> object:
        builds.append(1)
        time.sleep(0.05)  # every thread arrives while the first build runs
        return build(key)

    monkeypatch.setattr(packs, "_build_catalogue", slow_build)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(catalogue_of_packs()))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len(got) == 8 and all(c is got[0] for c in got)
