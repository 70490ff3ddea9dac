# SPDX-License-Identifier: GPL-3.0-or-later
"""The field forms' service worker (issue 21, 3: drafts kept offline). A service worker
controls only pages under its own path unless the server allows more: served from
/web/field-sw.js with `Service-Worker-Allowed: /records/`, it may keep the record forms
(/records/<collection>/new) usable without a network. What it keeps, and why no page
with a record's data, is said in static/js/field_sw.js."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from mineaction.web import STATIC

router = APIRouter(include_in_schema=False)


@router.get("/web/field-sw.js")
def field_service_worker() -> FileResponse:
    return FileResponse(STATIC / "js" / "field_sw.js", media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/records/",
                                 # a new worker is picked up on the next visit
                                 "Cache-Control": "no-cache"})
