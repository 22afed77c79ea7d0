"""A small redis (RESP2) client for the stack's programs: connections, a pool, AUTH.

Stdlib only (the programs run inside the sandbox). Errors keep redis's own words:
`CacheError("WRONGPASS invalid username-password pair ...")`, `CacheError("OOM command not
allowed ...")`; a connection that cannot be made is `CacheUnavailable` with the OS's reason.
"""

from __future__ import annotations

import queue
import socket
import threading


class CacheError(Exception):
    """An error reply from redis (its own text)."""


class CacheUnavailable(CacheError):
    """No connection to redis (refused, timed out, name not resolved)."""


def encode(*args: object) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Connection:
    def __init__(self, host: str, port: int, password: str | None, timeout: float = 2.0,
                 connect_timeout: float = 1.0) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise CacheUnavailable(f"cannot connect to {host}:{port}: "
                                   f"{exc.strerror or exc}") from None
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rb")
        if password:
            self.call("AUTH", password)

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def _read(self) -> object:
        line = self.file.readline()
        if not line:
            raise CacheUnavailable("connection closed by redis")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise CacheError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise CacheUnavailable(f"unexpected reply {line[:40]!r}")

    def call(self, *args: object) -> object:
        try:
            self.sock.sendall(encode(*args))
            return self._read()
        except TimeoutError:
            raise CacheUnavailable("redis did not answer in time") from None
        except OSError as exc:
            raise CacheUnavailable(f"redis connection failed: {exc.strerror or exc}") from None


class Pool:
    """Thread-safe pool; a connection that failed is dropped, never reused."""

    def __init__(self, host: str, port: int, password: str | None, size: int = 8,
                 timeout: float = 2.0) -> None:
        self.host, self.port, self.password, self.timeout = host, port, password, timeout
        self.idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(size)

    def call(self, *args: object) -> object:
        if not self.slots.acquire(timeout=self.timeout):
            raise CacheUnavailable("connection pool exhausted")
        conn = None
        try:
            try:
                conn = self.idle.get_nowait()
                reused = True
            except queue.Empty:
                conn = Connection(self.host, self.port, self.password, self.timeout)
                reused = False
            try:
                result = conn.call(*args)
            except CacheUnavailable:
                if not reused:
                    raise
                conn.close()  # a pooled connection gone stale (redis restarted): once more
                conn = None
                conn = Connection(self.host, self.port, self.password, self.timeout)
                result = conn.call(*args)
            self.idle.put(conn)
            conn = None
            return result
        except CacheError as exc:
            if conn is not None and not isinstance(exc, CacheUnavailable) and \
                    not str(exc).startswith(("NOAUTH", "WRONGPASS")):
                self.idle.put(conn)  # a plain error reply: the connection is still good
                conn = None
            raise
        finally:
            if conn is not None:
                conn.close()
            self.slots.release()

    def warm(self, count: int) -> None:
        """Open `count` connections now (the pool is warm before the first request)."""
        made = [Connection(self.host, self.port, self.password, self.timeout)
                for _ in range(count)]
        for conn in made:
            self.idle.put(conn)
