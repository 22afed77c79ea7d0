"""Fault helper (runs inside the sandbox): a bulk session import without TTLs (COUNT keys of
1 KiB), stopped early if redis refuses writes. Usage: fill_cache.py PORT PASSWORD COUNT"""

import socket
import sys

port, password, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def cmd(*args: str) -> bytes:
    parts = [a.encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


sock = socket.create_connection(("127.0.0.1", port), timeout=10)
stream = sock.makefile("rb")
sock.sendall(cmd("AUTH", password))
stream.readline()
value = "s" * 1024
refused = 0
for start in range(0, count, 200):
    batch = range(start, min(start + 200, count))
    sock.sendall(b"".join(cmd("SET", f"session:import:{i}", value) for i in batch))
    for _ in batch:
        if stream.readline().startswith(b"-OOM"):
            refused += 1
    if refused:
        break
sys.stdout.write(f"session import stopped after {start + 200} keys ({refused} refused)\n")
