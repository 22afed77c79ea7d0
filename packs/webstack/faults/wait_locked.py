"""Fault helper (runs inside the sandbox): wait until another process holds the write lock of
a SQLite database, so a fault script goes on only once its lock holder really holds it.
Usage: wait_locked.py DB_PATH [MAX_SECONDS]; exit 0 once a write transaction cannot begin
because the database is locked, 1 if it still can after MAX_SECONDS (default 5)."""

import sqlite3
import sys
import time

deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 5.0)
while True:
    conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            sys.exit(0)
        raise
    finally:
        conn.close()
    if time.monotonic() > deadline:
        sys.stderr.write(f"{sys.argv[1]}: nothing holds the write lock\n")
        sys.exit(1)
    time.sleep(0.02)
