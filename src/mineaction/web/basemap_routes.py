# SPDX-License-Identifier: GPL-3.0-or-later
"""The basemap's tiles beyond the shipped Natural Earth ones (issue 21): the store's admin
areas with their names (`/web/api/basemap/admin/{z}/{x}/{y}.mvt`, web/admin_tiles.py)
and the user's own basemap file (`/web/api/basemap/user/info` and
`/web/api/basemap/user/{z}/{x}/{y}`, services/basemap_file.py). Thin: parse, call, shape.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from mineaction.http.deps import ServicesDep
from mineaction.services.basemap_file import (
    BasemapFileError,
    MBTiles,
    PMTiles,
    open_basemap_file,
)
from mineaction.web import admin_tiles
from mineaction.web.session import WhoDep

router = APIRouter(prefix="/web/api/basemap", include_in_schema=False)
MVT = "application/vnd.mapbox-vector-tile"


class UserBasemap:
    """The `basemap_file` setting's file, opened at the first request and kept; when it
    cannot be opened, why (the map then draws the shipped basemap)."""

    def __init__(self, setting: str | None) -> None:
        self.setting = setting
        self._opened: MBTiles | PMTiles | None = None
        self._error: str | None = None
        self._tried = False
        self._lock = threading.Lock()

    def get(self) -> tuple[MBTiles | PMTiles | None, str | None]:
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    self._opened = open_basemap_file(self.setting)
                except BasemapFileError as exc:
                    self._error = str(exc)
            return self._opened, self._error


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json",
                    status_code=status_code, headers={"Cache-Control": "no-store"})


def _no_tile() -> Response:
    return _json({"message": "no such tile"}, status_code=404)


@router.get("/admin/{z}/{x}/{y}.mvt")
def admin_tile(request: Request, svc: ServicesDep, who: WhoDep,
               z: Annotated[int, Path(ge=0, le=admin_tiles.MAX_ZOOM)],
               x: int, y: int) -> Response:
    if not (0 <= x < 1 << z and 0 <= y < 1 << z):
        return _no_tile()
    return admin_tile_answer(request, svc, who, z, x, y)


def admin_tile_answer(request: Request, svc: Any, who: Any, z: int, x: int, y: int
                      ) -> Response:
    """The admin areas' tile `who` may see, of a tile that exists (the route's and the
    fast lane's answer, web/fast_paths.py)."""
    cache: admin_tiles.AdminTileCache = request.app.state.web_admin_tiles
    data = cache.get(svc.store, svc.records.access(who)).tile(z, x, y)
    # Short: an admin area approved or edited shows within a minute.
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=60"})


@router.get("/user/info")
def user_info(request: Request) -> Response:
    opened, error = request.app.state.web_user_basemap.get()
    if opened is None:
        return _json({"message": error or "no basemap file is set (setting basemap_file)"},
                     status_code=404)
    body = opened.info.as_json()
    body["tiles"] = "/web/api/basemap/user/{z}/{x}/{y}"
    return _json(body)


@router.get("/user/{z}/{x}/{y}")
def user_tile(request: Request, z: Annotated[int, Path(ge=0, le=30)], x: int, y: int
              ) -> Response:
    opened, _ = request.app.state.web_user_basemap.get()
    tile = opened.tile(z, x, y) if opened is not None else None
    if tile is None:
        return _no_tile()
    headers = {"Cache-Control": "public, max-age=3600"}
    if tile.gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(tile.data, media_type=tile.media_type, headers=headers)
