"""A self-contained HTML scorecard report: tables plus inline SVG charts drawn here.

No JavaScript, no external CSS, fonts or CDN: the file opens anywhere, offline. Every piece of
text that comes from a trace (group names, models, notes) is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from sre_agent.scoring.models import GroupScore, Scorecard
from sre_agent.scoring.render import (
    COMPARISON_HEADERS,
    TABLE_HEADERS,
    comparison_rows,
    read_note,
    table_rows,
)

_LABEL_W = 260  # px for the group labels left of each chart
_PLOT_W = 440
_ROW_H = 26
_PAD = 10
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f24}
h1{font-size:22px} h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px} th,td{border:1px solid #d0d7de;padding:4px 8px}
th{background:#f6f8fa;text-align:left} td{text-align:right}
td:first-child,td:nth-child(2){text-align:left}
.note{color:#57606a;font-size:13px} svg{display:block;margin:8px 0}
svg text{font-size:12px;fill:#1b1f24} .axis{stroke:#8c959f;stroke-width:1}
"""
_KIND_COLOR = {"real": "#2f81f7", "mixed": "#8250df", "simulated": "#9a6700"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _label(g: GroupScore) -> str:
    text = f"{g.group} [{g.kind}]"
    return text if len(text) <= 38 else text[:37] + "\u2026"


def _svg_open(rows: int, title: str) -> tuple[list[str], int]:
    height = rows * _ROW_H + 2 * _PAD + 20
    width = _LABEL_W + _PLOT_W + 240  # room for the value labels right of the bars
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>'], height


def _hbar_chart(groups: list[GroupScore], values: list[float], vmax: float, title: str,
                value_text: list[str]) -> str:
    """Horizontal bars, one per group, scaled to `vmax`."""
    out, height = _svg_open(len(groups), title)
    x0 = _LABEL_W
    for i, (g, v, txt) in enumerate(zip(groups, values, value_text, strict=True)):
        y = _PAD + i * _ROW_H
        w = 0.0 if vmax <= 0 else _PLOT_W * max(0.0, v) / vmax
        out.append(f'<text x="{x0 - 8}" y="{y + 16}" text-anchor="end">{_e(_label(g))}</text>')
        out.append(f'<rect x="{x0}" y="{y + 4}" width="{w:.1f}" height="{_ROW_H - 8}" '
                   f'fill="{_KIND_COLOR[g.kind]}"><title>{_e(txt)}</title></rect>')
        out.append(f'<text x="{x0 + w + 6:.1f}" y="{y + 16}">{_e(txt)}</text>')
    axis_y = height - _PAD - 16
    out.append(f'<line class="axis" x1="{x0}" y1="{_PAD}" x2="{x0}" y2="{axis_y}"/>')
    out.append("</svg>")
    return "".join(out)


def _ttm_box_chart(groups: list[GroupScore]) -> str:
    """One box per group: whiskers min..max, box p25..p75, a bar at p50, a tick at p95."""
    with_ttm = [g for g in groups if g.ttm_count]
    if not with_ttm:
        return '<p class="note">No verified run has a time to mitigate yet.</p>'
    vmax = max(g.ttm_max_s or 0.0 for g in with_ttm) or 1.0
    out, height = _svg_open(len(with_ttm), "Time to mitigate (s) by group")
    x0 = _LABEL_W

    def x(v: float | None) -> float:
        return x0 + _PLOT_W * (v or 0.0) / vmax

    for i, g in enumerate(with_ttm):
        y = _PAD + i * _ROW_H
        mid = y + _ROW_H / 2
        tip = (f"n={g.ttm_count} min={g.ttm_min_s:.1f} p25={g.ttm_p25_s:.1f} "
               f"p50={g.ttm_p50_s:.1f} p75={g.ttm_p75_s:.1f} p95={g.ttm_p95_s:.1f} "
               f"max={g.ttm_max_s:.1f}")
        color = _KIND_COLOR[g.kind]
        out.append(f'<text x="{x0 - 8}" y="{y + 16}" text-anchor="end">{_e(_label(g))}</text>')
        out.append(f'<g><title>{_e(tip)}</title>')
        out.append(f'<line x1="{x(g.ttm_min_s):.1f}" y1="{mid}" x2="{x(g.ttm_max_s):.1f}" '
                   f'y2="{mid}" stroke="{color}"/>')
        box_w = max(1.0, x(g.ttm_p75_s) - x(g.ttm_p25_s))
        out.append(f'<rect x="{x(g.ttm_p25_s):.1f}" y="{y + 5}" width="{box_w:.1f}" '
                   f'height="{_ROW_H - 10}" fill="{color}" fill-opacity="0.35" stroke="{color}"/>')
        out.append(f'<line x1="{x(g.ttm_p50_s):.1f}" y1="{y + 3}" x2="{x(g.ttm_p50_s):.1f}" '
                   f'y2="{y + _ROW_H - 3}" stroke="#1b1f24" stroke-width="2"/>')
        out.append(f'<line x1="{x(g.ttm_p95_s):.1f}" y1="{y + 6}" x2="{x(g.ttm_p95_s):.1f}" '
                   f'y2="{y + _ROW_H - 6}" stroke="#cf222e" stroke-width="2"/>')
        out.append("</g>")
        out.append(f'<text x="{x(g.ttm_max_s) + 6:.1f}" y="{y + 16}">'
                   f'p50 {g.ttm_p50_s:.1f}s / p95 {g.ttm_p95_s:.1f}s</text>')
    axis_y = height - _PAD - 16
    out.append(f'<line class="axis" x1="{x0}" y1="{axis_y}" x2="{x0 + _PLOT_W}" y2="{axis_y}"/>')
    out.append(f'<text x="{x0}" y="{axis_y + 14}">0 s</text>')
    out.append(f'<text x="{x0 + _PLOT_W}" y="{axis_y + 14}" text-anchor="end">{vmax:.1f} s</text>')
    out.append("</svg>")
    return "".join(out)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(card: Scorecard) -> str:
    """The whole report as one HTML document (a string; the caller writes it)."""
    groups = card.groups
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>sre-agent scorecard by {_e(card.group_by)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>sre-agent scorecard by {_e(card.group_by)}</h1>",
        f'<p class="note">{_e(read_note(card))}</p>',
        '<p class="note">Success means the independent verifier saw the service up; the '
        "agent's own claim never counts. Offline runbook-policy runs (kind simulated) are "
        "kept apart from real-model runs unless mixed on purpose. Percentiles are "
        "nearest-rank.</p>",
    ]
    if not groups:
        parts.append("<p>No runs match.</p>")
    else:
        parts.append("<h2>Verified success rate</h2>")
        parts.append(_hbar_chart(
            groups, [g.success_rate for g in groups], 1.0, "Verified success rate by group",
            [f"{100 * g.success_rate:.1f}% ({g.fixed}/{g.runs})" for g in groups]))
        parts.append("<h2>Time to mitigate</h2>")
        parts.append(_ttm_box_chart(groups))
        parts.append('<p class="note">Whiskers min..max, box p25..p75, black bar p50, '
                     "red tick p95; verified runs only.</p>")
        parts.append("<h2>Cost per incident</h2>")
        costs = [g.cost_usd_mean for g in groups]
        parts.append(_hbar_chart(
            groups, costs, max(costs) or 1.0, "Mean cost per incident (USD) by group",
            [f"${c:.4f} (total ${g.cost_usd_total:.4f})" for g, c in zip(groups, costs,
                                                                         strict=True)]))
        parts.append("<h2>All numbers</h2>")
        parts.append(_table(TABLE_HEADERS, table_rows(card)))
    comp = card.comparison
    if comp is not None:
        parts.append(f"<h2>Comparison by {_e(comp.by)}: {_e(comp.b)} vs {_e(comp.a)}</h2>")
        if comp.groups:
            parts.append(_table(COMPARISON_HEADERS, comparison_rows(comp)))
        parts.append(f'<p class="note">{_e(comp.note or "Interval: " + comp.method)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
