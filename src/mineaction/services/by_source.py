# SPDX-License-Identifier: GPL-3.0-or-later
"""The by-source view for a principal (issue 17, 3 and 4): what each source recorded, the
overlaps, and the estimate of what no source recorded, as the API, the dashboard and the
command line give it.

Who counts what follows access/: statistics of records not yet approved only for roles
that read every record; the public gets the view with small counts suppressed
(analysis/by_source.py `public_view`, the rule of services/statistics.py), and the chart
only when nothing had to be hidden, since every bar is a count.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from mineaction.access.visibility import Access
from mineaction.analysis import by_source as bs
from mineaction.services.errors import FieldError, Forbidden, Invalid
from mineaction.store.base import Store

APPROVED = ("approved",)
FORMATS = ("png", "svg")


def _statuses(access: Access, statuses: Sequence[str] | None) -> tuple[str, ...] | None:
    """The statuses counted (None: every one); only approved for those who may not count
    others, as /stats/casualties."""
    wanted = tuple(statuses) if statuses is not None else None
    if wanted != APPROVED and not access.counts_unapproved():
        raise Forbidden("this role sees statistics of approved records only")
    return wanted


def _checked(kind: str) -> None:
    if kind not in bs.KINDS:
        raise Invalid(f"kind is one of {', '.join(bs.KINDS)}", field_errors=[
            FieldError(field="kind", message=f"{kind!r} is not one of "
                       f"{', '.join(bs.KINDS)}")])


def _bad_source(exc: ValueError) -> Invalid:
    return Invalid(str(exc), field_errors=[FieldError(field="sources", message=str(exc))])


def sources_view(store: Store, access: Access, *, kind: str = "victim",
                 statuses: Sequence[str] | None = APPROVED,
                 sources: Sequence[str] | None = None, min_count: int = 5,
                 admin_area: str | None = None, date_from: date | None = None,
                 date_to: date | None = None, confidence: float = 0.95,
                 bootstrap: int = 1000, seed: int = 0,
                 with_estimate: bool = True) -> dict[str, Any]:
    """The by-source view as JSON-ready data (analysis/by_source.py `by_source`): sources,
    per_source, intersections, distinct, estimate; for the public with counts below
    `min_count` suppressed (`suppressed`, `suppressed_below`, `published`).
    `statuses` None counts every status. Raises Forbidden (statuses the role may not
    count) and Invalid (an unknown kind or source)."""
    _checked(kind)
    counted = _statuses(access, statuses)
    try:
        data = bs.by_source(store, kind, counted, sources=sources, confidence=confidence,
                            bootstrap=bootstrap, seed=seed, with_estimate=with_estimate,
                            admin_area=admin_area, date_from=date_from, date_to=date_to)
    except ValueError as exc:
        raise _bad_source(exc) from exc
    if access.principal.is_public:
        return bs.public_view(data, min_count)
    data["suppressed_below"] = None
    return data


def chart_published(view: dict[str, Any]) -> bool:
    """Whether the chart of a view may be shown: it draws every count."""
    return bool(view.get("sources")) and not view.get("suppressed", False)


def sources_chart(store: Store, access: Access, *, kind: str = "victim",
                  statuses: Sequence[str] | None = APPROVED,
                  sources: Sequence[str] | None = None, min_count: int = 5,
                  admin_area: str | None = None, date_from: date | None = None,
                  date_to: date | None = None, title: str = "", fmt: str = "png") -> bytes:
    """The UpSet-style chart of the overlaps (reports/upset.py) as PNG or SVG bytes. The
    public gets it only when its view hides no count (Forbidden otherwise)."""
    from mineaction.reports.upset import upset_chart  # matplotlib: only when drawn

    if fmt not in FORMATS:
        raise Invalid(f"format is one of {', '.join(FORMATS)}")
    _checked(kind)
    counted = _statuses(access, statuses)
    try:
        chosen = bs.choose(store, kind, counted, sources)
        filters = {"admin_area": admin_area, "date_from": date_from, "date_to": date_to}
        result = bs.compare(store, kind, counted, chosen, **filters)
    except ValueError as exc:
        raise _bad_source(exc) from exc
    if access.principal.is_public:
        public = bs.public_view(bs.view(result) | {"estimate": None}, min_count)
        if public["suppressed"]:
            raise Forbidden("this chart is not published: it would show counts suppressed "
                            "to protect the people behind them")
    buffer = io.BytesIO()
    upset_chart(result, buffer, title=title, fmt=fmt)
    return buffer.getvalue()
