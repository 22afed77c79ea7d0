"""A throw-away podman API service (Docker-compatible) owned by the test, stdlib only.

    engine = start(base)     # engine.url == "unix://<base>/podman/podman.sock"
    ...                      # docker.DockerClient(base_url=engine.url, version="1.41")
    report = stop(engine)    # removes containers, processes, mounts, cgroups, files
    assert report["host_changes"] == {}

Made for machines like the CI's (Debian 12, PID 1 not systemd, cgroup v1, hard rlimits below
podman's defaults, no CAP_SYS_RESOURCE). Everything podman writes lives under `<base>/podman/`:

* runtime runc (crun cannot set rlimits here) through a wrapper that keeps runc's state under
  `<base>` (podman does not pass --root on to its cleanup command), cgroupfs, events to a file;
* default ulimits lowered to what this process may set (nofile 4096, nproc <= 32768);
* NO bridge: the CNI configuration and plugin directories podman sees are empty (a bridge
  request fails instead of touching the host's firewall or ip_forward); the tests' containers
  use network mode none anyway;
* NO pull: no search registries, pull policy never, and the service's proxy is a closed
  loopback port inside an empty network namespace (`unshare --net`): a pull fails at once;
* its own mount namespace with an overlay on /var/lib (podman writes a blob cache to
  /var/lib/containers as root whatever it is told); every container mount vanishes with it;
* configuration only through CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
  CONTAINERS_REGISTRIES_CONF, HOME and XDG_* inside `<base>`.

`start` snapshots what podman could change on the host (forwarding sysctls, firewall rules,
links, routes, podman/CNI directories, podman-named cgroups, mounts); `stop` undoes what it
finds of ours and returns the difference with a new snapshot as `host_changes`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PODMAN = shutil.which("podman") or "/usr/bin/podman"
RUNC = shutil.which("runc") or "/usr/sbin/runc"
INSTALL = "apt-get install -y --no-install-recommends podman runc"


class EngineError(RuntimeError):
    pass


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def api(sock: str, method: str, url: str, timeout: float = 10.0) -> tuple[int, Any]:
    conn = _UnixHTTP(sock, timeout)
    try:
        conn.request(method, url)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode(errors="replace")
    finally:
        conn.close()


# ---- host state --------------------------------------------------------------------------
HOST_PATHS = ["/var/lib/containers", "/etc/containers", "/etc/cni", "/var/lib/cni", "/run/cni",
              "/run/containers", "/run/libpod", "/run/podman", "/run/netns", "/run/runc",
              "/run/crun", str(Path.home() / ".config/containers"),
              str(Path.home() / ".local/share/containers")]
PODMAN_CGROUP = re.compile(r"libpod|conmon|machine\.slice|podman")


def _run(argv: list[str]) -> str:
    if not shutil.which(argv[0]):
        return f"({argv[0]} not installed)"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    return done.stdout + done.stderr


def _tree(path: str) -> list[str]:
    if not os.path.lexists(path):
        return ["(absent)"]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        out.append(f"d {dirpath}")
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                size = os.lstat(full).st_size
                digest = hashlib.md5(Path(full).read_bytes()).hexdigest()[:12] \
                    if size < 1 << 20 and os.path.isfile(full) else ""
                out.append(f"f {full} {size} {digest}")
            except OSError:
                out.append(f"f {full} (unreadable)")
    return out


def _cgroup_dirs() -> list[str]:
    found = []
    for controller in sorted(os.listdir("/sys/fs/cgroup")):
        base = os.path.join("/sys/fs/cgroup", controller)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            if dirpath.count("/") - base.count("/") >= 4:
                dirnames[:] = []
            if PODMAN_CGROUP.search(dirpath[len(base):]):
                found.append(dirpath)
    return sorted(found)


def host_snapshot(exclude: str) -> dict[str, Any]:
    sysctls = {"/proc/sys/net/ipv4/ip_forward":
               Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()}
    for family in ("ipv4", "ipv6"):
        conf = Path(f"/proc/sys/net/{family}/conf")
        for iface in sorted(os.listdir(conf)):
            if (conf / iface / "forwarding").exists():
                sysctls[str(conf / iface)] = (conf / iface / "forwarding").read_text().strip()

    def rules(text: str) -> str:
        return re.sub(r"\[\d+:\d+\]", "[]", "\n".join(
            line for line in text.splitlines() if not line.startswith("#")))

    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return {
        "forwarding": sysctls,
        "iptables": rules(_run(["iptables-save"])), "ip6tables": rules(_run(["ip6tables-save"])),
        "nft": _run(["nft", "list", "ruleset"]),
        "links": sorted(os.listdir("/sys/class/net")),
        "routes": _run(["ip", "route"]) + _run(["ip", "-6", "route"]),
        "paths": {p: _tree(p) for p in HOST_PATHS},
        "cgroups": _cgroup_dirs(),
        "mounts": sorted(m for m in mounts if not m.startswith(exclude)),
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            changes[key] = {"added": sorted(set(new) - set(old)),
                            "removed": sorted(set(old) - set(new))}
        elif isinstance(old, dict) and isinstance(new, dict):
            changes[key] = {k: (old.get(k), new.get(k)) for k in sorted({*old, *new})
                            if old.get(k) != new.get(k)}
        else:
            changes[key] = {"before": old, "after": new}
    return changes


# ---- the service ---------------------------------------------------------------------------
@dataclass
class Engine:
    base: Path
    sock: str
    proc: subprocess.Popen[bytes]
    before: dict[str, Any]
    start_s: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"


def _ulimits() -> list[str]:
    out = []
    for name, res, want in (("nofile", resource.RLIMIT_NOFILE, 4096),
                            ("nproc", resource.RLIMIT_NPROC, 32768)):
        hard = resource.getrlimit(res)[1]
        value = want if hard == resource.RLIM_INFINITY else min(want, hard)
        out.append(f'"{name}={value}:{value}"')
    return out


def _configure(base: Path) -> dict[str, str]:
    d = {name: base / name for name in ("storage", "run", "tmp", "libpod-tmp", "volumes",
                                        "cni-config-empty", "cni-plugins-empty", "home",
                                        "config", "etc")}
    for path in d.values():
        path.mkdir(parents=True)
    runc = base / "runc"
    runc.write_text(f"#!/bin/sh\nexec {RUNC} --root {base / 'runc-root'} \"$@\"\n")
    runc.chmod(0o755)
    (d["etc"] / "containers.conf").write_text(f"""\
