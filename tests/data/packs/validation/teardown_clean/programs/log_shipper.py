"""A "log shipper" the web program daemonizes with setsid: it escapes the program's process
group, so stopping the program does not stop it, and it keeps its spool directory in the
workdir. Deliberately bounded: 3 s after it first had to recreate the workdir (or 120 s in
all) it removes what it recreated and exits, so a test leaves nothing behind.

Usage: log_shipper.py WORKDIR
"""

import shutil
import sys
import time
from pathlib import Path

workdir = Path(sys.argv[1])
spool = workdir / "var" / "log"
started = time.monotonic()
recreated_at = None
while time.monotonic() - started < 120:
    if not spool.is_dir():
        spool.mkdir(parents=True, exist_ok=True)
        with (spool / "shipper.log").open("a") as log:
            log.write("shipper: spool directory vanished; recreated it\n")
        recreated_at = recreated_at or time.monotonic()
    if recreated_at is not None and time.monotonic() - recreated_at > 3:
        break
    time.sleep(0.001)
if recreated_at is not None and workdir.name == "work":
    shutil.rmtree(workdir.parent, ignore_errors=True)
