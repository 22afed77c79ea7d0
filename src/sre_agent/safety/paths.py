"""Where a path points, judged against the sandbox workspace: inside, scratch, device, credential.

Pure string work (`posixpath`), no filesystem access: `..` escapes and globs are normalised,
symlinks are not followed. Paths may hold the markers of `shell.markers`: `UNKNOWN` (text only
known at run time) makes the rest of the path a glob, `FOUND` stands for "some file under this
directory", `NO_WORKSPACE` is the workspace when the caller gave none.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from dataclasses import dataclass

from sre_agent.safety.shell.markers import NO_WORKSPACE, UNKNOWN, readable

_GLOB_CHARS = "*?[{" + UNKNOWN

_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
_DISCARD = {
    "/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
    "/dev/full", "/dev/random", "/dev/urandom",
}
_CREDENTIAL_DIRS = (
    ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".password-store", ".config/gcloud",
    ".docker", "var/run/secrets", "run/secrets", "etc/ssl/private", "etc/sudoers.d",
)
_CREDENTIAL_FILES = {
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/master.passwd", "/etc/security/opasswd",
}
_CREDENTIAL_NAMES = (
    ".netrc", ".pgpass", ".my.cnf", ".git-credentials", ".npmrc", ".pypirc", ".vault-token",
    ".env", ".env.*", "*.env", "credentials", "credentials.json", "*.pem", "*.key", "*.p12",
    "*.pfx", "*.jks", "*.keystore", "*.kdbx", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    "*_history", ".histfile", "*.tfstate", "*.tfstate.backup", "kubeconfig", "environ",
    "client_secret*.json", "service-account*.json", "token",
)
_HISTORY_NAMES = ("*_history", ".histfile")
_DATA_STORE_NAMES = ("*.db", "*.sqlite", "*.sqlite3", "*.rdb", "*.aof", "*.mdb", "*.db-wal")


@dataclass(frozen=True)
class PathRef:
    """A path operand after expansion and normalisation.

    `norm` is the normalised absolute text (glob and marker characters kept), `region` the
    deepest directory known statically (what a glob or unknown part can reach), `glob` whether
    part of it is only known at run time. `unknown`: nothing is known (`$X`, `$(cmd)/x`).
    """

    text: str
    norm: str | None
    region: str | None
    glob: bool

    @property
    def unknown(self) -> bool:
        return self.region is None


def home_dir() -> str:
    return os.environ.get("HOME") or "/root"


class PathJudge:
    """Resolves and classifies paths for one workspace (and the shell's current directory)."""

    def __init__(self, workspace: str | None, cwd: str | None = "", home: str | None = None):
        self.workspace = posixpath.normpath(workspace) if workspace else NO_WORKSPACE
        self.cwd = self.workspace if cwd == "" else cwd
        self.home = home or home_dir()

    def with_cwd(self, cwd: str | None) -> PathJudge:
        return PathJudge(self.workspace, cwd if cwd is not None else None, self.home)

    def resolve(self, text: str) -> PathRef:
        if not text or text.startswith(UNKNOWN):
            return PathRef(text, None, None, True)
        if text == "~" or text.startswith("~/"):
            text = self.home + text[1:]
        if text.startswith("/"):
            full = text
        elif self.cwd is None:
            return PathRef(text, None, None, True)
        else:
            full = self.cwd + "/" + text
        norm = posixpath.normpath(full)
        if norm.startswith("//"):
            norm = "/" + norm.lstrip("/")
        cut = min((i for i, ch in enumerate(norm) if ch in _GLOB_CHARS), default=-1)
        if cut < 0:
            return PathRef(text, norm, norm, False)
        region = norm[:cut].rsplit("/", 1)[0] or "/"
        return PathRef(text, norm, region, True)

    # -- where it is -------------------------------------------------------------------------

    def inside(self, ref: PathRef) -> bool:
        if ref.region is None:
            return False
        ws = self.workspace
        return ref.region == ws or ref.region.startswith(ws + "/")

    def relative(self, ref: PathRef) -> str | None:
        """Workspace-relative path ('' for the root) or None when outside/unknown."""
        if not self.inside(ref) or ref.norm is None:
            return None
        rest = ref.norm[len(self.workspace):]
        return rest.lstrip("/")

    def is_workspace_root(self, ref: PathRef) -> bool:
        """The workspace itself, or a bare glob/unknown right at its root (`*`, `./*`, `$X`)."""
        rel = self.relative(ref)
        if rel is None:
            return False
        if rel == "":
            return True
        return "/" not in rel and ref.glob and set(rel) <= set("*.{},?" + UNKNOWN)

    def is_scratch(self, ref: PathRef) -> bool:
        r = ref.region
        return r is not None and any(r == s or r.startswith(s + "/") for s in _SCRATCH)

    def is_discard(self, ref: PathRef) -> bool:
        n = ref.norm or ""
        return n in _DISCARD or n.startswith(("/dev/fd/", "/proc/self/fd/"))

    def is_device(self, ref: PathRef) -> bool:
        n = ref.region or ""
        return (
            n.startswith("/dev/")
            and not self.is_discard(ref)
            and not n.startswith(("/dev/tcp/", "/dev/udp/", "/dev/pts", "/dev/shm"))
        )

    def is_network_path(self, ref: PathRef) -> bool:
        return (ref.norm or "").startswith(("/dev/tcp/", "/dev/udp/"))

    def is_credential(self, ref: PathRef) -> bool:
        n = ref.norm
        if n is None:
            return False
        if n in _CREDENTIAL_FILES:
            return True
        padded = n + "/"
        if any(f"/{d}/" in padded for d in _CREDENTIAL_DIRS):
            return True
        if n.startswith("/proc/") and n.endswith("/environ"):
            return True
        base = n.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(base, pat) for pat in _CREDENTIAL_NAMES)

    def is_history(self, ref: PathRef) -> bool:
        base = (ref.norm or "").rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(base, pat) for pat in _HISTORY_NAMES)

    def is_data_store(self, ref: PathRef) -> bool:
        """The sandbox's live data (`var/data/...`, `*.db`): never to be deleted or truncated."""
        rel = self.relative(ref)
        if rel is None:
            return False
        if rel == "var/data" or rel.startswith("var/data/"):
            return True
        base = rel.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(base, pat) for pat in _DATA_STORE_NAMES)

    def contains_data_store(self, ref: PathRef) -> bool:
        """A directory whose recursive removal takes `var/data` with it."""
        rel = self.relative(ref)
        return rel is not None and (rel == "var" or self.is_workspace_root(ref))

    def show(self, ref: PathRef) -> str:
        rel = self.relative(ref)
        if rel is not None:
            text = rel or "."
        elif ref.norm is not None:
            text = ref.norm
        else:
            text = ref.text
        return readable(text)


__all__ = ["PathJudge", "PathRef", "home_dir"]
