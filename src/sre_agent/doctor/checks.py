"""Preflight: what this machine can do for sre-agent, and what is missing (never secrets)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Literal

from pydantic import BaseModel

from sre_agent import settings
from sre_agent.errors import SreAgentError, UsageError
from sre_agent.incidents import catalogue_of_packs
from sre_agent.sandbox import backend_names, check_backend, select_backend
from sre_agent.sandbox.common import describe_runtime
from sre_agent.skills import load_catalog

Status = Literal["ok", "warn", "fail", "info"]


class Check(BaseModel):
    name: str
    status: Status
    detail: str


class DoctorReport(BaseModel):
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check(name="python", status="ok", detail=f"Python {version} ({sys.executable})")


def _uv() -> Check:
    uv = shutil.which("uv")
    if not uv:
        return Check(name="uv", status="warn", detail="uv not found: pip install uv")
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=10)
        return Check(name="uv", status="ok", detail=out.stdout.strip() or uv)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name="uv", status="warn", detail=f"uv did not answer: {exc}")


def _skills() -> list[Check]:

    catalog = load_catalog()
    checks = [Check(
        name="skills", status="ok" if catalog.skills else "fail",
        detail=f"{len(catalog.skills)} valid: {', '.join(s.id for s in catalog.skills)}"
        if catalog.skills else "no valid skill found")]
    for problem in catalog.problems:
        checks.append(Check(name="skill problem", status="warn",
                            detail=f"{problem.path}: {problem.reason} (not used)"))
    return checks


def _sandboxes() -> list[Check]:
    ok, where = describe_runtime()
    checks = [Check(name="runtime dir", status="ok" if ok else "fail", detail=where)]
    usable = False
    for name in backend_names():
        ok, why = check_backend(name)
        usable = usable or ok
        status: Status = "ok" if ok else ("info" if name == "docker" else "warn")
        if name == "local" and ok:
            status = "warn"
            why = "usable, but isolates nothing (commands run on the host)"
        elif name == "ns" and ok:
            why = f"usable, {why}"  # the mode (root or rootless), and which limits apply
        checks.append(Check(name=f"sandbox {name}", status=status, detail=why))
    if not usable:
        checks.append(Check(name="sandbox", status="fail", detail="no usable sandbox backend"))
        return checks
    try:
        choice = select_backend("auto")
    except SreAgentError as exc:
        return [*checks, Check(name="sandbox auto", status="fail", detail=exc.one_line())]
    checks.append(Check(name="sandbox auto", status="warn" if choice.name == "local" else "ok",
                        detail=f"runs use {choice.name}: {choice.reason}"))
    return checks


def _llm() -> Check:
    keys = settings.configured(settings.LLM_KEY_VARS)
    model = os.environ.get("SRE_AGENT_MODEL") or os.environ.get("LLM_MODEL")
    if keys:
        detail = f"keys set: {', '.join(keys)}" + (f"; model {model}" if model else "")
        return Check(name="llm", status="ok", detail=detail)
    return Check(name="llm", status="info",
                 detail="no LLM key configured: runs use the offline runbook policy "
                        "(model: runbook); set OPENAI_API_KEY (env or .env) for a real model")


def _observability() -> Check:
    found = settings.configured(settings.OBSERVABILITY_VARS)
    if found:
        return Check(name="observability", status="ok", detail=f"tracing to: {', '.join(found)}")
    return Check(name="observability", status="info",
                 detail="off (set LMNR_PROJECT_API_KEY or OTEL_EXPORTER_OTLP_ENDPOINT)")


def _tools() -> Check:
    wanted = ("curl", "unshare", "nsenter", "setpriv")
    missing = [t for t in wanted if not shutil.which(t)]
    if missing:
        return Check(name="tools", status="warn", detail=f"missing: {', '.join(missing)}")
    return Check(name="tools", status="ok", detail=f"{', '.join(wanted)} present")


# What the shipped packs run inside their sandboxes (Debian package names in brackets).
SERVERS = {"nginx": "nginx-light", "redis-server": "redis-server", "sqlite3": "sqlite3",
           "openssl": "openssl"}


def _server(name: str) -> str | None:
    """The packs name servers by absolute path (/usr/sbin/nginx): an ordinary user's PATH
    often lacks the sbin directories, which must not make an installed server look missing."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


def _servers() -> Check:
    missing = [name for name in SERVERS if not _server(name)]
    if missing:
        install = " ".join(SERVERS[name] for name in missing)
        return Check(name="pack servers", status="warn",
                     detail=f"missing {', '.join(missing)}: packs that run them (webstack) "
                            f"cannot start (apt-get install -y {install})")
    return Check(name="pack servers", status="ok",
                 detail=", ".join(f"{name} ({_server(name)})" for name in SERVERS))


def _packs() -> list[Check]:
    try:
        found = catalogue_of_packs()
    except UsageError as exc:
        return [Check(name="scenario packs", status="fail", detail=exc.one_line())]
    return [Check(name=f"pack {pack.name}", status="ok",
                  detail=f"{len(pack.scenarios)} scenarios ({pack.source}: {pack.root})")
            for pack in found.packs]


def run_doctor() -> DoctorReport:
    dotenv = settings.dotenv_paths()
    checks = [_python(), _uv(), *_skills(), *_packs(), *_sandboxes(), _tools(), _servers(),
              _llm(), _observability(),
              Check(name=".env", status="info",
                    detail=", ".join(map(str, dotenv)) if dotenv else "none found")]
    return DoctorReport(checks=checks)
