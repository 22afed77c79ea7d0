"""A real `redis-server` for the queue tests and benchmarks: bound to 127.0.0.1 only, a free
port, a password, its own directory, no RDB saves (AOF optional); started and stopped by pid.

Debian's `redis-server` (7.0+) must be installed (`.ci/run` installs it); without it the
tests that need it are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from sre_agent.net import free_port


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisServer:
    """redis-server on 127.0.0.1 with a password, in its own directory."""

    def __init__(self, workdir: Path, *, aof: bool = False, password: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.port = 0
        self.password = password or secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> RedisServer:
        if not redis_available():
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        for _ in range(5):  # a free port can be taken between probe and bind: try another
            self.port = free_port("127.0.0.1")
            args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                    "--protected-mode", "yes", "--requirepass", self.password,
                    "--dir", str(self.workdir), "--save", "", "--daemonize", "no",
                    "--maxmemory-policy", "noeviction",
                    "--logfile", str(self.workdir / "redis.log"),
                    "--appendonly", "yes" if self.aof else "no"]
            if self.aof:
                args += ["--appendfsync", "always"]
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready(timeout):
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start; see {self.workdir / 'redis.log'}")

    def _wait_ready(self, timeout: float) -> bool:
        import redis  # lazy: a third-party client, only where a server is started

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                client = redis.Redis.from_url(self.url, socket_timeout=1)
                try:
                    if client.ping():
                        return True
                finally:
                    client.close()
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL after 10 s."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
