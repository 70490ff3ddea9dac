# SPDX-License-Identifier: GPL-3.0-or-later
"""UpSet-style chart of the overlaps between sources (issue 17): bars of the exclusive
intersection sizes above a dot matrix saying which sources each bar is, with each source's
size as bars to the left. Better than a Venn diagram beyond three sources, and every bar is
a count a reader can check against the table.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, no
network), like the other report charts.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mineaction.analysis.overlaps import Overlaps
from mineaction.reports.charts import STYLE

BAR, DOT_ON, DOT_OFF = "#08519c", "#252525", "#d9d9d9"
MAX_BARS = 30  # more patterns than this become unreadable; the table has them all
# matplotlib's stubs type rc keys as literals; the shared style is a plain dict.
_STYLE: dict[Any, Any] = dict(STYLE)


def upset_figure(result: Overlaps, title: str = "") -> Figure:
    patterns = result.intersections[result.intersections["count"] > 0].head(MAX_BARS)
    names = list(result.sources)
    sizes = result.per_source.set_index("source")["entities"]
    columns = range(len(patterns))
    rows = range(len(names))
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(max(4.5, 1.8 + 0.32 * len(patterns)), 2.2 + 0.28 * len(names)),
                     layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(2, 2, width_ratios=[1, 4], height_ratios=[3, max(1, len(names))
                                                                           * 0.45])
        bars = fig.add_subplot(grid[0, 1])
        matrix = fig.add_subplot(grid[1, 1], sharex=bars)
        setsize = fig.add_subplot(grid[1, 0], sharey=matrix)

        bars.bar(list(columns), patterns["count"], color=BAR, width=0.6)
        for x, count in zip(columns, patterns["count"], strict=True):
            bars.annotate(f"{int(count):,}", (x, count), ha="center", va="bottom",
                          fontsize=6, xytext=(0, 1), textcoords="offset points")
        bars.set_ylabel("Only these sources")
        bars.tick_params(axis="x", bottom=False, labelbottom=False)
        if title:
            bars.set_title(title)

        # Row 0 (the largest source) at the top.
        for x, (_, pattern) in zip(columns, patterns.iterrows(), strict=True):
            on = [len(names) - 1 - y for y, n in enumerate(names) if bool(pattern[n])]
            matrix.scatter([x] * len(names), list(rows), s=28, color=DOT_OFF, zorder=1)
            matrix.scatter([x] * len(on), on, s=28, color=DOT_ON, zorder=2)
            if len(on) > 1:
                matrix.plot([x, x], [min(on), max(on)], color=DOT_ON, linewidth=1.5, zorder=2)
        matrix.set_yticks(list(rows), [names[len(names) - 1 - y] for y in rows])
        matrix.tick_params(axis="both", length=0)
        matrix.tick_params(axis="y", labelleft=False)
        matrix.set_xlim(-0.6, len(patterns) - 0.4)
        matrix.set_ylim(-0.6, len(names) - 0.4)
        for side in ("left", "bottom", "top", "right"):
            matrix.spines[side].set_visible(False)
        matrix.tick_params(axis="x", labelbottom=False)

        values = [int(sizes[names[len(names) - 1 - y]]) for y in rows]
        setsize.barh(list(rows), values, color=BAR, height=0.5)
        setsize.invert_xaxis()
        setsize.set_xlabel("Per source")
        setsize.tick_params(axis="y", length=0)
        for side in ("left", "top"):
            setsize.spines[side].set_visible(False)
        setsize.spines["right"].set_visible(True)
        setsize.yaxis.tick_right()
        setsize.set_yticks(list(rows), [names[len(names) - 1 - y] for y in rows])
    return fig


def upset_chart(result: Overlaps, path_or_buffer: str | Path | IO[bytes],
                title: str = "", fmt: str = "png", dpi: int = 150) -> None:
    """Write the chart as PNG (or `fmt`: svg, pdf) to a path or a binary buffer."""
    fig = upset_figure(result, title)
    with matplotlib.rc_context(_STYLE):
        metadata = {"Date": None} if fmt == "svg" else {}
        fig.savefig(path_or_buffer, format=fmt, dpi=dpi, metadata=metadata)
