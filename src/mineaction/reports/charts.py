"""Charts for reports, drawn with matplotlib's object API (no pyplot: no global state, safe
in an API worker) and returned as SVG or PNG bytes.

Text in charts comes translated from the caller (every function takes `t`, a gettext), so
a chart speaks the report's language.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

Gettext = Callable[[str], str]
KILLED, INJURED, UNKNOWN = "#8c2d04", "#f16913", "#bdbdbd"
METHOD_COLOURS = {"cancelled": "#9ecae1", "reduced": "#4292c6", "cleared": "#08519c"}
# The risk model's charts: the model, then the two baselines; chance as a dotted grey line.
RISK_COLOURS, CHANCE = ("#08519c", "#f16913", "#74c476"), "#969696"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "svg.hashsalt": "mineaction",  # stable ids: the same data gives the same SVG
    "svg.fonttype": "path",
}


def new_figure(width: float = 6.3, height: float = 2.6) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, fmt: str = "svg", dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        # No creation date in the file: the same report renders to the same bytes.
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def data_uri(content: bytes, fmt: str = "svg") -> str:
    mime = "image/svg+xml" if fmt == "svg" else f"image/{fmt}"
    return f"data:{mime};base64," + base64.b64encode(content).decode("ascii")


def casualties_per_year(
    years: Sequence[dict[str, Any]], projection: dict[str, Any] | None, t: Gettext,
    highlight: int | None = None,
) -> Figure:
    """Stacked bars of killed / injured / unknown per year, with the projection (if any)
    as a dashed line in a shaded band, labelled as a projection."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure()
        ax = fig.add_subplot()
        xs = [r["year"] for r in years]
        killed = [r["killed"] for r in years]
        injured = [r["injured"] for r in years]
        unknown = [r["unknown_outcome"] for r in years]
        ax.bar(xs, killed, color=KILLED, label=t("Killed"))
        ax.bar(xs, injured, bottom=killed, color=INJURED, label=t("Injured"))
        if any(unknown):
            base = [k + i for k, i in zip(killed, injured, strict=True)]
            ax.bar(xs, unknown, bottom=base, color=UNKNOWN, label=t("Outcome unknown"))
        if highlight in xs:
            i = xs.index(highlight)
            ax.bar([highlight], [killed[i] + injured[i] + unknown[i]], fill=False,
                   edgecolor="black", linewidth=1.2)
        if projection and "mean" in projection:
            px = [xs[-1], *projection["years"]]
            last = killed[-1] + injured[-1] + unknown[-1]
            ax.fill_between(px, [last, *projection["lower"]], [last, *projection["upper"]],
                            color="#6a51a3", alpha=0.18, linewidth=0,
                            label=t("Projection: 95% prediction interval"))
            ax.plot(px, [last, *projection["mean"]], color="#6a51a3", linestyle="--",
                    linewidth=1.2, label=t("Projection (not a prediction)"))
        ax.set_title(t("Casualties per year"))
        ax.set_ylabel(t("Casualties"))
        ax.legend(frameon=False, fontsize=7, loc="upper right")
        ax.margins(x=0.01)
    return fig


