"""The scenario-pack format: what `pack.yaml` and `scenarios/*.yaml` may say.

The reference is docs/scenario-packs.md.

Every model forbids unknown fields, so a typo is an error that names the field. Strings may
hold `{...}` templates (see `templates.py`): `{port:NAME}`, `{param:NAME}`, `{workdir}`,
`{pack}`, `{python}`, `{instance}`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Outcome = Literal["fixed", "nothing_to_fix", "escalate"]
NAME = r"^[a-z0-9][a-z0-9_]*$"
PROGRAM = r"^[a-z0-9][a-z0-9_-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- tolerances (Chaos Toolkit's vocabulary) ------------------------------------------------

class RangeTolerance(_Spec):
    type: Literal["range"]
    range: tuple[float, float]


class RegexTolerance(_Spec):
    type: Literal["regex"]
    pattern: str


class JsonPathTolerance(_Spec):
    type: Literal["jsonpath"]
    path: str
    expect: Any = None  # omitted: the path must match something


Tolerance = (RangeTolerance | RegexTolerance | JsonPathTolerance | list[Any] | str | int | float
             | bool)
"""A plain value (equal), a list (one of), or a typed tolerance: range, regex, jsonpath."""


# ---- the service ----------------------------------------------------------------------------

class ReadySpec(_Spec):
    """How the supervisor tells a started program is up (RUNNING)."""

    tcp: str | None = None  # a named port accepting connections
    tcp_from: TcpFromFile | None = None  # the port a (possibly broken) config names
    after_s: float = 0.3  # alive this long (and accepting, when a port is given)
    timeout_s: float = 5.0  # a slow start still counts after this (status never hangs)
    # A regex of the program's log: once a line written since its start matches, it says it
    # waits for something outside itself (a dependency that does not answer). It stays
    # STARTING, but a bounded start (`start all MAX_WAIT_S`: the triage command) stops
    # waiting for it: it will not move until something else changes.
    waiting: str | None = Field(None, max_length=200)

    @field_validator("waiting")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"ready.waiting is not a regular expression: {exc}") from None
        return value


class TcpFromFile(_Spec):
    file: str  # relative to the workdir
    regex: str  # one group: the port


class LivenessSpec(_Spec):
    """A probe the supervisor runs on a RUNNING program; `failures` misses in a row restart it
    (a health check shorter than start-up makes a restart loop)."""

    port: str  # a named port
    path: str | None = None  # HTTP GET (2xx/3xx is alive); without it a TCP connect
    initial_delay_s: float = 2.0
    period_s: float = 1.0
    failures: int = Field(3, ge=1)
    timeout_s: float = 1.0


class ProgramSpec(_Spec):
    """A program the sandbox's supervisor runs. Its env file can tune its supervision with
    SUPERVISOR_NOFILE, SUPERVISOR_MEMORY_MB, SUPERVISOR_READY_TIMEOUT_S and
    SUPERVISOR_LIVENESS_{DELAY_S,PERIOD_S,FAILURES} (where faults and fixes of limits live)."""

    name: str = Field(pattern=PROGRAM)
    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    env_file: str | None = None  # KEY=VALUE lines re-read at every (re)start (workdir-relative)
    log: str | None = None  # workdir-relative; default var/log/<name>.log
    ready: ReadySpec = Field(default_factory=ReadySpec)
    restart: bool = True  # restarted when it exits; 3 quick exits = FATAL (crash loop)
    nofile: int | None = Field(None, ge=3)  # soft open-files limit (never above the hard one)
    memory_mb: int | None = Field(None, ge=16)  # address-space limit
    liveness: LivenessSpec | None = None


class PortSpec(_Spec):
    default: int = Field(ge=1, le=65535)
    choices: list[int] = Field(default_factory=list)  # the seed picks one (own network ns)


class HttpProvider(_Spec):
    type: Literal["http"]
    port: str  # a named port
    path: str = "/"
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    timeout: float = 2.0
    tls: bool = False


class ProcessProvider(_Spec):
    type: Literal["process"]
    command: str  # run inside the sandbox (a clean environment, the workdir as cwd)
    timeout: float = 10.0


class ProbeSpec(_Spec):
    """One steady-state probe and what counts as healthy for it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    provider: HttpProvider | ProcessProvider = Field(discriminator="type")
    status: Tolerance | None = None  # http: the status code (default 200)
    json_paths: dict[str, Tolerance] = Field(default_factory=dict, alias="json")
    """jsonpath -> tolerance, written `json:` in the file."""
    body: Tolerance | None = None  # http body / process stdout
    exit_code: Tolerance | None = None  # process (default 0)
    latency_ms: float | None = None  # at most


class SteadyState(_Spec):
    title: str = "the service is healthy"
    probes: list[ProbeSpec] = Field(min_length=1)
    settle_s: float = Field(0.0, ge=0)  # healthy sustained at least this long
    own_listener: list[str] = Field(default_factory=list)
    """Named ports whose listener must be a process the sandbox's supervisor started (an
    impostor on the port is red); defaults to every port an http probe uses."""


class TmpfsSpec(_Spec):
    path: str  # workdir-relative mount point (created if missing)
    size_mb: int = Field(ge=1, le=1024)


