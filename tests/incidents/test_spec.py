"""The pack format (`incidents/spec.py`), its templates and tolerances: what a pack author may
write, and the error each mistake gets (a typo is an error that names the field)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from sre_agent.errors import UsageError
from sre_agent.incidents.spec import (
    ActionSpec,
    CheckSpec,
    JsonPathTolerance,
    PackSpec,
    ParamSpec,
    ProbeSpec,
    RangeTolerance,
    RegexTolerance,
    ScenarioSpec,
    ServiceSpec,
)
from sre_agent.incidents.templates import Values, names_used
from sre_agent.incidents.tolerance import describe, fits, from_data

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "packs" / "static-site"
PROGRAM = {"name": "web", "command": ["{python}", "-m", "http.server", "{port:web}"]}
STEADY = {"probes": [{"name": "page", "provider": {"type": "http", "port": "web"}}]}


def _service(**extra: object) -> dict[str, object]:
    return {"ports": {"web": {"default": 8080}}, "programs": [PROGRAM], "steady_state": STEADY,
            **extra}


def _scenario(**extra: object) -> dict[str, object]:
    return {"name": "page_gone", "description": "the page is deleted", "texts": ["404"],
            "fault": [{"run": "rm -f www/index.html"}], "fix": [{"run": "true"}], **extra}


# ---- the example pack is the reference ------------------------------------------------------
def test_the_example_pack_parses_with_every_kind_of_field() -> None:
    pack = PackSpec.model_validate(yaml.safe_load((EXAMPLE / "pack.yaml").read_text()))
    assert pack.service.main == "proxy" and pack.service.files == "service"
    origin = pack.service.programs[0]
    assert origin.env_file == "etc/origin.env" and origin.ready.tcp_from is not None
    assert set(pack.params) == {"live_release", "maintenance_file"}
    health = pack.service.steady_state.probes[2]
    assert health.json_paths == {"$.status": "ok", "$.node": "{instance}"}  # written `json:`
    scenarios = {p.stem: ScenarioSpec.model_validate(yaml.safe_load(p.read_text()))
                 for p in (EXAMPLE / "scenarios").glob("*.yaml")}
    release = scenarios["broken_release"]
    assert release.fault[0].phase == "live" and release.intact[0].when == "before_fault"
    assert {c.name: (c.command, c.tcp) != (None, None) for c in release.ground_truth} == {
        "current_is_complete": True, "not_the_aborted_release": True,
        "origin_serves_stylesheet": True}
    assert scenarios["site_false_alarm"].expected == "nothing_to_fix"
    assert scenarios["maintenance_left_on"].ground_truth[0].exists is False


# ---- a typo is an error that names the field ------------------------------------------------
@pytest.mark.parametrize(("model", "data", "field"), [
    (PackSpec, {"name": "p", "service": _service(), "hook": "hooks.py"}, "hook"),
    (ServiceSpec, _service(port={"web": {"default": 1}}), "port"),
    (ScenarioSpec, _scenario(faults=[]), "faults"),
    (ProbeSpec, {"name": "x", "provider": {"type": "http", "port": "web", "url": "/"}}, "url"),
    (CheckSpec, {"name": "x", "file": "a", "exist": True}, "exist"),
])
def test_unknown_fields_are_refused(model: type, data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field}\n.*Extra inputs are not permitted"):
        model.model_validate(data)


@pytest.mark.parametrize(("data", "message"), [
    (_scenario(fix=[]), "a fixable scenario needs a known `fix`"),
    (_scenario(fault=[]), "a fixable scenario needs a `fault`"),
    (_scenario(name="Page-Gone"), "String should match pattern"),
    (_scenario(texts=[]), "at least 1 item"),
    (_scenario(expected="maybe"), "Input should be 'fixed', 'nothing_to_fix' or 'escalate'"),
])
def test_scenario_rules(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScenarioSpec.model_validate(data)


def test_a_scenario_that_expects_no_fix_needs_neither_fault_nor_fix() -> None:
    spec = ScenarioSpec.model_validate(_scenario(expected="nothing_to_fix", fault=[], fix=[]))
    assert spec.skills == [] and spec.difficulty.steps == 1
    stopped = ScenarioSpec.model_validate(_scenario(fault=[], stopped=["web"]))
    assert stopped.stopped == ["web"]  # a stopped program is a fault too


def test_service_rules() -> None:
    with pytest.raises(ValidationError, match="program names repeat"):
        ServiceSpec.model_validate(_service(programs=[PROGRAM, PROGRAM]))
    with pytest.raises(ValidationError, match="main program 'api' is not one of"):
        ServiceSpec.model_validate(_service(main="api"))
    with pytest.raises(ValidationError, match="at least 1 item"):
        ServiceSpec.model_validate(_service(programs=[]))
    waits = {**PROGRAM, "ready": {"tcp": "web", "waiting": "waiting for (db"}}
    with pytest.raises(ValidationError, match="ready.waiting is not a regular expression"):
        ServiceSpec.model_validate(_service(programs=[waits]))
    waits["ready"]["waiting"] = r"waiting for (db|cache)"
    assert ServiceSpec.model_validate(_service(programs=[waits])).programs[0].ready.waiting
    service = ServiceSpec.model_validate(_service(tmpfs=[{"path": "var/cache", "size_mb": 4}],
                                                  hosts_file="etc/hosts"))
    assert service.tmpfs[0].size_mb == 4 and service.prepare == []
    program = service.programs[0]
    assert program.restart and program.ready.after_s == 0.3 and program.liveness is None


@pytest.mark.parametrize(("data", "ok"), [
    ({"choice": [1, 2]}, True), ({"range": [1, 9]}, True), ({"sample": [["a", "b"], 1]}, True),
    ({"value": "x"}, True), ({"port": [8001, 8002]}, True),
    ({}, False), ({"choice": [1], "value": 2}, False),
])
def test_a_parameter_is_exactly_one_kind(data: dict[str, object], ok: bool) -> None:
    if ok:
        ParamSpec.model_validate(data)
    else:
        with pytest.raises(ValidationError, match="exactly one of choice, range, sample"):
            ParamSpec.model_validate(data)


def test_actions_and_checks_are_exactly_one_kind() -> None:
    with pytest.raises(ValidationError, match="exactly one of run, hook"):
        ActionSpec.model_validate({"run": "true", "hook": "f"})
    with pytest.raises(ValidationError, match="exactly one of run, hook"):
        ActionSpec.model_validate({"phase": "live"})
    assert ActionSpec.model_validate({"run": "true"}).phase == "prepare"
    with pytest.raises(ValidationError, match="needs exactly one of file, tcp, command, hook"):
        CheckSpec.model_validate({"name": "x", "file": "a", "command": "true"})
    check = CheckSpec.model_validate({"name": "x", "tcp": "kv", "send": "PING\n",
                                      "expect": {"type": "regex", "pattern": "^PONG"}})
    assert isinstance(check.expect, RegexTolerance)


# ---- templates ------------------------------------------------------------------------------
def test_templates_render_ports_params_and_places() -> None:
    values = Values(ports={"web": 8080}, params={"page": "index.html"}, workdir="/w",
                    pack="/p", python="/usr/bin/python3", instance="abc")
    text = "{python} {pack}/x.py {workdir} 127.0.0.1:{port:web}/{param:page} {instance}"
    assert values.render(text) == "/usr/bin/python3 /p/x.py /w 127.0.0.1:8080/index.html abc"
    # other braces are left alone: shell groups, JSON, format strings, CSS
    for kept in ('{ echo a; }', '{"a": 1}', "%{http_code}", "body { margin: 0 }", "{port}"):
        assert values.render(kept) == kept
    assert values.render_obj({"{param:page}": ["{port:web}", 3]}) == {"index.html": ["8080", 3]}
    with pytest.raises(UsageError, match="here: unknown port 'db' in '{port:db}'") as info:
        values.render("{port:db}", "here")
    assert info.value.hint == "declared ports: web"
    assert names_used("{port:web} {param:a} {workdir}") == {("port", "web"), ("param", "a")}


# ---- tolerances (Chaos Toolkit's vocabulary) ------------------------------------------------
def test_tolerances() -> None:
    assert fits(200, 200) and fits("200", 200) and not fits(503, 200)
    assert fits(404, [200, 404]) and not fits(500, [200, 404])
    assert fits(250, RangeTolerance(type="range", range=(200, 299)))
    assert fits("a\nready: yes", RegexTolerance(type="regex", pattern="^ready: yes$"))
    doc = '{"status": "ok", "items": [1, 2]}'
    assert fits(doc, JsonPathTolerance(type="jsonpath", path="$.status", expect="ok"))
    assert fits(doc, JsonPathTolerance(type="jsonpath", path="$.items"))
    assert not fits(doc, JsonPathTolerance(type="jsonpath", path="$.missing"))
    assert not fits("not json", JsonPathTolerance(type="jsonpath", path="$.status"))
    assert fits(True, True) and not fits("true", True)
    assert isinstance(from_data({"type": "range", "range": [1, 2]}), RangeTolerance)
    assert from_data({"type": "other"}) == {"type": "other"}
    assert describe(RegexTolerance(type="regex", pattern="x")) == "matching /x/"
    with pytest.raises(UsageError, match="invalid jsonpath"):
        fits(doc, JsonPathTolerance(type="jsonpath", path="$[?"))
