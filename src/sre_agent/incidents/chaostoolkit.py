"""A Chaos Toolkit experiment as a scenario.

The experiment's `steady-state-hypothesis` becomes the healthy definition, its `method` the
fault, its `rollbacks` the known fix. The `http` and `process` providers are supported; any
other provider (python, kubernetes, ...) is an error that names it. The service the experiment
runs against is a pack: an experiment inside a pack's `scenarios/` uses that pack; a stand-alone
experiment file names it in an extension:

    "extensions": [{"name": "sre-agent", "pack_path": "../packs/static-site",
                    "scenario": "site_down", "skills": ["site-down"],
                    "texts": ["static site returns 404 on /"]}]

(`pack_path` is relative to the experiment file; `pack` names a built-in pack instead.)
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sre_agent import paths
from sre_agent.errors import UsageError
from sre_agent.incidents.spec import PackSpec, ScenarioSpec

EXTENSION = "sre-agent"
_URL = re.compile(r"^https?://(?:127\.0\.0\.1|localhost)(?::(?P<port>\{port:[\w-]+\}|\d+))?"
                  r"(?P<path>/[^\s]*)?$")


def is_experiment(data: Any) -> bool:
    return isinstance(data, dict) and "steady-state-hypothesis" in data and "method" in data


def _extension(data: dict[str, Any]) -> dict[str, Any]:
    for ext in data.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == EXTENSION:
            return ext
    return {}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "experiment"


def _port(url: str, pack: PackSpec, where: str) -> tuple[str, str]:
    match = _URL.match(url.strip())
    if not match:
        raise UsageError(f"{where}: url {url!r} is not on the sandbox's loopback",
                         "use http://127.0.0.1:{port:NAME}/path (the sandbox's own network)")
    port, path = match.group("port"), match.group("path") or "/"
    if port and port.startswith("{port:"):
        return port[6:-1], path
    wanted = int(port) if port else 80
    for name, spec in pack.service.ports.items():
        if spec.default == wanted:
            return name, path
    declared = ", ".join(f"{n}={p.default}" for n, p in pack.service.ports.items())
    raise UsageError(f"{where}: port {wanted} is not one the pack declares",
                     f"declared: {declared}")


def _command(provider: dict[str, Any], where: str) -> str:
    args = provider.get("arguments", "")
    if isinstance(args, list):
        args = " ".join(shlex.quote(str(a)) for a in args)
    return f"{provider.get('path', '')} {args}".strip()


def _provider(activity: dict[str, Any], where: str) -> dict[str, Any]:
    provider = activity.get("provider") or {}
    kind = provider.get("type")
    if kind not in ("http", "process"):
        raise UsageError(f"{where}: provider type {kind!r} is not supported",
                         "only the http and process providers can run in a sandbox")
    return provider


def _probe(activity: dict[str, Any], pack: PackSpec, where: str) -> dict[str, Any]:
    provider = _provider(activity, where)
    probe: dict[str, Any] = {"name": activity.get("name") or "probe"}
    tolerance = activity.get("tolerance")
    if provider["type"] == "http":
        port, path = _port(str(provider.get("url", "")), pack, where)
        probe["provider"] = {"type": "http", "port": port, "path": path,
                             "method": provider.get("method", "GET"),
                             "headers": provider.get("headers") or {},
                             "timeout": float(provider.get("timeout", 2.0))}
        if isinstance(provider.get("arguments"), str):
            probe["provider"]["body"] = provider["arguments"]
        if isinstance(tolerance, dict) and tolerance.get("type") == "jsonpath":
            probe["json"] = {tolerance["path"]: tolerance.get("expect", tolerance.get("value"))}
        elif isinstance(tolerance, dict) and tolerance.get("type") == "regex":
            probe["body"] = {"type": "regex", "pattern": tolerance["pattern"]}
        elif isinstance(tolerance, dict) and tolerance.get("type") == "range":
            probe["status"] = {"type": "range", "range": tolerance["range"]}
        elif tolerance is not None:
            probe["status"] = tolerance
    else:
        probe["provider"] = {"type": "process", "command": _command(provider, where),
                             "timeout": float(provider.get("timeout", 10.0))}
        if isinstance(tolerance, dict) and tolerance.get("type") == "regex":
            probe["body"] = {"type": "regex", "pattern": tolerance["pattern"]}  # stdout
        elif tolerance is not None:
            probe["exit_code"] = tolerance
    return probe


def _action(activity: dict[str, Any], where: str) -> dict[str, Any]:
    provider = _provider(activity, where)
    if provider["type"] == "process":
        return {"run": _command(provider, where), "timeout": float(provider.get("timeout", 30))}
    url = str(provider.get("url", ""))
    parts = ["curl", "-sS", "-f", "-X", str(provider.get("method", "GET"))]
    for key, value in (provider.get("headers") or {}).items():
        parts += ["-H", f"{key}: {value}"]
    if isinstance(provider.get("arguments"), str):
        parts += ["--data", provider["arguments"]]
    return {"run": " ".join(shlex.quote(p) for p in [*parts, url])}


def to_scenario(data: dict[str, Any], path: Path, pack: PackSpec) -> ScenarioSpec:
    """The scenario an experiment describes, on `pack`'s service."""
    ext = _extension(data)
    where = str(path)
    hypothesis = data.get("steady-state-hypothesis") or {}
    probes = [_probe(p, pack, f"{where}: steady-state-hypothesis")
              for p in hypothesis.get("probes") or []]
    if not probes:
        raise UsageError(f"{where}: the steady-state-hypothesis has no probes")
    fault = [_action(a, f"{where}: method") for a in data.get("method") or []
             if a.get("type", "action") == "action"]
    fix = [_action(a, f"{where}: rollbacks") for a in data.get("rollbacks") or []]
    title = str(data.get("title") or path.stem)
    texts = list(ext.get("texts") or []) or [title, str(data.get("description") or title)]
    raw = {
        "name": ext.get("scenario") or _slug(title),
        "description": str(data.get("description") or title),
        "skills": ext.get("skills") or [], "expected": ext.get("expected", "fixed"),
        "texts": texts, "fault": fault, "fix": fix,
        "intact": ext.get("intact") or [], "ground_truth": ext.get("ground_truth") or [],
        "steady_state": {"title": hypothesis.get("title") or title, "probes": probes,
                         "settle_s": float(ext.get("settle_s", 0))},
    }
    try:
        return ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{where}: as a scenario, {at}: {first['msg']}") from None


def experiment_pack(data: dict[str, Any], path: Path,
                    load_pack: Callable[[Path, str], Any]) -> Any:
    """A stand-alone experiment: the pack its extension names, holding just this scenario."""
    ext = _extension(data)
    if ext.get("pack_path"):
        root = (path.parent / str(ext["pack_path"])).resolve()
    elif ext.get("pack"):
        root = paths.project_root() / "packs" / str(ext["pack"])
    else:
        raise UsageError(f"{path}: a stand-alone experiment must name the service it runs on",
                         f'add "extensions": [{{"name": "{EXTENSION}", "pack_path": "DIR"}}]')
    base = load_pack(root, f"chaostoolkit {path}")
    scenario = to_scenario(data, path, base.spec)
    base.scenarios = {scenario.name: scenario}
    base.source = f"chaostoolkit {path}"
    return base
