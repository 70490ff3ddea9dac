# SPDX-License-Identifier: GPL-3.0-or-later
"""A record list as a file (issue 21, 5): the list page's download links. The list's own
filters, search and order (pages.py `browse_of`, as the list page builds its Browse),
the whole list rather than its page, as CSV, Excel, GeoJSON, GeoPackage or HXL-tagged
CSV, as the user sees it (services/browse.py export_list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mineaction.domain.registry import BY_COLLECTION
from mineaction.http.deps import ServicesDep
from mineaction.services import browse as browsing
from mineaction.services.errors import Invalid
from mineaction.web.pages import browse_of, error_page
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


@router.get("/download/{collection}.{fmt}")
def download_list(
    request: Request, svc: ServicesDep, who: WhoDep, collection: str, fmt: str,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    sort: Annotated[str, Query(max_length=40)] = "fid",
    desc: bool = False,
    admin_area: Annotated[str | None, Query(max_length=40)] = None,
    kind_value: Annotated[str | None, Query(alias="kind", max_length=40)] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    role: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    kind = BY_COLLECTION.get(collection)
    if kind is None:
        return error_page(request, who, 404, f"No collection {collection}.")
    access = svc.records.access(who)
    if not access.may_list(kind):
        return error_page(request, who, 403, f"{collection.capitalize()} are shown to the "
                          "public only as counts: see the dashboard.")
    b = browse_of(kind, q=q, status=status, sort=sort, desc=desc, admin_area=admin_area,
                  kind_value=kind_value, year=year, outcome=outcome, role=role)
    try:
        data, media, suffix, _ = browsing.export_list(svc.store, access, b, fmt)
    except Invalid as exc:
        return error_page(request, who, 422, exc.message)
    name = f"{collection}{'-hxl' if fmt == 'hxl' else ''}{suffix}"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
