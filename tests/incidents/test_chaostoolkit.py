"""The Chaos Toolkit bridge: an experiment's steady-state hypothesis is the healthy definition,
its method the fault, its rollbacks the known fix; stand-alone experiments name the pack they
run on in the `sre-agent` extension. The e2e tests repair the experiments' incidents for real
(`run --simulate` on the example pack, tests/data/chaostoolkit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sre_agent import plugins
from sre_agent.errors import UsageError
from sre_agent.incidents import catalogue, load_pack, packs
from sre_agent.incidents.chaostoolkit import experiment_pack, is_experiment, to_scenario
from sre_agent.incidents.packs import ENTRY_POINT_GROUP, PATH_ENV
from sre_agent.incidents.spec import HttpProvider, ProcessProvider
from tests.support import DATA, needs_ns

CTK = DATA / "chaostoolkit"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "packs" / "static-site"
JSON_EXPERIMENT = CTK / "site_maintenance.json"
YAML_EXPERIMENT = CTK / "edge_upstream.yaml"


@pytest.fixture(autouse=True)
def no_scenario_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATH_ENV, "")  # `--scenario-path` extends the environment: undo it


@pytest.fixture(scope="module")
def pack():  # noqa: ANN201
    return load_pack(EXAMPLE, "path")


def _experiment(path: Path) -> dict:
    return yaml.safe_load(path.read_text())  # JSON is YAML


def _minimal(**extra: object) -> dict:
    return {"title": "Home page survives", "steady-state-hypothesis": {"probes": [
        {"type": "probe", "name": "home", "tolerance": 200,
         "provider": {"type": "http", "url": "http://127.0.0.1:{port:proxy}/"}}]},
        "method": [{"type": "action", "name": "break",
                    "provider": {"type": "process", "path": "true"}}],
        "rollbacks": [{"type": "action", "name": "repair",
                       "provider": {"type": "process", "path": "true"}}], **extra}


# ---- conversion -----------------------------------------------------------------------------
def test_hypothesis_becomes_the_steady_state(pack) -> None:  # noqa: ANN001
    spec = to_scenario(_experiment(JSON_EXPERIMENT), JSON_EXPERIMENT, pack.spec)
    state = spec.steady_state
    assert state is not None and state.title == "The docs site answers through the edge proxy"
    home, content, health = state.probes
    assert isinstance(home.provider, HttpProvider)
    assert (home.provider.port, home.provider.path, home.provider.timeout) == ("proxy", "/", 3.0)
    assert home.status == 200  # a plain tolerance: the status code
    assert content.body is not None and content.body.pattern == "<title>Acme Docs</title>"
    assert content.body.type == "regex"  # a regex tolerance: on the body
    assert health.provider.path == "/health" and health.json_paths == {"$.status": "ok"}


def test_method_is_the_fault_and_rollbacks_the_fix(pack) -> None:  # noqa: ANN001
    spec = to_scenario(_experiment(JSON_EXPERIMENT), JSON_EXPERIMENT, pack.spec)
    assert len(spec.fault) == 1  # the method's probe is not a fault
    assert spec.fault[0].run.startswith("/bin/sh -c 'printf ")
    assert "{param:maintenance_file}" in spec.fault[0].run  # the pack's parameters apply
    assert [a.run for a in spec.fix] == ["rm -f '{param:maintenance_file}'"]
    assert spec.fault[0].phase == "prepare"  # applied before the programs start


def test_the_extension_names_scenario_skills_texts_and_checks(pack) -> None:  # noqa: ANN001
    spec = to_scenario(_experiment(JSON_EXPERIMENT), JSON_EXPERIMENT, pack.spec)
    assert spec.name == "edge_maintenance_experiment"
    assert spec.skills == ["site-maintenance-stuck"] and spec.expected == "fixed"
    assert spec.texts == ["Docs site still shows the maintenance page after the deploy job "
                          "finished"]
    assert [c.name for c in spec.ground_truth] == ["flag_removed"]
    assert spec.intact == ["etc/proxy.ini"]
    assert spec.description.startswith("A deploy job turns the edge proxy's maintenance")


def test_yaml_experiment_with_declared_port_numbers_and_process_probes(pack) -> None:  # noqa: ANN001
    spec = to_scenario(_experiment(YAML_EXPERIMENT), YAML_EXPERIMENT, pack.spec)
    css, health, origin = spec.steady_state.probes
    assert css.provider.port == "proxy"  # 8080 is the default of the declared port `proxy`
    assert health.provider.port == "proxy"  # localhost is the sandbox's loopback too
    assert isinstance(health.json_paths["$.status"], str)
    assert isinstance(origin.provider, ProcessProvider) and origin.exit_code == 0
    assert origin.provider.command == "grep -q '^ORIGIN_PORT=' etc/origin.env"
    assert spec.fault[0].run == "sed -i 's/^address = .*/address = 127.0.0.1:8999/' etc/proxy.ini"
    assert spec.fix[0].run.startswith('/bin/sh -c "sed')  # string arguments are kept as is
    assert spec.ground_truth[0].key == "upstream.address"


def test_tolerance_kinds(pack) -> None:  # noqa: ANN001
    probes = [
        {"type": "probe", "name": "range", "tolerance": {"type": "range", "range": [200, 299]},
         "provider": {"type": "http", "url": "http://127.0.0.1:8080/"}},
        {"type": "probe", "name": "jsonpath-value",
         "tolerance": {"type": "jsonpath", "path": "$.status", "value": "ok"},
         "provider": {"type": "http", "url": "http://127.0.0.1:8080/health"}},
        {"type": "probe", "name": "stdout", "tolerance": {"type": "regex", "pattern": "ok"},
         "provider": {"type": "process", "path": "cat", "arguments": "etc/clients.conf"}},
    ]
    data = _minimal()
    data["steady-state-hypothesis"]["probes"] = probes
    spec = to_scenario(data, CTK / "inline.json", pack.spec)
    rng, jp, out = spec.steady_state.probes
    assert rng.status.range == (200, 299)
    assert jp.json_paths == {"$.status": "ok"}  # `value` is read as `expect`
    assert out.body.type == "regex" and out.provider.command == "cat etc/clients.conf"
    assert spec.name == "home_page_survives"  # no extension: a slug of the title
    assert spec.texts == ["Home page survives", "Home page survives"]


def test_http_actions_become_curl_commands(pack) -> None:  # noqa: ANN001
    data = _minimal(method=[{"type": "action", "name": "purge", "provider": {
        "type": "http", "url": "http://127.0.0.1:{port:proxy}/purge", "method": "POST",
        "headers": {"X-Token": "t"}, "arguments": "all"}}])
    spec = to_scenario(data, CTK / "inline.json", pack.spec)
    assert spec.fault[0].run == ("curl -sS -f -X POST -H 'X-Token: t' --data all "
                                 "'http://127.0.0.1:{port:proxy}/purge'")


def test_is_experiment() -> None:
    assert is_experiment(_minimal())
    assert not is_experiment({"name": "x", "service": {}})
    assert not is_experiment(["steady-state-hypothesis", "method"])


# ---- errors ---------------------------------------------------------------------------------
def test_an_unsupported_provider_is_an_error_that_names_it(cli,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # no installed packs: another pack's error (one being edited, say) cannot come first
    real = plugins.installed
    monkeypatch.setattr(plugins, "installed",
                        lambda group: {} if group == ENTRY_POINT_GROUP else real(group))
    monkeypatch.setattr(packs, "_cache", {})
    path = CTK / "unsupported_provider.json"
    code, out, err = cli("scenarios", "list", "--scenario-path", str(path))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0] == (f"error: {path}: method: provider type 'python' is not supported "
                        "(only the http and process providers can run in a sandbox)")


@pytest.mark.parametrize(("change", "message"), [
    ({"steady-state-hypothesis": {"probes": [{"type": "probe", "name": "out", "provider": {
        "type": "http", "url": "https://example.com/"}}]}}, "is not on the sandbox's loopback"),
    ({"steady-state-hypothesis": {"probes": [{"type": "probe", "name": "p", "provider": {
        "type": "http", "url": "http://127.0.0.1:1234/"}}]}},
     "port 1234 is not one the pack declares"),
    ({"steady-state-hypothesis": {"probes": []}}, "the steady-state-hypothesis has no probes"),
    ({"rollbacks": []}, "as a scenario, .*a fixable scenario needs a known `fix`"),
    ({"rollbacks": [{"type": "action", "name": "k8s", "provider": {"type": "python"}}]},
     "rollbacks: provider type 'python' is not supported"),
])
def test_conversion_errors(pack, change: dict, message: str) -> None:  # noqa: ANN001
    with pytest.raises(UsageError, match=message):
        to_scenario(_minimal(**change), CTK / "inline.json", pack.spec)


def test_a_stand_alone_experiment_must_name_its_pack(tmp_path: Path) -> None:
    path = tmp_path / "lonely.json"
    with pytest.raises(UsageError, match="must name the service it runs on") as info:
        experiment_pack(_minimal(), path, load_pack)
    assert '"pack_path"' in (info.value.hint or "")


# ---- discovery ------------------------------------------------------------------------------
def test_experiments_on_the_path_are_scenarios_of_their_pack(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    # the pack first: a pack directory met after an experiment on it is skipped as a duplicate
    monkeypatch.setenv(PATH_ENV, f"{EXAMPLE}:{JSON_EXPERIMENT}:{YAML_EXPERIMENT}")
    found = {s.name: s for s in catalogue()}
    for name, path in (("edge_maintenance_experiment", JSON_EXPERIMENT),
                       ("edge_upstream_experiment", YAML_EXPERIMENT)):
        assert found[name].pack == "static-site"
        assert found[name].source == f"chaostoolkit {path}"
    assert found["edge_upstream_experiment"].skill_id == "edge-bad-gateway"
    assert found["broken_release"].source == "path"  # the pack itself, alongside


def test_an_experiment_inside_a_pack_uses_that_pack(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    pack_dir = tmp_path / "site"
    (pack_dir / "scenarios").mkdir(parents=True)
    manifest = yaml.safe_load((EXAMPLE / "pack.yaml").read_text())
    manifest["order"] = []
    (pack_dir / "pack.yaml").write_text(yaml.safe_dump(manifest))
    (pack_dir / "service").symlink_to(EXAMPLE / "service")
    experiment = _experiment(JSON_EXPERIMENT)
    experiment["extensions"][0].pop("pack_path")
    (pack_dir / "scenarios" / "maintenance.json").write_text(json.dumps(experiment))
    monkeypatch.setenv(PATH_ENV, str(pack_dir))
    scenario = next(s for s in catalogue() if s.name == "edge_maintenance_experiment")
    assert scenario.source == "path" and scenario.pack == "static-site"


# ---- end to end: the experiment's incident, repaired by the pack's skill --------------------
@needs_ns
@pytest.mark.e2e
@pytest.mark.parametrize(("experiment", "scenario"), [
    (JSON_EXPERIMENT, "edge_maintenance_experiment"),
    (YAML_EXPERIMENT, "edge_upstream_experiment"),
])
def test_run_simulate_repairs_the_experiments_incident(cli, experiment: Path,  # noqa: ANN001
                                                       scenario: str) -> None:
    code, out, err = cli("run", "--scenario-path", str(experiment), "--scenario", scenario,
                         "--simulate", "--sandbox", "ns", "--disable-trace-log", "--json",
                         "--verify-interval-s", "0.5")
    assert code == 0, err[-2000:]
    summary = json.loads(out)
    assert summary["service_up"] and summary["status"] == "fixed"
    assert summary["skill_id"] == {"edge_maintenance_experiment": "site-maintenance-stuck",
                                   "edge_upstream_experiment": "edge-bad-gateway"}[scenario]
