"""Scenario packs: found, loaded, checked, assembled into one catalogue.

A pack is a directory with `pack.yaml` (the service), `scenarios/*.yaml` (its incidents),
optionally `skills/<id>/SKILL.md` and a hooks module. Packs are found, in this order:

1. installed plugins: entry points in the `sre_agent.scenarios` group (the built-in packs are
   declared there, exactly as a third-party distribution declares its own); an entry point
   names a callable that returns a pack directory or a directory of packs;
2. `SRE_AGENT_SCENARIO_PATH` (`os.pathsep`-separated), which `--scenario-path DIR` extends:
   each entry is a pack directory, a directory of packs, or a Chaos Toolkit experiment file.

A scenario name must be unique across packs: a clash is an error that names both packs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import ValidationError

from sre_agent import paths, plugins
from sre_agent.errors import UsageError
from sre_agent.incidents import chaostoolkit
from sre_agent.incidents.spec import PackSpec, ScenarioSpec
from sre_agent.incidents.templates import names_used

ENTRY_POINT_GROUP = "sre_agent.scenarios"
PATH_ENV = "SRE_AGENT_SCENARIO_PATH"
MANIFEST = "pack.yaml"


@dataclass
class Pack:
    spec: PackSpec
    root: Path
    source: str  # "plugin <name>", "path", or "chaostoolkit <file>"
    scenarios: dict[str, ScenarioSpec] = field(default_factory=dict)
    _hooks: ModuleType | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def skills_dir(self) -> Path | None:
        found = self.root / "skills"
        return found if found.is_dir() else None

    def hook(self, name: str) -> Callable[..., Any]:
        """A function of the pack's hooks module (loaded from the pack's file, once)."""
        if self.spec.hooks is None:
            raise UsageError(f"pack {self.name}: hook {name!r} used but the pack declares no "
                             "`hooks:` module")
        if self._hooks is None:
            path = self.root / self.spec.hooks
            module_spec = importlib.util.spec_from_file_location(
                f"sre_agent_pack_hooks.{self.name}", path)
            if module_spec is None or module_spec.loader is None:
                raise UsageError(f"pack {self.name}: cannot load hooks module {path}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            self._hooks = module
        function = getattr(self._hooks, name, None)
        if not callable(function):
            raise UsageError(f"pack {self.name}: no hook function {name!r} in {self.spec.hooks}")
        return function


@dataclass
class Catalogue:
    packs: list[Pack]
    by_scenario: dict[str, Pack]
    problems: list[str] = field(default_factory=list)  # installed packs skipped, and why

    def find(self, name: str) -> tuple[Pack, ScenarioSpec]:
        pack = self.by_scenario.get(name)
        if pack is None:
            broken = f"; skipped broken packs: {' | '.join(self.problems)}" \
                if self.problems else ""
            raise UsageError(f"unknown scenario {name!r}",
                             f"choose one of: {', '.join(self.by_scenario)}; packs found on "
                             f"--scenario-path / {PATH_ENV} add more{broken}")
        return pack, pack.scenarios[name]


def _read_yaml(path: Path) -> Any:
    try:
        # yaml.safe_load semantics; the C SafeLoader when libyaml is there (as skills.contract)
        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise UsageError(f"cannot read {path}: {detail}") from None


def _validated(model: Any, data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise UsageError(f"{path}: {where}: {first['msg']}",
                         "see docs/scenario-packs.md for the format") from None


def _check_references(pack: Pack, scenario: ScenarioSpec, where: Path) -> None:
    """Templates name declared ports and parameters; stopped programs exist."""
    ports = set(pack.spec.service.ports)
    params = set(scenario.params) | set(pack.spec.params)
    texts = [a.run or "" for a in [*pack.spec.service.prepare, *scenario.fault, *scenario.fix]]
    # every field of the checks and of the probes (paths, headers, bodies, tolerances)
    texts += [json.dumps(c.model_dump(mode="json")) for c in scenario.ground_truth]
    state = scenario.steady_state or pack.spec.service.steady_state
    texts += [json.dumps(p.model_dump(mode="json")) for p in state.probes]
    texts += [i if isinstance(i, str) else i.path for i in scenario.intact]
    texts += scenario.texts
    for text in texts:
        for kind, name in names_used(text):
            known = ports if kind == "port" else params
            if name not in known:
                raise UsageError(f"{where}: unknown {kind} {name!r} in {text!r}",
                                 f"declared {kind}s: {', '.join(sorted(known)) or 'none'}")
    programs = {p.name for p in pack.spec.service.programs}
    for name in scenario.stopped:
        if name not in programs:
            raise UsageError(f"{where}: stopped program {name!r} is not one of the pack's "
                             f"programs ({', '.join(sorted(programs))})")
    for check in scenario.ground_truth:
        if check.tcp is not None and check.tcp not in ports:
            raise UsageError(f"{where}: check {check.name!r}: unknown port {check.tcp!r}")


def load_pack(root: Path, source: str) -> Pack:
    """Read and check one pack directory (its manifest and every scenario file)."""
    manifest = root / MANIFEST
    spec = _validated(PackSpec, _read_yaml(manifest), manifest)
    for probe in spec.service.steady_state.probes:
        port = getattr(probe.provider, "port", None)
        if port is not None and port not in spec.service.ports:
            raise UsageError(f"{manifest}: probe {probe.name!r}: unknown port {port!r}",
                             f"declared ports: {', '.join(spec.service.ports) or 'none'}")
    pack = Pack(spec=spec, root=root.resolve(), source=source)
    folder = root / "scenarios"
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.json")]) \
        if folder.is_dir() else []
    for path in files:
        data = _read_yaml(path)
        if chaostoolkit.is_experiment(data):
            scenario = chaostoolkit.to_scenario(data, path, spec)
        else:
            scenario = _validated(ScenarioSpec, data, path)
        if scenario.name in pack.scenarios:
            raise UsageError(f"{path}: scenario {scenario.name!r} is declared twice in pack "
                             f"{spec.name}")
        _check_references(pack, scenario, path)
        pack.scenarios[scenario.name] = scenario
    unknown = [name for name in spec.order if name not in pack.scenarios]
    if unknown:
        raise UsageError(f"{manifest}: order names unknown scenarios: {', '.join(unknown)}")
    ranked = {name: i for i, name in enumerate(spec.order)}
    pack.scenarios = dict(sorted(pack.scenarios.items(),
                                 key=lambda item: (ranked.get(item[0], len(ranked)), item[0])))
    return pack


def _packs_at(path: Path, source: str, problems: list[str] | None = None) -> list[Pack]:
    """The packs at `path`. With `problems` (installed packs), a broken pack among several is
    skipped and its error recorded there; packs the user named are checked strictly."""
    if path.is_file():
        data = _read_yaml(path)
        if not chaostoolkit.is_experiment(data):
            raise UsageError(f"{path} is neither a pack directory nor a Chaos Toolkit "
                             "experiment", "a pack directory holds pack.yaml")
        return [chaostoolkit.experiment_pack(data, path, load_pack)]
    if (path / MANIFEST).is_file():
        return [load_pack(path, source)]
    if path.is_dir():
        found = []
        for sub in sorted(path.iterdir()):
            if not (sub / MANIFEST).is_file():
                continue
            try:
                found.append(load_pack(sub, source))
            except UsageError as exc:
                if problems is None:
                    raise
                problems.append(f"{sub.name}: {exc.one_line()}")
        if found or problems:
            return found
    raise UsageError(f"no scenario pack at {path}",
                     f"a pack directory holds {MANIFEST} (or give a directory of packs)")


def search_paths() -> list[Path]:
    """The directories and files given by `SRE_AGENT_SCENARIO_PATH`, in order."""
    raw = os.environ.get(PATH_ENV, "")
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def builtin_packs() -> Path:
    """The entry point of the built-in packs: the `packs/` directory of this project."""
    return paths.packs_dir()


_cache: dict[tuple[str, ...], Catalogue] = {}
_lock = threading.Lock()
_building = threading.Lock()  # one build at a time: a fan-out's first incidents all ask at once


def catalogue_of_packs() -> Catalogue:
    """Every pack found now (cached for the same search path), checked, names unique."""
    key = (os.environ.get(PATH_ENV, ""), str(paths.project_root()))
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    with _building:
        with _lock:
            cached = _cache.get(key)
        return cached if cached is not None else _build_catalogue(key)


def _build_catalogue(key: tuple[str, ...]) -> Catalogue:
    packs: list[Pack] = []
    problems: list[str] = []
    for name in plugins.installed(ENTRY_POINT_GROUP):
        located = plugins.load(ENTRY_POINT_GROUP, name, kind="scenario pack")
        root = Path(located() if callable(located) else located.__file__).resolve()
        root = root if root.is_dir() or not root.exists() else root.parent
        if root.exists():  # an installed plugin without packs here (e.g. no checkout) adds none
            packs += _packs_at(root, f"plugin {name}", problems)
    for path in search_paths():
        packs += _packs_at(path, "path")
    by_scenario: dict[str, Pack] = {}
    seen: set[Path] = set()
    unique = []
    for pack in packs:
        if pack.source.startswith("chaostoolkit"):
            pass  # an experiment borrows its pack's root: it never hides the pack itself
        elif pack.root in seen:
            continue  # the same directory reached twice (plugin and path)
        else:
            seen.add(pack.root)
        unique.append(pack)
        for name in pack.scenarios:
            other = by_scenario.get(name)
            if other is not None:
                raise UsageError(f"scenario {name!r} is declared by two packs: {other.name} "
                                 f"({other.root}) and {pack.name} ({pack.root})",
                                 "rename one of them")
            by_scenario[name] = pack
    result = Catalogue(packs=unique, by_scenario=by_scenario, problems=problems)
    with _lock:
        _cache[key] = result
    return result
