"""The map's tiles without FastAPI's routing (issue 21).

A move of the map asks for a dozen tiles at once, of three sources (the basemap, the
admin areas, the records' layer). Each costs the server about 1 ms, and 40% of that was
FastAPI finding the route: it tries the API's routes first, one by one, and the web's
come after them all (py-spy on `bench/web_bench.py`'s server). The answers themselves are
read from caches. On a machine where the browser and the server share two cores, the
last tile of a move waited for the others' routing.

So plain tile requests are answered here, through the API's fast lane (api/lean.py
`FastLane`, which `mineaction.app` gives these handlers by path prefix): the same
functions and headers as the routes in endpoints.py and basemap_routes.py, on the thread
pool as the routes run. A handler reads only a plain request (z, x and y as small
decimal numbers within the tile grid, and for a layer's tiles no query but its `v`); for
anything else it returns None, and the request goes on to FastAPI's route, validation
errors and all. tests/web/test_fast_tiles.py asks both ways and compares the answers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio.to_thread
from fastapi import Request, Response
from starlette._utils import get_route_path

from mineaction.web import admin_tiles, basemap, tiles
from mineaction.web.basemap_routes import MVT
from mineaction.web.endpoints import map_filters
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


def _mvt(body: bytes, cache_control: str) -> Response:
    return Response(body, media_type=MVT, headers={"Cache-Control": cache_control})


async def basemap_tile(request: Request) -> Response | None:
    """`/web/api/basemap/{z}/{x}/{y}.mvt` and `/web/api/basemap/admin/{z}/{x}/{y}.mvt`,
    as endpoints.basemap_tile and basemap_routes.admin_tile answer them."""
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
        body = await anyio.to_thread.run_sync(basemap.basemap().tile, *zxy)
        return _mvt(body, "public, max-age=86400")
    svc = request.app.state.services
    cache: admin_tiles.AdminTileCache = request.app.state.web_admin_tiles

    def admin_tile() -> bytes:
        access = svc.records.access(page_principal(request, svc))
        return cache.get(svc.store, access).tile(*zxy)

    # Short: an admin area approved or edited shows within a minute (as the route).
    return _mvt(await anyio.to_thread.run_sync(admin_tile), "private, max-age=60")


async def layer_tile(request: Request) -> Response | None:
    """`/web/api/tiles/{layer}/{z}/{x}/{y}.mvt?v=...` without filters, as
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
    cache: tiles.LayerCache = request.app.state.web_layers

    def layer_tile() -> Response:
        access = svc.records.access(page_principal(request, svc))
        index = cache.get(svc.store, access, layer, map_filters(), token)
        # A tile of the index its URL names never changes; a newer one's must not be kept.
        keep = "private, max-age=3600" if index.token == token else "no-store"
        return _mvt(tiles.tile(index, *zxy), keep)

    return await anyio.to_thread.run_sync(layer_tile)


# By path prefix, for the fast lane.
HANDLERS: dict[str, Callable[[Request], Awaitable[Response | None]]] = {
    BASEMAP: basemap_tile, LAYER_TILES: layer_tile}
