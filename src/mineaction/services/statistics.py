"""Statistics as the public receives them: small counts suppressed with the cells that
would give them away (reports/suppression.py), in tables, trends and drill-downs alike,
so no route publishes what another hides (issue 15, 3)."""

from __future__ import annotations

from typing import Any

from mineaction.analysis import casualties as cas
from mineaction.reports.suppression import suppress_rows
from mineaction.store.base import Store


def public_casualties(stats: dict[str, Any], threshold: int) -> dict[str, Any]:
    """Suppress small counts; keep only percentages that reveal nothing hidden."""
    dims = stats["dimensions"]
    counts = [{k: r[k] for k in (*dims, *cas.COUNTS)} for r in stats["rows"]]
    rows = suppress_rows(counts, dims, threshold)
    any_hidden = any(r["suppressed"] for r in rows)
    for row, full in zip(rows, stats["rows"], strict=True):
        row["pct_killed"] = None if row["suppressed"] else full.get("pct_killed")
        if not any_hidden:
            row.update({k: v for k, v in full.items() if k.startswith("pct_of_known")})
    total = suppress_rows([{k: stats["total"][k] for k in cas.COUNTS}], [], threshold)[0]
    total["pct_killed"] = None if total["suppressed"] else stats["total"]["pct_killed"]
    return {**stats, "rows": rows, "total": total, "suppressed_below": threshold}


def public_trends(result: dict[str, Any], floor: int) -> None:
    """Year totals are public figures, small ones suppressed like any count, together with
    the changes that would give them away (this year's change is this year minus the last).
    Monthly counts are mostly small, and two consecutive rolling sums differ by two single
    months: the public gets no rolling sums."""
    hidden_before = False
    for row in result["year_on_year"]:
        hidden = 0 < row["casualties"] < floor
        if hidden:
            row["casualties"] = None
        if hidden or hidden_before:
            row["change"] = row["pct_change"] = None
        hidden_before = hidden
    result["rolling_12_months"] = []
    result["suppressed_below"] = floor
    if any(row["casualties"] is None for row in result["year_on_year"]):
        # A projection fitted on a hidden year repeats it, near enough, as its first
        # projected value when the trend is flat (issue 15, 3): not published then.
        result["projection"] = {"label": result["projection"].get("label"),
                                "reason": "not published: the years it is fitted on "
                                "include counts suppressed to protect the people behind "
                                "them"}


def cell_published(store: Store, cell: dict[str, Any], threshold: int, **filters: Any
                   ) -> bool:
    """Whether the cell's figure is shown to the public in the table of the cell's own
    dimensions with the same filters: only then may it drill down into the records."""
    dims = list(cell)
    stats = public_casualties(cas.casualty_stats(store, dims, **filters), threshold)
    # The drill-down gives the cell's casualties (or their accidents): published when
    # the cell's casualty count is, whatever its killed/injured split.
    if not dims:
        return stats["total"]["casualties"] is not None
    keys = dims
    wanted = [cell[d] for d in dims]
    for row in stats["rows"]:
        if [row.get(k) for k in keys] == wanted:
            return row["casualties"] is not None
    return True  # no such cell: the drill-down finds nothing to give away
