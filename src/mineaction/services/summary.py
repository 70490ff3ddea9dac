"""Victims as aggregates: what the public sees of them (approved records only)."""

from __future__ import annotations

from typing import Any

from mineaction.services.errors import FieldError, Invalid
from mineaction.store.base import Store

# Grouping that cannot single out a person on its own; no name, date or place finer than
# an admin area ever leaves through here.
PUBLIC_DIMENSIONS = ("year", "admin-area", "outcome", "sex", "age-band", "role",
                     "device-group")


def victims_summary(store: Store, by: list[str], min_count: int | None = None
                    ) -> dict[str, Any]:
    """Counts grouped by `by`; with `min_count` (the public's), counts below it are
    suppressed with their complementary cells, as in /stats/casualties."""
    from mineaction.analysis.casualties import casualties

    unknown = [b for b in by if b not in PUBLIC_DIMENSIONS]
    if unknown or len(by) > 3:
        raise Invalid(f"group by up to three of {', '.join(PUBLIC_DIMENSIONS)}",
                      field_errors=[FieldError(field="by", message=f"not allowed: {u}")
                                    for u in unknown])
    table = casualties(store, list(dict.fromkeys(by)), statuses=("approved",))
    if min_count is None:
        return {"by": table.dimensions, "rows": table.rows, "total": table.total()}
    from mineaction.reports.suppression import suppress_rows

    return {"by": table.dimensions,
            "rows": suppress_rows(table.rows, table.dimensions, min_count),
            "total": suppress_rows([table.total()], [], min_count)[0],
            "suppressed_below": min_count}