[containers]
netns = "none"
default_ulimits = [{", ".join(_ulimits())}]
default_sysctls = []
log_driver = "k8s-file"
http_proxy = false
init = false

[network]
network_backend = "cni"
network_config_dir = "{d['cni-config-empty']}"
cni_plugin_dirs = ["{d['cni-plugins-empty']}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base / 'events.log'}"
tmp_dir = "{d['libpod-tmp']}"
volume_path = "{d['volumes']}"
image_copy_tmp_dir = "{d['tmp']}"
pull_policy = "never"
stop_timeout = 2
exit_command_delay = 5
num_locks = 256
service_timeout = 0

[engine.runtimes]
runc = ["{runc}"]
""")
    (d["etc"] / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{d["storage"]}"\nrunroot = "{d["run"]}"\n')
    (d["etc"] / "registries.conf").write_text(
        'unqualified-search-registries = []\nshort-name-mode = "enforcing"\n')
    proxy = "http://127.0.0.1:9"  # closed, in an empty network namespace: a pull fails fast
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(d["home"]), "XDG_CONFIG_HOME": str(d["config"]),
            "XDG_DATA_HOME": str(d["home"] / "share"), "TMPDIR": str(d["tmp"]),
            "CONTAINERS_CONF": str(d["etc"] / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(d["etc"] / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(d["etc"] / "registries.conf"),
            "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy,
            "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}


def start(tmpdir: Path, timeout: float = 30.0) -> Engine:
    """Start `podman system service` (our child); return when /_ping answers."""
    for tool in (PODMAN, RUNC):
        if not os.path.exists(tool):
            raise EngineError(f"{tool} is not installed ({INSTALL})")
    base = tmpdir.resolve() / "podman"
    sock = str(base / "podman.sock")
    if len(sock) > 107:
        raise EngineError(f"socket path too long for AF_UNIX: {sock}")
    before = host_snapshot(exclude=str(base))
    base.mkdir()
    env = _configure(base)
    upper, work = base / "varlib" / "upper", base / "varlib" / "work"
    upper.mkdir(parents=True)
    work.mkdir()
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec",
            'mount -t overlay sre-podman-varlib -o "lowerdir=/var/lib,upperdir=$1,workdir=$2" '
            '/var/lib; shift 2; exec "$@"', "sh", str(upper), str(work),
            PODMAN, "--log-level=info", "system", "service", "--time=0", f"unix://{sock}"]
    t0 = time.perf_counter()
    with open(base / "service.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=base, start_new_session=True)
    engine = Engine(base, sock, proc, before)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = (base / "service.log").read_text(errors="replace")[-1500:]
            stop(engine)
            raise EngineError(f"podman system service exited {proc.returncode}: {tail}")
        try:
            if os.path.exists(sock) and api(sock, "GET", "/_ping", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(engine)
            raise EngineError(f"podman system service did not answer within {timeout}s")
        time.sleep(0.02)
    engine.start_s = time.perf_counter() - t0
    return engine


_HELPERS = {"conmon", "podman", "runc", "unshare", "sh"}


def _our_pids(base: Path, containers: set[str]) -> list[int]:
    """podman's helpers whose argv names our directory; the containers' processes."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        if int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            cgroup = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if (os.path.basename(cmd.split(" ", 1)[0]) in _HELPERS and str(base) in cmd) \
                or any(f"libpod-{cid}" in cgroup for cid in containers):
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# Host paths podman may create as root whatever it is told: removed only when they did not
# exist at start and hold nothing but what podman puts there.
_KNOWN_CREATED = {"/var/lib/containers": {"cache/blob-info-cache-v1.boltdb"},
                  "/run/runc": set(), "/run/netns": set()}


def stop(engine: Engine) -> dict[str, Any]:
    """Remove every container, stop the service, then remove everything it made."""
    report: dict[str, Any] = {"start_s": round(engine.start_s, 3)}
    t0 = time.perf_counter()
    base, proc = engine.base, engine.proc
    containers: set[str] = set()
    if proc.poll() is None and os.path.exists(engine.sock):
        status, listing = api(engine.sock, "GET", "/containers/json?all=1", timeout=10)
        for item in listing if status == 200 and isinstance(listing, list) else []:
            containers.add(item["Id"])
            api(engine.sock, "POST", f"/containers/{item['Id']}/kill?signal=KILL", timeout=30)
            api(engine.sock, "DELETE", f"/containers/{item['Id']}?force=1&v=1", timeout=30)
    stored = base / "storage" / "overlay-containers"
    if stored.is_dir():
        containers |= {name for name in os.listdir(stored) if len(name) == 64}
    report["containers_removed"] = len(containers)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    left = _our_pids(base, containers)
    report["leftover_pids_killed"] = left
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while (any(map(_alive, left)) or _our_pids(base, containers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for line in reversed(Path("/proc/self/mountinfo").read_text().splitlines()):
        point = line.split()[4]
        if point == str(base) or point.startswith(f"{base}/"):
            subprocess.run(["umount", "-l", point], capture_output=True)
    new_cgroups = sorted(set(_cgroup_dirs()) - set(engine.before["cgroups"]),
                         key=lambda p: -p.count("/"))
    deadline = time.monotonic() + 3
    while new_cgroups and time.monotonic() < deadline:
        for path in list(new_cgroups):
            try:
                os.rmdir(path)
                new_cgroups.remove(path)
            except FileNotFoundError:
                new_cgroups.remove(path)
            except OSError:  # busy while killed tasks are still leaving
                pass
        if new_cgroups:
            time.sleep(0.1)
    for path, allowed in _KNOWN_CREATED.items():
        if engine.before["paths"].get(path) != ["(absent)"] or not os.path.isdir(path):
            continue
        files = {os.path.relpath(os.path.join(d, f), path)
                 for d, _, names in os.walk(path) for f in names}
        if not files - allowed and not os.path.ismount(path):
            shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    report["stop_s"] = round(time.perf_counter() - t0, 3)
    report["host_changes"] = diff(engine.before, host_snapshot(exclude=str(base)))
    engine.report = report
    return report
