"""Victims as aggregates: what the public sees of them (approved records only)."""

from __future__ import annotations

from typing import Any

from mineaction.api.errors import FieldError, Invalid
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
    import pandas as pd

    from mineaction.reports.suppression import suppress

    dims = table.dimensions
    frame = suppress(pd.DataFrame(table.rows, columns=table.columns), min_count,
                     [[d for d in dims if d != left_out] for left_out in dims])
    total = suppress(pd.DataFrame([table.total()]), min_count)
    return {"by": dims, "rows": _plain(frame), "total": _plain(total)[0],
            "suppressed_below": min_count}


def _plain(frame: Any) -> list[dict[str, Any]]:
    """Records with None for hidden counts and Python ints (JSON-ready)."""
    return [{k: None if v is None else (bool(v) if k == "suppressed" else
                                        v if isinstance(v, str) else int(v))
             for k, v in r.items()} for r in frame.to_dict("records")]
