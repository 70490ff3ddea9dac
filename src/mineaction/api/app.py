"""The HTTP API under /api/v1, mounted on the app by the app factory (mineaction/app.py):
one router per collection and resource, the fast lane, the body limit, the OpenAPI docs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction import __version__
from mineaction.api.lean import FastHandler, FastLane
from mineaction.domain.models import ENTITIES
from mineaction.http import errors
from mineaction.http.errors import PayloadTooLarge
from mineaction.services.settings import Settings

API = "/api/v1"
STATIC = Path(__file__).parent / "static"


class BodyLimit:
    """Refuse bodies over the limit with 413, by Content-Length up front and by counting
    for chunked uploads. Import uploads get their own, larger limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_bytes, self.max_upload = app, max_bytes, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = None, False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:
            # No body (HTTP/1.1 has one only with either header): nothing to count, as
            # for every GET, the API's busiest requests.
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope["path"].startswith(f"{API}/imports") else self.max_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            await errors.to_response(PayloadTooLarge(
                f"the request body is larger than {limit} bytes"))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, counted, send)


def mount_api(app: FastAPI, settings: Settings,
              fast_prefixed: dict[str, FastHandler] | None = None) -> None:
    """Add the API's routers, middleware and docs to `app` (its services are in
    `app.state.services`). `fast_prefixed`: handlers the fast lane gives the GETs whose
    path starts with their key, before FastAPI's routing (api/lean.py; the web map's
    tiles, web/fast_paths.py)."""
    from mineaction.api.routers import (
        audit,
        auth,
        checks,
        claims,
        imports,
        links,
        minefields,
        places,
        priorities,
        records,
        reports,
        risk,
        site_check,
        stats,
        tiles,
        users,
    )

    collections = [records.build_router(kind, settings.max_page_size,
                                        settings.default_page_size) for kind in ENTITIES]
    # The innermost middleware: plain GETs of collections and records (api/lean.py);
    # every middleware added after it (the body limit, anything later) wraps it.
    app.add_middleware(FastLane,  # type: ignore[arg-type]
                       collections=[c.fast for c in collections if c.fast is not None],
                       exact={f"{API}/site-check": site_check.check_point_plainly},
                       posted={f"{API}/site-check": site_check.check_site_plainly},
                       prefixed=fast_prefixed)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes,  # type: ignore[arg-type]
                       max_upload_bytes=settings.max_upload_bytes)

    # Before the collections: /places/search is not /places/{record_id} (issue 21).
    app.include_router(places.router, prefix=API)
    for router in collections:
        app.include_router(router, prefix=API)
    for module in (site_check, auth, users, imports, audit, stats, reports, links, checks,
                   minefields, risk, priorities, claims, tiles):
        app.include_router(module.router, prefix=API)
    # OGC API Features at /ogc, beside /api/v1 (issue 23, api/routers/ogc.py says why).
    from mineaction.api.routers import ogc

    app.include_router(ogc.router)

    @app.get(API, tags=["meta"], summary="Landing: the collections and links")
    def landing() -> dict[str, Any]:
        return {"title": "mineaction API", "version": __version__,
                "collections": [f"{API}/{records.COLLECTIONS[k]}" for k in ENTITIES],
                "links": [{"rel": "service-desc", "href": f"{API}/openapi.json"},
                          {"rel": "service-doc", "href": f"{API}/docs"}]}

    @app.get(f"{API}/health", tags=["meta"], summary="Liveness and store reachability")
    def health() -> dict[str, Any]:
        return {"ok": True, "store": app.state.services.store.dialect,
                "schema_version": app.state.services.store.schema_version()}

    if settings.docs_enabled:
        app.mount(f"{API}/static", StaticFiles(directory=STATIC), name="static")

        @app.get(f"{API}/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=f"{API}/openapi.json", title="mineaction API",
                swagger_js_url=f"{API}/static/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{API}/static/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{API}/static/swagger-ui/favicon-32x32.png")
