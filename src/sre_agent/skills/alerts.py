"""Alert-aware reading of an incident text.

An incident often arrives as an alert rather than prose: a Prometheus Alertmanager webhook
payload (JSON, version 4), a single alert object, or a one-line title with `key=value` labels
(`[FIRING:1] TargetDiskUsageHigh instance=sbx-9 severity=warning summary="..."`). What says
what is wrong is the alert's name, its `summary` / `description` / `message` annotations and a
few labels; instance addresses, severities, namespaces, timestamps and URLs only say where and
when. `routing_text` turns any of these into the prose the router scores, and tells whether
every alert in it is resolved (nothing left to handle).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Labels and fields that locate or schedule an alert but never describe the fault.
NOISE_KEYS = frozenset(
    """
    instance job severity namespace pod container cluster prometheus region zone env environment
    team owner receiver endpoint service_name fingerprint startsat endsat generatorurl
    externalurl groupkey status version truncatedalerts runbook_url runbook dashboard
    dashboard_url panel_url silence_url priority tier node host hostname uid id seed scenario
    """.split()
)
TEXT_ANNOTATIONS = ("summary", "description", "message")
# A `status` label holding an HTTP status code describes the fault (`status="404"`); any other
# `status` (firing, resolved) only schedules the alert.
_HTTP_CODE_RE = re.compile(r"[1-5]\d\d")
_MAX_ALERTS = 20

# `key=value`, `key="quoted value"` or `key='quoted value'` inside a plain text.
_LABEL_RE = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)""")
_STATUS_RE = re.compile(r"^\s*\[(FIRING|RESOLVED)(?::\d+)?\]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RoutingText:
    """The prose to score, and whether the text only reports resolved alerts."""

    text: str
    resolved: bool = False
    structured: bool = False  # the text was an alert payload (JSON)


def routing_text(text: str) -> RoutingText:
    """The text the router should score: alert payloads flattened, label noise dropped."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        payload = _json(stripped)
        if payload is not None:
            alerts = _alerts(payload)
            if alerts:
                parts = [_alert_prose(a) for a in alerts[:_MAX_ALERTS]]
                statuses = {str(a.get("status", "")).lower() for a in alerts}
                if isinstance(payload, dict) and not statuses - {""}:
                    statuses = {str(payload.get("status", "")).lower()}
                return RoutingText(text=". ".join(p for p in parts if p),
                                   resolved=statuses == {"resolved"}, structured=True)
    return _plain(text)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _alerts(payload: Any) -> list[dict[str, Any]]:
    """The alerts of a webhook payload, a list of alerts or one alert (or label set)."""
    if isinstance(payload, list):
        return [a for a in payload if isinstance(a, dict)]
    if not isinstance(payload, dict):
        return []
    if isinstance(payload.get("alerts"), list):
        found = [a for a in payload["alerts"] if isinstance(a, dict)]
        if found:
            return found
        common = {"labels": payload.get("commonLabels"),
                  "annotations": payload.get("commonAnnotations")}
        return [common] if any(common.values()) else []
    if "labels" in payload or "annotations" in payload or "alertname" in payload:
        return [payload]
    return []


def _alert_prose(alert: dict[str, Any]) -> str:
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    if not labels and "alertname" in alert:
        labels = {k: v for k, v in alert.items() if k != "annotations"}
    annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
    parts = [str(labels.get("alertname", ""))]
    parts += [str(annotations[k]) for k in TEXT_ANNOTATIONS if annotations.get(k)]
    parts += [str(v) for k, v in sorted(annotations.items())
              if k not in TEXT_ANNOTATIONS and _describes(k, v) and _is_text(v)]
    parts += [f"{k} {v}" for k, v in sorted(labels.items())
              if k != "alertname" and _describes(k, v) and _is_text(v)]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def _describes(key: str, value: Any) -> bool:
    """Whether a label or annotation says something about the fault (not where or when)."""
    if key.lower() not in NOISE_KEYS:
        return True
    return key.lower() == "status" and bool(_HTTP_CODE_RE.fullmatch(str(value).strip()))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("http://", "https://"))


def _plain(text: str) -> RoutingText:
    """A prose text or an alert title: drop the status marker and the noise labels."""
    match = _STATUS_RE.match(text)
    resolved = bool(match and match.group(1).upper() == "RESOLVED")
    if match:
        text = text[match.end():]
    if "=" in text:
        text = _LABEL_RE.sub(_label, text)
    return RoutingText(text=text, resolved=resolved)


def _label(match: re.Match[str]) -> str:
    key, value = match.group(1), match.group(2)
    if value[:1] in "\"'":
        value = value[1:-1]
    if not _describes(key, value):
        return " "
    if key.lower() in ("alertname", *TEXT_ANNOTATIONS, "reason"):
        return f" {value} "
    return f" {key} {value} "
