"""The app factory: the API and the web application over one set of services. Nothing
(app, engine, settings) is built at import time.

`create_app()` with no arguments reads settings from the environment and config file, as
`uvicorn --factory mineaction.app:create_app` and `mineaction serve --workers N` need;
tests pass settings and an open store. The composition root: the only module that knows
both api/ and web/, which never import each other (issue 14).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from mineaction import __version__
from mineaction.api.app import API, mount_api
from mineaction.api.serving import CloseOverShare
from mineaction.http import errors
from mineaction.http.guard import Guard
from mineaction.services.container import build_services
from mineaction.services.settings import Settings, load_settings
from mineaction.store.base import Store
from mineaction.web import fast_paths as web_fast_paths
from mineaction.web import mount_web


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

    # FastAPI's native OpenTelemetry asks for providers on every request (12 µs, more
    # than a GET by id's own Python): only when the operator wants it.
    telemetry = settings.opentelemetry
    app = FastAPI(
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
        title="mineaction API", version=__version__, lifespan=lifespan,
        description="Humanitarian mine action records: hazards, land release, accidents, "
        "victims, risk education. Lists filter by bbox, distance, admin area, dates, status "
        "and kind, page by cursor, and answer JSON or GeoJSON. Edits need If-Match; stale "
        "ones get 412 with the current record.",
        openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    # The map's tiles skip FastAPI's routing (web/fast_paths.py says why).
    mount_api(app, settings, fast_prefixed=web_fast_paths.HANDLERS)
    # The web application (issue 4) is served by the same app, at /.
    mount_web(app, settings)
    # Added (nearly) last, so it is outside every other: every answer passes it.
    app.add_middleware(Guard, hsts=settings.cookie_secure)  # type: ignore[arg-type]
    # With several workers, one holding more than its share of the keep-alive
    # connections closes one after its answer (api/serving.py says why).
    app.add_middleware(CloseOverShare)  # type: ignore[arg-type]
    return app