class ServiceSpec(_Spec):
    ports: dict[str, PortSpec] = Field(default_factory=dict)
    hosts_file: str | None = None  # a workdir file bound over the sandbox's /etc/hosts
    tmpfs: list[TmpfsSpec] = Field(default_factory=list)  # small private file systems
    files: str | None = "service"  # directory of the pack copied (templated) into the workdir
    binary_files: list[str] = Field(default_factory=list)  # globs copied verbatim
    programs: list[ProgramSpec] = Field(min_length=1)
    steady_state: SteadyState
    main: str | None = None  # the program `svc restart` / `svc logs` act on by default
    prepare: list[ActionSpec] = Field(default_factory=list)  # every scenario, before its fault

    @model_validator(mode="after")
    def _names(self) -> ServiceSpec:
        names = [p.name for p in self.programs]
        if len(set(names)) != len(names):
            raise ValueError(f"program names repeat: {names}")
        if self.main is not None and self.main not in names:
            raise ValueError(f"main program {self.main!r} is not one of {names}")
        return self


# ---- scenarios ------------------------------------------------------------------------------

class ParamSpec(_Spec):
    """A value the seed draws: one of `choice`, an int in `range`, `sample` distinct items
    (joined by spaces), a fixed `value`, or a `port` no declared port uses (free on the host
    for backends that share its network)."""

    choice: list[Any] | None = None
    range: tuple[int, int] | None = None
    sample: tuple[list[Any], int] | None = None
    value: Any = None
    port: list[int] | None = None  # candidate ports (own network namespace)

    @model_validator(mode="after")
    def _one(self) -> ParamSpec:
        kinds = ("choice", "range", "sample", "value", "port")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a parameter needs exactly one of {', '.join(kinds)}")
        return self


class ActionSpec(_Spec):
    """A fault or fix step: a shell command run inside the sandbox, or a pack hook."""

    run: str | None = None
    hook: str | None = None  # "function" in the pack's hooks module (called with a context)
    phase: Literal["prepare", "live"] = "prepare"
    """prepare: inside the sandbox before its programs start (the workdir's files);
    live: inside the running sandbox, after the service is up. Commands must succeed."""
    timeout: float = 30.0

    @model_validator(mode="after")
    def _one(self) -> ActionSpec:
        if (self.run is None) == (self.hook is None):
            raise ValueError("an action needs exactly one of run, hook")
        return self


class CheckSpec(_Spec):
    """One ground-truth check, run from outside the sandbox (never the service's own word)."""

    name: str
    file: str | None = None  # a workdir file...
    format: Literal["text", "ini", "env", "json"] = "text"
    key: str | None = None  # ini "section.key", env "KEY", json a jsonpath; text: whole file
    exists: bool | None = None
    mode: str | None = None  # octal permission bits that must all be set (e.g. "600")
    expect: Tolerance | None = None  # the value (or whole text) must match
    reject: Tolerance | None = None  # ... and must not match
    tcp: str | None = None  # or a named port: send and expect a reply
    send: str = ""
    command: str | None = None  # or a command inside the sandbox (clean env, no workdir PATH)
    exit_code: Tolerance | None = None
    hook: str | None = None  # or a pack hook returning (ok, detail)

    @model_validator(mode="after")
    def _one(self) -> CheckSpec:
        kinds = [k for k in ("file", "tcp", "command", "hook") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"check {self.name!r} needs exactly one of file, tcp, command, hook")
        return self


class IntactSpec(_Spec):
    """A file a destructive "fix" would change: it must still hold what it held."""

    path: str
    when: Literal["before_fault", "after_fault"] = "after_fault"  # when it is fingerprinted


class Difficulty(_Spec):
    steps: int = Field(1, ge=0)  # actions an expert needs
    components: int = Field(1, ge=1)  # components involved
    misleading: bool = False  # the alert points away from the cause
    compound: bool = False  # more than one fault


class ScenarioSpec(_Spec):
    name: str = Field(pattern=NAME)
    description: str
    skills: list[str] = Field(default_factory=list)  # skill ids that fit (first: the main one)
    expected: Outcome = "fixed"
    texts: list[str] = Field(min_length=1)  # alert titles, free text, log lines
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    fault: list[ActionSpec] = Field(default_factory=list)
    stopped: list[str] = Field(default_factory=list)  # programs not started
    ground_truth: list[CheckSpec] = Field(default_factory=list)
    intact: list[str | IntactSpec] = Field(default_factory=list)
    """Files a destructive "fix" would change (a path: fingerprinted after the fault)."""
    fix: list[ActionSpec] = Field(default_factory=list)  # known fix (validation only)
    difficulty: Difficulty = Field(default_factory=Difficulty)
    steady_state: SteadyState | None = None  # replaces the pack's (a Chaos Toolkit hypothesis)

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        if self.expected == "fixed" and not self.fix:
            raise ValueError(f"scenario {self.name}: a fixable scenario needs a known `fix`")
        if self.expected == "fixed" and not (self.fault or self.stopped):
            raise ValueError(f"scenario {self.name}: a fixable scenario needs a `fault` (or "
                             "`stopped` programs)")
        return self


class PackSpec(_Spec):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    version: str = "1"
    service: ServiceSpec
    params: dict[str, ParamSpec] = Field(default_factory=dict)  # drawn for every scenario
    order: list[str] = Field(default_factory=list)  # catalogue order (others follow, by name)
    hooks: str | None = None  # a module file in the pack (e.g. hooks.py) for `hook:` entries


ReadySpec.model_rebuild()
ServiceSpec.model_rebuild()
