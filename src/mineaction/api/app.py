"""The app factory: nothing (app, engine, settings) is built at import time.

`create_app()` with no arguments reads settings from the environment and config file, as
`uvicorn --factory mineaction.api.app:create_app` and `mineaction serve --workers N` need;
tests pass settings and an open store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction import __version__
from mineaction.api import errors
from mineaction.api.errors import PayloadTooLarge
from mineaction.api.imports import ImportJobs
from mineaction.api.lean import FastLane, LanedFastAPI
from mineaction.api.records import Records
from mineaction.api.services import LoginLimiter, Services
from mineaction.api.settings import Settings, load_settings
from mineaction.audit.log import attach
from mineaction.auth.roles import Policy
from mineaction.auth.schema import ensure_server_tables
from mineaction.auth.users import UserDirectory
from mineaction.domain.models import ENTITIES
from mineaction.store.base import Store

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
        limit = self.max_upload if scope["path"].startswith(f"{API}/imports") else self.max_bytes
        length = dict(scope["headers"]).get(b"content-length")
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


def build_services(settings: Settings, store: Store | None = None) -> Services:
    owns = store is None
    if store is None:
        from mineaction.store import open_store

        # One pooled connection per request thread, and two for background work
        # (import jobs), so no request pays for opening a connection.
        store = open_store(settings.store, pool_size=settings.threads + 2)
    ensure_server_tables(store)
    attach(store)
    hasher = PasswordHasher(time_cost=settings.argon2_time_cost,
                            memory_cost=settings.argon2_memory_kib)
    policy = Policy(organisation_scoping=settings.organisation_scoping,
                    cross_organisation_visibility=settings.cross_organisation_visibility)
    return Services(
        settings=settings, store=store, users=UserDirectory(store, hasher),
        records=Records(store, policy, settings.public_location_decimals),
        jobs=ImportJobs(store, settings.upload_dir, settings.max_upload_bytes),
        limiter=LoginLimiter(settings.login_attempts, settings.login_window_seconds),
        owns_store=owns)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or load_settings()
    services = build_services(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in anyio's thread pool (40 threads by default); each holds a
        # pooled connection, so more threads than connections would time out on the pool.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        services.close()

    app = LanedFastAPI(
        title="mineaction API", version=__version__, lifespan=lifespan,
        description="Humanitarian mine action records: hazards, land release, accidents, "
        "victims, risk education. Lists filter by bbox, distance, admin area, dates, status "
        "and kind, page by cursor, and answer JSON or GeoJSON. Edits need If-Match; stale "
        "ones get 412 with the current record.",
        openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.services = services
    errors.install(app)

    from mineaction.api.routers import audit, auth, imports, records, reports, stats, users

    collections = [records.build_router(kind, settings.max_page_size,
                                        settings.default_page_size) for kind in ENTITIES]
    # In front of the app: plain GETs of collections and records (api/lean.py).
    app.lane = FastLane([c.fast for c in collections if c.fast is not None])
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes,  # type: ignore[arg-type]
                       max_upload_bytes=settings.max_upload_bytes)

    for router in collections:
        app.include_router(router, prefix=API)
    for module in (auth, users, imports, audit, stats, reports):
        app.include_router(module.router, prefix=API)

    @app.get(API, tags=["meta"], summary="Landing: the collections and links")
    def landing() -> dict[str, Any]:
        return {"title": "mineaction API", "version": __version__,
                "collections": [f"{API}/{records.COLLECTIONS[k]}" for k in ENTITIES],
                "links": [{"rel": "service-desc", "href": f"{API}/openapi.json"},
                          {"rel": "service-doc", "href": f"{API}/docs"}]}

    @app.get(f"{API}/health", tags=["meta"], summary="Liveness and store reachability")
    def health() -> dict[str, Any]:
        return {"ok": True, "store": services.store.dialect,
                "schema_version": services.store.schema_version()}

    if settings.docs_enabled:
        app.mount(f"{API}/static", StaticFiles(directory=STATIC), name="static")

        @app.get(f"{API}/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=f"{API}/openapi.json", title="mineaction API",
                swagger_js_url=f"{API}/static/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{API}/static/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{API}/static/swagger-ui/favicon-32x32.png")

    # The web application (issue 4) is served by the same app, at /.
    from mineaction.web import mount_web

    mount_web(app, settings)
    return app