def horizontal_bars(items: Sequence[tuple[str, float]], title: str, colour: str = "#f16913",
                    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> Figure:
    """One bar per item, largest first as given, values written at the bar ends."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(3.1, 0.35 + 0.24 * max(len(items), 1))
        ax = fig.add_subplot()
        labels = [label for label, _ in items][::-1]
        values = [value for _, value in items][::-1]
        bars = ax.barh(labels, values, color=colour)
        ax.bar_label(bars, labels=[fmt(v) for v in values], padding=2, fontsize=7)
        ax.set_title(title, loc="left")
        ax.spines["bottom"].set_visible(False)
        ax.set_xticks([])
        ax.margins(x=0.18)
    return fig


def released_per_period(rows: Sequence[dict[str, Any]], key: str, t: Gettext) -> Figure:
    """Stacked bars of hectares cancelled / reduced / cleared per period."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.3, 2.3)
        ax = fig.add_subplot()
        xs = [str(r[key]) for r in rows]
        bottom = [0.0] * len(rows)
        for method, label in (("cancelled", t("Cancelled")), ("reduced", t("Reduced")),
                              ("cleared", t("Cleared"))):
            values = [r[f"{method}_m2"] / 10_000 for r in rows]
            ax.bar(xs, values, bottom=bottom, color=METHOD_COLOURS[method], label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(t("Land released"))
        ax.set_ylabel(t("Hectares"))
        ax.legend(frameon=False, fontsize=7)
    return fig


def rolling_counts(rows: Sequence[dict[str, Any]], t: Gettext, last: int = 120) -> Figure:
    """Monthly casualties and their rolling 12-month sum (the last `last` months)."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.3, 2.1)
        ax = fig.add_subplot()
        shown = list(rows)[-last:]
        xs = range(len(shown))
        ax.bar(xs, [r["casualties"] for r in shown], color="#fdae6b", width=1.0,
               label=t("Casualties per month"))
        ax2 = ax.twinx()
        ax2.plot(xs, [r["rolling_12"] for r in shown], color="#8c2d04", linewidth=1.3,
                 label=t("Rolling 12-month total"))
        ax2.spines["top"].set_visible(False)
        ticks = [i for i, r in enumerate(shown) if r["month"].endswith("-01")]
        ax.set_xticks(ticks, [shown[i]["month"][:4] for i in ticks])
        ax.set_title(t("Casualties per month and rolling 12-month total"))
        handles = ax.get_legend_handles_labels()
        handles2 = ax2.get_legend_handles_labels()
        ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], frameon=False,
                  fontsize=7, loc="upper right")
    return fig


def reliability(bins: Sequence[dict[str, float]], t: Gettext) -> Figure:
    """Reliability diagram of the risk model (issue 19): mean predicted probability against
    the observed share of cells with an event, one point per bin of cells, beside the
    diagonal a perfectly calibrated model would follow."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(3.1, 3.5)
        _reliability(fig.add_subplot(), bins, t)
        # below the axes: inside, it would hide the points of a badly calibrated model
        fig.legend(frameon=False, fontsize=6.5, loc="outside lower center")
    return fig


def capture(area: Sequence[float], curves: Sequence[tuple[str, Sequence[float | None]]],
            t: Gettext) -> Figure:
    """Capture curves: the share of events in the highest-scoring share of the area, per
    contender (the model first, then the baselines), beside the diagonal of a random
    ranking."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(3.1, 3.5)
        _capture(fig.add_subplot(), area, curves, t)
        # below the axes: the curves fill the upper left, where a legend would sit
        fig.legend(frameon=False, fontsize=6.5, loc="outside lower center")
    return fig


def risk_evaluation(bins: Sequence[dict[str, float]], area: Sequence[float],
                    curves: Sequence[tuple[str, Sequence[float | None]]], title: str,
                    t: Gettext) -> Figure:
    """`risk evaluate --report`: the reliability diagram and the capture curves of one
    evaluation side by side, drawn as the annual report draws them."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(8.0, 3.8)
        left, right = fig.subplots(1, 2)
        _reliability(left, bins, t)
        _capture(right, area, curves, t)
        left.legend(frameon=False, fontsize=6.5, loc="upper left")
        right.legend(frameon=False, fontsize=6.5, loc="lower right")
        fig.suptitle(title)
    return fig


def _reliability(ax: Any, bins: Sequence[dict[str, float]], t: Gettext) -> None:
    """Axes to the largest value seen, not to 1: the probabilities are small, and a 0-1
    square would squeeze them into a corner."""
    predicted = [b["predicted"] for b in bins]
    observed = [b["observed"] for b in bins]
    top = max([*predicted, *observed, 1e-6]) * 1.05
    ax.plot([0, top], [0, top], color=CHANCE, linestyle=":", linewidth=1,
            label=t("Perfectly calibrated"))
    ax.plot(predicted, observed, color=RISK_COLOURS[0], marker="o", markersize=3, linewidth=1.2,
            label=t("Model (bins of equal numbers of cells)"))
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_title(t("Reliability diagram"))
    ax.set_xlabel(t("Predicted probability"))
    ax.set_ylabel(t("Observed share of cells with an event"))


def _capture(ax: Any, area: Sequence[float],
             curves: Sequence[tuple[str, Sequence[float | None]]], t: Gettext) -> None:
    """The area axis is logarithmic: the top few percent are where a programme can act."""
    xs = [100 * a for a in area]
    for i, (label, ys) in enumerate(curves):
        ax.plot(xs, [100 * y if y is not None else float("nan") for y in ys],
                color=RISK_COLOURS[i % len(RISK_COLOURS)], linewidth=1.6 if i == 0 else 1.1,
                marker="o" if len(xs) < 10 else None, markersize=3, label=label)
    ax.plot(xs, xs, color=CHANCE, linestyle=":", linewidth=1, label=t("Random ranking"))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.1, not 10⁻¹
    ax.set_ylim(0, 100)
    ax.set_title(t("Capture curve"))
    ax.set_xlabel(t("Share of the area, highest scores first (%)"))
    ax.set_ylabel(t("Share of events (%)"))
