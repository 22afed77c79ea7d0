"""The stack's alert evaluator: rules from etc/alerts.conf, checked every 2 s.

A firing alert is a file run/alerts/<rule>.firing (its text) and one `ALERT FIRING` log line
when it starts; `resolved` when it stops. Rules (INI sections):

  [disk_usage]  enabled, path, warn_used_pct, crit_used_pct   (percent of the filesystem)
"""

from __future__ import annotations

import configparser
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("monitor")


def disk_usage(rule: configparser.SectionProxy) -> str | None:
    path = rule.get("path", "var/data")
    st = os.statvfs(path)
    used = 100.0 * (1 - st.f_bavail / st.f_blocks) if st.f_blocks else 0.0
    warn = rule.getfloat("warn_used_pct", 85.0)
    crit = rule.getfloat("crit_used_pct", 95.0)
    if used >= crit:
        return f"CRITICAL {path} {used:.1f}% used >= {crit:g}% (crit_used_pct)"
    if used >= warn:
        return f"WARNING {path} {used:.1f}% used >= {warn:g}% (warn_used_pct)"
    return None


RULES = {"disk_usage": disk_usage}


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s monitor: %(message)s")
    alerts = Path("run/alerts")
    alerts.mkdir(parents=True, exist_ok=True)
    firing: dict[str, str] = {}
    log.info("evaluating etc/alerts.conf every 2s")
    while True:
        parser = configparser.ConfigParser()
        try:
            parser.read_string(Path("etc/alerts.conf").read_text())
        except (OSError, configparser.Error) as exc:
            log.error("etc/alerts.conf unreadable: %s", exc)
        for name, check in RULES.items():
            rule = parser[name] if parser.has_section(name) else None
            state = None
            if rule is not None and rule.getboolean("enabled", True):
                try:
                    state = check(rule)
                except (OSError, ValueError) as exc:
                    state = f"CRITICAL rule error: {exc}"
            marker = alerts / f"{name}.firing"
            if state:
                if firing.get(name) != state.split()[0]:
                    log.warning("ALERT FIRING %s: %s", name, state)
                firing[name] = state.split()[0]
                marker.write_text(state + "\n")
            elif name in firing:
                log.info("alert %s resolved", name)
                firing.pop(name)
                marker.unlink(missing_ok=True)
            else:
                marker.unlink(missing_ok=True)
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
