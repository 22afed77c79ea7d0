"""The scenario catalogue over every pack: plan an incident, lay out its workdir, judge it.

`plan_incident` decides everything a seed varies (ports, parameters, the incident text)
without touching the disk; `materialize` lays the pack's service files into the workdir;
the sandbox then starts the programs, applies the fault (`fault_actions`) and fingerprints
what must stay intact; `ground_truth` judges from outside whether the root cause is gone.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

from sre_agent.errors import UsageError
from sre_agent.incidents import truth
from sre_agent.incidents.model import GroundTruth, Incident, Scenario
from sre_agent.incidents.packs import Pack, catalogue_of_packs
from sre_agent.incidents.spec import ActionSpec, HttpProvider, ScenarioSpec, SteadyState
from sre_agent.incidents.templates import Values
from sre_agent.workspace import fileops

HostPorts = Callable[[int], tuple[int, ...]]


def _entry(pack: Pack, spec: ScenarioSpec) -> Scenario:
    return Scenario(
        name=spec.name, pack=pack.name, source=pack.source,
        skill_id=spec.skills[0] if spec.skills else None, skill_ids=list(spec.skills),
        fault=spec.description, expected_outcome=spec.expected,
        remediable=spec.expected == "fixed", difficulty=spec.difficulty.model_dump())


def catalogue() -> list[Scenario]:
    """Every scenario of every pack found, in pack order."""
    found = catalogue_of_packs()
    return [_entry(pack, spec) for pack in found.packs for spec in pack.scenarios.values()]


def get_scenario(name: str) -> Scenario:
    pack, spec = catalogue_of_packs().find(name)
    return _entry(pack, spec)


def scenario_spec(name: str) -> tuple[Pack, ScenarioSpec]:
    return catalogue_of_packs().find(name)


def pack_of(incident: Incident) -> tuple[Pack, ScenarioSpec]:
    return scenario_spec(incident.scenario)


def steady_state(pack: Pack, spec: ScenarioSpec) -> SteadyState:
    return spec.steady_state or pack.spec.service.steady_state


def _draw(pack: Pack, spec: ScenarioSpec, seed: int,
          host_ports: HostPorts | None) -> tuple[dict[str, int], dict[str, str]]:
    rng = random.Random(f"{pack.name}:{spec.name}:{seed}")
    declared = pack.spec.service.ports
    drawn = {**pack.spec.params, **spec.params}  # the pack's for every scenario, then its own
    wanted_free = sum(1 for p in drawn.values() if p.port is not None)
    free = list(host_ports(len(declared) + wanted_free)) if host_ports else []
    ports: dict[str, int] = {}
    for name, port in declared.items():
        if free:
            ports[name] = free.pop(0)
            continue
        options = [p for p in port.choices if p not in ports.values()] or [port.default]
        ports[name] = rng.choice(options) if port.choices else port.default
    params: dict[str, str] = {}
    for name, param in drawn.items():
        values = Values(ports=ports, params=params)
        if param.choice is not None:
            value = str(rng.choice(param.choice))
        elif param.range is not None:
            value = str(rng.randint(*param.range))
        elif param.sample is not None:
            items, count = param.sample
            value = " ".join(str(item) for item in rng.sample(items, count))
        elif param.port is not None:
            if free:
                value = str(free.pop(0))
            else:
                taken = set(ports.values())
                value = str(rng.choice([p for p in param.port if p not in taken]))
        else:
            value = str(param.value)
        params[name] = values.render(value, f"{spec.name}: param {name}")
    return ports, params


def plan_incident(name: str, seed: int, *, host_ports: HostPorts | None = None) -> Incident:
    """Decide everything the seed varies, without touching the disk.

    `host_ports(n)` gives n ports free on the host, for backends that share its network;
    without it ports are drawn from each declared port's choices (own network namespace).
    """
    pack, spec = scenario_spec(name)
    ports, params = _draw(pack, spec, seed, host_ports)
    values = Values(ports=ports, params=params)
    text = values.render(spec.texts[seed % len(spec.texts)], f"{name}: text")
    first = next((p.provider for p in steady_state(pack, spec).probes
                  if isinstance(p.provider, HttpProvider)), None)
    service_port = ports[first.port] if first else next(iter(ports.values()), 0)
    return Incident(
        scenario=name, pack=pack.name, pack_root=str(pack.root), seed=seed,
        skill_id=spec.skills[0] if spec.skills else None, skill_ids=list(spec.skills),
        expected_outcome=spec.expected, text=text, ports=ports, service_port=service_port,
        stopped_programs=list(spec.stopped), params=params)


def values_for(incident: Incident, *, workdir: Path, python: str, instance: str) -> Values:
    return Values(ports=incident.ports, params=incident.params, workdir=str(workdir),
                  pack=incident.pack_root, python=python, instance=instance)


def materialize(incident: Incident, workdir: Path, values: Values) -> None:
    """Lay the pack's service files into `workdir` (templates rendered), plus `bin/svc`."""
    pack, _spec = pack_of(incident)
    service = pack.spec.service
    workdir.mkdir(parents=True, exist_ok=True)
    if service.files:
        source = pack.root / service.files
        if not source.is_dir():
            raise UsageError(f"pack {pack.name}: service files directory {source} is missing")
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            target = workdir / rel
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if any(fnmatch(str(rel), glob) for glob in service.binary_files):
                shutil.copyfile(path, target)
            else:
                target.write_text(values.render(path.read_text(), f"{pack.name}: {rel}"))
            target.chmod(path.stat().st_mode & 0o777)
    for sub in ("run", "var/log", "bin"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)


def prepare_actions(incident: Incident) -> list[ActionSpec]:
    """The pack's own preparation, then the scenario's prepare-phase fault actions."""
    pack, spec = pack_of(incident)
    return [*pack.spec.service.prepare, *(a for a in spec.fault if a.phase == "prepare")]


def live_fault_actions(incident: Incident) -> list[ActionSpec]:
    return [a for a in pack_of(incident)[1].fault if a.phase == "live"]


def fix_actions(incident: Incident) -> list[ActionSpec]:
    return list(pack_of(incident)[1].fix)


def fingerprint(incident: Incident, ctx: truth.CheckContext, when: str) -> None:
    """Record what the files that must stay intact hold now (`when`: before_fault or
    after_fault, as each intact entry asks)."""
    _pack, spec = pack_of(incident)
    for item in spec.intact:
        item_when = "after_fault" if isinstance(item, str) else item.when
        if item_when == when:
            path = truth.intact_path(item, ctx.values)
            try:
                incident.fingerprints[path] = ctx.sha(path)
            except fileops.Refused as exc:  # e.g. over the size cap: the intact check is red
                incident.fingerprints[path] = f"unreadable: {exc}"  # with this reason, later


def ground_truth(incident: Incident, ctx: truth.CheckContext) -> GroundTruth:
    """Whether the root cause is really gone, judged from outside the sandbox."""
    pack, spec = pack_of(incident)
    try:
        return truth.judge(spec.ground_truth, spec.intact, ctx, pack.hook)
    except UsageError as exc:
        return GroundTruth(False, f"ground truth could not be checked: {exc.one_line()}",
                           {"checkable": False})
