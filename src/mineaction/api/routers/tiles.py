# SPDX-License-Identifier: GPL-3.0-or-later
"""Vector tiles of every layer for GIS clients (issue 23, 2): `GET /tiles` lists the
TileJSON of each collection the asker may list, `GET /tiles/{collection}.json` is one
(QGIS: Layer > Add Layer > Vector Tile Layer, "Style URL" or the tiles template), and
`GET /tiles/{collection}/{z}/{x}/{y}.mvt` the tiles themselves. Thin: services/
vector_tiles.py reads through the asker's access, as the records API does."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services import vector_tiles

router = APIRouter(prefix="/tiles", tags=["vector tiles"], responses=ERROR_RESPONSES)
MVT = "application/vnd.mapbox-vector-tile"
Collection = Annotated[str, Path(max_length=40, pattern=r"^[a-z_-]+$")]
Zoom = Annotated[int, Path(ge=0, le=vector_tiles.MAX_ZOOM)]
Index = Annotated[int, Path(ge=0, le=(1 << vector_tiles.MAX_ZOOM) - 1)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("", summary="The vector tile sets you may read, one TileJSON each")
def tile_sets(request: Request, svc: ServicesDep, who: PrincipalDep) -> dict[str, Any]:
    base = _base(request)
    return {"tilesets": [{"collection": c, "tilejson": f"{base}/api/v1/tiles/{c}.json"}
                         for c in vector_tiles.collections(svc.records, who)]}


@router.get("/{collection}.json", summary="TileJSON 3.0.0 of a collection's vector tiles")
def tilejson(request: Request, svc: ServicesDep, who: PrincipalDep,
             collection: Collection) -> dict[str, Any]:
    return vector_tiles.tilejson(svc.records, who, collection, _base(request))


@router.get("/{collection}/{z}/{x}/{y}.mvt", summary="A vector tile of a collection",
            response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "Mapbox Vector Tile 2.1; "
                             "header X-Tile-Truncated: true when the tile holds only the "
                             "first records (zoom in)"}})
async def vector_tile(svc: ServicesDep, who: PrincipalDep, collection: Collection, z: Zoom,
                      x: Index, y: Index) -> Response:
    made = await anyio.to_thread.run_sync(vector_tiles.tile, svc.records, who, collection,
                                          z, x, y)
    headers = {"Cache-Control": "private, no-cache"}
    if made.truncated:
        headers["X-Tile-Truncated"] = "true"
    return Response(made.data, media_type=MVT, headers=headers)
