"""Build the `docker` backend's image as a root-filesystem tarball from THIS machine's files.

    python docker/build_rootfs.py OUT.tar [--no-strip]

Run it with the project's interpreter (`uv run python docker/build_rootfs.py OUT.tar`): the
image gets that interpreter (copied to the same path: it finds libpython through a
hard-coded RUNPATH) with Flask, at `/usr/local/bin/python` as the backend expects, plus the
files of a few installed Debian packages (bash, coreutils, procps, iproute2, curl, util-linux;
nginx, redis, sqlite3 and openssl when installed, for the webstack pack) and the shared-library
closure of every program. Nothing is downloaded: import the tarball into an engine with

    docker import --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \\
        OUT.tar sre-agent-target:latest

(or the Docker API's image import, as the opt-in tests do). The image holds no service code:
the backend bind-mounts the pack and the supervisor read-only. Stdlib only; Debian/Ubuntu.
`docker/Dockerfile` builds an equivalent image from `python:3.12-slim` where pulling is fine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

PACKAGES = ["base-files", "bash", "dash", "coreutils", "findutils", "grep", "sed", "mawk", "gzip",
            "tar", "procps", "iproute2", "curl", "diffutils", "util-linux", "hostname",
            "ncurses-base", "ncurses-bin", "debianutils", "less", "netbase", "psmisc", "lsof",
            "xz-utils", "bzip2", "file", "libmagic-mgc", "ca-certificates",
            # the webstack pack's servers (skipped when not installed here)
            "nginx", "nginx-common", "redis-server", "redis-tools", "sqlite3", "openssl"]
SKIP_PREFIXES = ("/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale",
                 "/usr/share/lintian", "/usr/share/bash-completion", "/usr/share/zsh",
                 "/usr/share/fish", "/etc/init.d", "/lib/systemd", "/usr/lib/systemd",
                 "/etc/cron", "/etc/logrotate.d")
FLASK_DISTS = {"flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker"}
PY_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages"}
PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
          "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
          "redis:x:100:101::/var/lib/redis:/usr/sbin/nologin\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\nwww-data:x:33:\nredis:x:101:\nnogroup:x:65534:\n"


def dpkg_files(package: str) -> list[str]:
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(f"  (package {package} is not installed: skipped)\n")
        return []
    return [line for line in done.stdout.splitlines()
            if line.startswith("/") and not line.startswith(SKIP_PREFIXES)]


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


class Rootfs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.copied: set[str] = set()
        self.elves: set[str] = set()
        for name, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                             ("lib64", "usr/lib64")):  # usr-merged, like Debian 12
            (root / target).mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / name)
        for d in ("etc", "tmp", "var/tmp", "var/lib", "var/log", "run", "proc", "sys", "dev",
                  "root", "opt", "usr/local/bin", "srv", "home"):
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "tmp").chmod(0o1777)
        (root / "var/tmp").chmod(0o1777)

    def dest(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def copy(self, path: str) -> None:
        """One host path (file, symlink or empty directory) to the same place inside."""
        if path in self.copied or not os.path.lexists(path):
            return
        self.copied.add(path)
        dest = self.dest(path)  # under /bin, /lib...: lands in usr/ through the links
        dest.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(path):
            if not os.path.lexists(dest):
                os.symlink(os.readlink(path), dest)
            target = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
            self.copy(target)  # the link's target too
        elif os.path.isdir(path):
            dest.mkdir(parents=True, exist_ok=True)
        elif os.path.isfile(path):
            if not dest.exists():
                shutil.copy2(path, dest)
            if is_elf(path):
                self.elves.add(path)

    def copy_tree(self, src: str, skip: frozenset[str] = frozenset()) -> None:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = [d for d in dirnames if d not in skip]
            self.copy(dirpath)
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for name in filenames + links:
                self.copy(os.path.join(dirpath, name))

    def close_libraries(self) -> int:
        """Copy the `ldd` closure of every ELF file copied so far (until nothing is new)."""
        seen: set[str] = set()
        while pending := sorted(self.elves - seen):
            for path in pending:
                seen.add(path)
                done = subprocess.run(["ldd", path], capture_output=True, text=True)
                for line in done.stdout.splitlines():
                    parts = line.split()
                    if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                        self.copy(parts[2])
                    elif parts and parts[0].startswith("/"):
                        self.copy(parts[0])  # the loader
        return len(seen)


def add_python(fs: Rootfs) -> None:
    """This interpreter at its own path, Flask from this environment's site-packages."""
    prefix = os.path.realpath(sys.base_prefix)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in ("python", "python3", f"python{version}"):  # not pip, uv, idle
        fs.copy(os.path.join(prefix, "bin", name))
    for name in os.listdir(os.path.join(prefix, "lib")):
        path = os.path.join(prefix, "lib", name)
        if name == f"python{version}":
            fs.copy_tree(path, frozenset(PY_SKIP | {f"config-{version}-x86_64-linux-gnu"}))
        elif os.path.isfile(path) and not name.endswith(".a"):
            fs.copy(path)
    site = fs.dest(os.path.join(prefix, "lib", f"python{version}", "site-packages"))
    site.mkdir(parents=True, exist_ok=True)
    source = sysconfig.get_paths()["purelib"]
    for entry in os.listdir(source):
        if entry.split("-")[0].lower() in FLASK_DISTS:
            src = os.path.join(source, entry)
            if os.path.isdir(src):
                shutil.copytree(src, site / entry, symlinks=True)
            else:
                shutil.copy2(src, site / entry)
    for name in ("python", "python3", f"python{version}"):
        os.symlink(os.path.join(prefix, "bin", f"python{version}"),
                   fs.dest(f"/usr/local/bin/{name}"))


def build(out: Path, strip: bool = True) -> str:
    """Write the tarball; returns a one-line summary."""
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=out.parent))
    try:
        fs = Rootfs(work / "root")
        for package in PACKAGES:
            for path in dpkg_files(package):
                fs.copy(path)
        for alias, real in (("sh", "dash"), ("awk", "mawk"), ("which", "which.debianutils")):
            if not os.path.lexists(fs.dest(f"/usr/bin/{alias}")) \
                    and fs.dest(f"/usr/bin/{real}").exists():
                os.symlink(real, fs.dest(f"/usr/bin/{alias}"))
        add_python(fs)
        n_elf = fs.close_libraries()
        if strip and shutil.which("strip"):  # the copies only: libpython 30 -> 7 MB
            for dirpath, _, filenames in os.walk(fs.root):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    if not os.path.islink(path) and is_elf(path):
                        subprocess.run(["strip", "--strip-unneeded", path], capture_output=True)
        fs.dest("/etc/passwd").write_text(PASSWD)
        fs.dest("/etc/group").write_text(GROUP)
        with tarfile.open(out, "w") as tar:  # uncompressed: imports faster
            tar.add(fs.root, arcname=".")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:12]
    return (f"{out}: {out.stat().st_size / 2**20:.1f} MiB, {len(fs.copied)} paths, {n_elf} "
            f"programs and libraries, sha256 {digest}..., {time.perf_counter() - t0:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--no-strip", dest="strip", action="store_false",
                        help="keep debug symbols in the copied programs and libraries")
    args = parser.parse_args()
    sys.stdout.write(build(args.out.resolve(), args.strip) + "\n")


if __name__ == "__main__":
    main()
