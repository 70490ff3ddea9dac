# SPDX-License-Identifier: GPL-3.0-or-later
"""The annual report's "Contamination-risk model" section (issue 19): what the model is and
is not, when it was trained, and how it did on the held-out blocks beside the two
baselines, as a table and two charts.

Everything comes from the meta `mineaction risk train` saves with the model (services/risk.py
`train`; the manifest of its model directory): `trained_until`, `horizon_years`,
`feature_cutoff`, `cell_m`, `events`, `created`, and `metrics` (`cells`, `positive_cells`,
`held_out_cells`, `held_out` per contender as analysis/risk/validate.py `evaluate` gives
it). Models saved before `held_out_capture` and `held_out_block_m` existed still get the
section: their capture chart joins the three saved shares (top 1, 5, 10%) instead of the
full curve, and the blocks' size goes unstated. A measure a model lacks is shown as "–".

The reports sit below services and do not read the model directory or the risk layer
themselves: the caller hands over the meta and the reader's access, and the section
appears only when the reader may see the risk layer (`Access.may_see_risk`, the rule the
layer itself applies), so a report never shows more of the model than its map would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from mineaction.analysis.risk import validate
from mineaction.reports import charts
from mineaction.reports.i18n import N_, Formatter

if TYPE_CHECKING:
    from mineaction.access.visibility import Access

# The baselines' labels, keyed by the function that scores them, so the names the meta is
# saved under stay validate.BASELINES' own.
BASELINE_LABELS: dict[Callable[..., Any], str] = {
    validate.baseline_distance: N_("Baseline: distance to the nearest past event"),
    validate.baseline_count: N_("Baseline: past events within 5 km"),
}
CAPTURED = ((0.01, "top_1pct_events"), (0.05, "top_5pct_events"), (0.1, "top_10pct_events"))
# The keys of a model's saved meta the section reads: `mineaction risk predict` keeps them
# in the risk layer it writes (the `report` of its `risk_model` table), so that a server
# showing that layer shows the section in its reports too.
SHOWN_META = ("trained_until", "feature_cutoff", "horizon_years", "cell_m", "events",
              "created", "metrics")


def shown_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What of `meta` the section reads (`SHOWN_META`)."""
    return {key: meta[key] for key in SHOWN_META if key in meta}


def _number(value: Any) -> float | None:
    """A finite float, or None: saved measures may be NaN (no positive in the blocks)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _year(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:g}"


def contenders(held_out: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(saved name, label to translate, measures): the model first, then the baselines in
    validate.BASELINES' order. The model is the contender that is not a baseline."""
    names = {name: BASELINE_LABELS.get(fn) for name, fn in validate.BASELINES.items()}
    model = [(n, N_("This model"), m) for n, m in held_out.items()
             if n not in names and isinstance(m, Mapping)]
    baselines = [(n, label or n, held_out[n]) for n, label in names.items()
                 if isinstance(held_out.get(n), Mapping)]
    return model[:1] + baselines


def capture_points(metrics: Mapping[str, Any], rows: list[tuple[str, str, Mapping[str, Any]]]
                   ) -> tuple[list[float], list[list[float | None]]]:
    """The capture curve of each contender: the full curve saved at training when there is
    one, else the three saved shares and the whole area, which holds every event."""
    saved = metrics.get("held_out_capture")
    if isinstance(saved, Mapping) and all(isinstance(saved.get(n), list) for n, _, _ in rows):
        area = [float(a) for a in saved.get("area", [])]
        return area, [[_number(v) for v in saved[n]] for n, _, _ in rows]
    area = [share for share, _ in CAPTURED] + [1.0]
    return area, [[_number(m.get(key)) for _, key in CAPTURED] + [1.0] for _, _, m in rows]


def section(meta: Mapping[str, Any] | None, reader: Access | None, fmt: Formatter,
            chart: Callable[[Any], str]) -> dict[str, Any] | None:
    """The section's data, in `fmt`'s language; None (no section) without a model, without
    a reader, or for a reader who may not see the risk layer. `chart` embeds a figure."""
    if meta is None or reader is None or not reader.may_see_risk():
        return None
    t = fmt.gettext
    metrics = meta.get("metrics") or {}
    held = metrics.get("held_out") or {}
    rows = contenders(held) if isinstance(held, Mapping) else []
    created = str(meta.get("created") or "")[:10]
    try:
        trained_on = fmt.date(date.fromisoformat(created))
    except ValueError:
        trained_on = "–"
    horizon = _number(meta.get("horizon_years"))
    block_m = _number(metrics.get("held_out_block_m"))
    out: dict[str, Any] = {
        "trained_until": _year(meta.get("trained_until")),
        "feature_cutoff": _year(meta.get("feature_cutoff")),
        "horizon": fmt.number(horizon, 0 if horizon is None or horizon.is_integer() else 1),
        "cell_m": fmt.number(_number(meta.get("cell_m"))),
        "cells": fmt.number(_number(metrics.get("cells"))),
        "positive_cells": fmt.number(_number(metrics.get("positive_cells"))),
        "events": fmt.number(_number(meta.get("events"))),
        "trained_on": trained_on,
        "held_out_cells": fmt.number(_number(metrics.get("held_out_cells"))),
        "block_km": None if block_m is None else fmt.number(block_m / 1000),
        "table": [{"name": t(label), "roc_auc": fmt.number(_number(m.get("roc_auc")), 3),
                   "average_precision": fmt.number(_number(m.get("average_precision")), 3),
                   "captured": [fmt.pct(None if (v := _number(m.get(key))) is None
                                        else 100 * v) for _, key in CAPTURED]}
                  for _, label, m in rows],
        "reliability_chart": None,
        "capture_chart": None,
    }
    bins = rows[0][2].get("reliability") if rows else None
    if isinstance(bins, list) and bins:
        out["reliability_chart"] = chart(charts.reliability(bins, t))
    if rows:
        area, curves = capture_points(metrics, rows)
        out["capture_chart"] = chart(charts.capture(
            area, [(t(label), ys) for (_, label, _), ys in zip(rows, curves, strict=True)], t))
    return out
