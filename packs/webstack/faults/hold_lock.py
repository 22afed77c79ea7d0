"""Fault helper (runs inside the sandbox, started by hand): a "backup" job that opened a write
transaction on the orders database and never finished. Usage: <name> DB_PATH"""

import sqlite3
import sys
import time

conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS backup_progress (started REAL)")
conn.execute("INSERT INTO backup_progress VALUES (?)", (time.time(),))
while True:
    time.sleep(3600)
