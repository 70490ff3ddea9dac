"""Small charts as inline SVG, drawn on the server: no chart library to vendor, nothing to
load, readable without JavaScript, and each chart carries its figures as a table beside it
for screen readers. Enough for a dashboard's bars; reports/ draws the publication charts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

# Colour-blind-safe (Okabe-Ito) and distinct on a projector.
COLOURS = {"killed": "#b2182b", "injured": "#ef8a62", "unknown": "#999999",
           "civilian": "#0072b2", "security_forces": "#009e73", "deminer": "#e69f00",
           "open": "#d55e00", "worked_on": "#e69f00", "closed": "#009e73",
           "handed_over": "#56b4e9"}


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def stacked_bars(rows: Sequence[dict[str, Any]], x: str, keys: Sequence[str], *,
                 title: str, width: int = 760, height: int = 260,
                 names: Callable[[str], str] = str) -> Markup:
    """Vertical bars of rows[x], stacked by `keys` (counts); `names` words a key in the
    page's language (web/i18n.py's translator, issue 22)."""
    left, bottom, top, right = 48, 36, 14, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    # A count hidden from the public (None) draws nothing: its bar part is left out.
    totals = [sum(int(r.get(k) or 0) for k in keys) for r in rows]
    ymax = _nice_max(max(totals, default=0))
    n = max(len(rows), 1)
    bar_w = plot_w / n
    parts = [f'<svg role="img" aria-labelledby="t-{escape(x)}-{id(rows)}" '
             f'viewBox="0 0 {width} {height}" class="chart" xmlns="http://www.w3.org/2000/svg">'
             f'<title id="t-{escape(x)}-{id(rows)}">{escape(title)}</title>']
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="tick">{v:,.0f}</text>')
    label_every = max(1, n // 12)
    for i, r in enumerate(rows):
        y = top + plot_h
        bx = left + i * bar_w
        for k in keys:
            v = int(r.get(k) or 0)
            h = plot_h * v / ymax
            if h > 0:
                w = max(bar_w - 2, 1)
                parts.append(f'<rect x="{bx + 1:.1f}" y="{y - h:.1f}" width="{w:.1f}"'
                             f' height="{h:.1f}" fill="{COLOURS.get(k, "#666")}">'
                             f'<title>{escape(str(r[x]))}: {v:,} {escape(names(k))}</title></rect>')
                y -= h
        if i % label_every == 0:
            parts.append(f'<text x="{bx + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" class="tick">{escape(str(r[x]))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: Sequence[dict[str, Any]], label: str, value: str, *, title: str,
          colour_by_label: bool = True, width: int = 360, unit: str = "",
          names: Callable[[str], str] = str) -> Markup:
    """Horizontal bars, one per row; `names` words a label in the page's language."""
    bar_h, gap, left, right = 26, 8, 130, 70
    height = max(1, len(rows)) * (bar_h + gap) + gap
    vmax = max((float(r[value] or 0) for r in rows), default=0) or 1
    parts = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart hchart" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, r in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = (width - left - right) * float(r[value] or 0) / vmax
        colour = COLOURS.get(str(r[label]), "#0072b2") if colour_by_label else "#0072b2"
        name = names(str(r[label]).replace("_", " "))
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.68:.1f}" text-anchor="end" '
                     f'class="tick">{escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.68:.1f}" '
                     f'class="tick">{"–" if r[value] is None else f"{float(r[value]):,.0f}"}'
                     f'{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
