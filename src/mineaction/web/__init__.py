"""The web application: map, records, data entry, imports and dashboard (issue 4).

Server-rendered pages (Jinja2) with small ES modules and no build step; the browser talks
to the same /api/v1 the scripts use, signed in by the API's session cookie. Every front-end
file is vendored under static/ with its licence: nothing loads from a CDN, so a laptop
with no internet runs it all.

The API's app factory calls `mount_web(app, settings)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).parent
STATIC = WEB / "static"


def mount_web(app: FastAPI, settings: Any) -> None:
    """Add the web pages, their JSON helpers and static files to the API's app."""
    from mineaction.web import (
        admin_tiles,
        approvals,
        basemap,
        basemap_routes,
        checks,
        claims,
        endpoints,
        i18n,
        list_export,
        minefields,
        pages,
        priorities,
        reports,
        review,
        saved_searches,
        site_check,
        tiles,
    )

    app.state.web_settings = pages.web_settings(settings)
    app.state.web_layers = tiles.LayerCache()
    basemap.warm_up()
    # The detail basemap's admin areas and the user's basemap file (#21).
    app.state.web_admin_tiles = admin_tiles.AdminTileCache()
    app.state.web_user_basemap = basemap_routes.UserBasemap(getattr(settings, "basemap_file", None))
    app.include_router(basemap_routes.router)
    app.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(endpoints.router)
    app.include_router(pages.router)
    app.include_router(review.router)
    app.include_router(approvals.router)
    app.include_router(saved_searches.router)  # a records list's filters kept by name (#21)
    app.include_router(minefields.router)
    app.include_router(checks.router)
    app.include_router(claims.router)
    app.include_router(site_check.router)
    app.include_router(priorities.router)
    # Field entry (#21): an accident saved with its victims; attachments of any record.
    from mineaction.web import accident_entry, attachments, offline

    app.include_router(accident_entry.router)
    app.include_router(attachments.router)
    app.include_router(offline.router)  # drafts kept offline: the forms' service worker
    app.include_router(reports.router)
    app.include_router(list_export.router)
    app.include_router(i18n.router)  # the header's language menu (issue 22)
