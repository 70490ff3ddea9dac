"""The map's tiles without FastAPI's routing (issue 21).

A move of the map asks for a dozen tiles at once, of three sources (the basemap, the
admin areas, the records' layer). Each costs the server about 1 ms, and 40% of that was
FastAPI finding the route: it tries the API's routes first, one by one, and the web's
come after them all (py-spy on `bench/web_bench.py`'s server). The answers themselves are
read from caches. On a machine where the browser and the server share two cores, the
last tile of a move waited for the others' routing.

So plain tile requests are answered here, through the API's fast lane (api/lean.py
`FastLane`, which `mineaction.app` gives these handlers by path prefix), by the routes'
own answers (`basemap_tile_answer`, `admin_tile_answer`, `layer_tile_answer`: the same
access, caches and headers), on the thread pool as the routes run. A handler reads only
a plain request (z, x and y as small decimal numbers within the tile grid, and for a
layer's tiles no query but its `v`); for anything else it returns None, and the request
goes on to FastAPI's route, validation errors and all. tests/api/test_web_fast_tiles.py
asks both ways and compares the answers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio.to_thread
from fastapi import Request, Response
from starlette._utils import get_route_path

from mineaction.web import admin_tiles, basemap, tiles
from mineaction.web.basemap_routes import admin_tile_answer
from mineaction.web.endpoints import basemap_tile_answer, layer_tile_answer, map_filters
from mineaction.web.session import page_principal

# z/x/y as the routes' paths give them, small plain decimals only.
_ZXY = re.compile(r"([0-9]{1,2})/([0-9]{1,7})/([0-9]{1,7})\.mvt")
_LAYER = re.compile(r"([a-z_]{1,40})/([0-9]{1,2})/([0-9]{1,7})/([0-9]{1,7})\.mvt")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")

BASEMAP = "/web/api/basemap/"
LAYER_TILES = "/web/api/tiles/"


def _tile(zxy: tuple[str, ...], max_zoom: int) -> tuple[int, int, int] | None:
    """z, x, y (as the path gives them) when the tile exists in the grid up to
    `max_zoom`, else None (the route answers 404 or 422 for those)."""
    zi, xi, yi = (int(v) for v in zxy)
    if zi > max_zoom or xi >= 1 << zi or yi >= 1 << zi:
        return None
    return zi, xi, yi


async def basemap_tile(request: Request) -> Response | None:
    """`/web/api/basemap/{z}/{x}/{y}.mvt` and `/web/api/basemap/admin/{z}/{x}/{y}.mvt`,
    answered as endpoints.basemap_tile and basemap_routes.admin_tile answer them."""
    if request.scope["query_string"]:
        return None
    rest = get_route_path(request.scope)[len(BASEMAP):]
    admin = rest.startswith("admin/")
    match = _ZXY.fullmatch(rest[len("admin/"):] if admin else rest)
    if match is None:
        return None
    zxy = _tile(match.groups(), admin_tiles.MAX_ZOOM if admin else basemap.MAX_ZOOM)
    if zxy is None:
        return None
    if not admin:
        return await anyio.to_thread.run_sync(basemap_tile_answer, *zxy)
    svc = request.app.state.services

    def admin_tile() -> Response:
        return admin_tile_answer(request, svc, page_principal(request, svc), *zxy)

    return await anyio.to_thread.run_sync(admin_tile)


async def layer_tile(request: Request) -> Response | None:
    """`/web/api/tiles/{layer}/{z}/{x}/{y}.mvt?v=...` without filters, answered as
    endpoints.layer_tile answers it."""
    match = _LAYER.fullmatch(get_route_path(request.scope)[len(LAYER_TILES):])
    if match is None or match.group(1) not in tiles.DEPENDS:
        return None
    raw = request.scope["query_string"].decode("latin-1")
    name, _, token = raw.partition("=")
    if name != "v" or not _TOKEN.fullmatch(token):
        return None
    zxy = _tile(match.groups()[1:], tiles.MAX_ZOOM)
    if zxy is None:
        return None
    layer = match.group(1)
    svc = request.app.state.services

    def layer_tile() -> Response:
        return layer_tile_answer(request, svc, page_principal(request, svc), layer,
                                 map_filters(), token, *zxy)

    return await anyio.to_thread.run_sync(layer_tile)


# By path prefix, for the fast lane.
HANDLERS: dict[str, Callable[[Request], Awaitable[Response | None]]] = {
    BASEMAP: basemap_tile, LAYER_TILES: layer_tile}
