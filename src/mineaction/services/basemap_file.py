# SPDX-License-Identifier: GPL-3.0-or-later
"""A basemap file the user supplies (issue 21): an MBTiles file (SQLite; tiles in table
`tiles` with TMS rows, y counted from the south; metadata in `metadata`), vector (`pbf`)
or raster (`png`, `jpg`, `webp`), e.g. an OpenStreetMap extract of the country made with
tilemaker or downloaded for offline use. The setting `basemap_file` names it; the map
draws it instead of the shipped Natural Earth basemap.

The file is opened read-only (`mode=ro`), so a file being replaced is never written to;
a tile outside the pyramid or missing is `None` (the router answers 404), never an error.
PMTiles is not read (yet): convert it with `pmtiles convert file.pmtiles file.mbtiles`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MVT = "application/vnd.mapbox-vector-tile"
MEDIA_TYPES = {"pbf": MVT, "mvt": MVT, "png": "image/png", "jpg": "image/jpeg",
               "jpeg": "image/jpeg",
               "webp": "image/webp"}
MAX_ZOOM = 24


class BasemapFileError(ValueError):
    """The file named by `basemap_file` cannot be served (the message says why)."""


@dataclass(frozen=True)
class Tile:
    data: bytes
    media_type: str
    gzipped: bool


@dataclass(frozen=True)
class BasemapInfo:
    """What the map needs to draw the file: its format, zooms, extent and attribution;
    for vector tiles the layers it holds (the MBTiles `json` metadata's vector_layers)."""

    format: str
    vector: bool
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None
    attribution: str
    name: str
    vector_layers: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format, "vector": self.vector, "minzoom": self.minzoom,
                "maxzoom": self.maxzoom, "bounds": list(self.bounds) if self.bounds else None,
                "attribution": self.attribution, "name": self.name,
                "vector_layers": list(self.vector_layers)}


class MBTiles:
    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BasemapFileError(f"basemap file {path}: no such file")
        self.path = path
        try:
            self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                         check_same_thread=False)
            rows = self._conn.execute("SELECT name, value FROM metadata").fetchall()
            self._conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data "
                               "FROM tiles LIMIT 0").fetchall()
        except sqlite3.DatabaseError as exc:
            raise BasemapFileError(f"basemap file {path}: not an MBTiles file ({exc})") from exc
        self._lock = threading.Lock()
        self.info = _info(path, {str(k): str(v) for k, v in rows})

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """Tile z/x/y (XYZ, y from the north, as the map asks) or None."""
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 1 << z and 0 <= y < 1 << z):
            return None
        row = (1 << z) - 1 - y  # MBTiles rows are TMS: counted from the south
        with self._lock:
            found = self._conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?", (z, x, row)).fetchone()
        if found is None or not isinstance(found[0], bytes):
            return None
        data: bytes = found[0]
        return Tile(data, MEDIA_TYPES[self.info.format], data[:2] == b"\x1f\x8b")

    def close(self) -> None:
        self._conn.close()


def _info(path: Path, meta: dict[str, str]) -> BasemapInfo:
    fmt = meta.get("format", "png").lower()
    if fmt not in MEDIA_TYPES:
        raise BasemapFileError(f"basemap file {path}: format {fmt!r} is not one of "
                               f"{', '.join(sorted(MEDIA_TYPES))}")
    layers: tuple[str, ...] = ()
    if "json" in meta:
        try:
            described = json.loads(meta["json"])
            layers = tuple(str(v["id"]) for v in described.get("vector_layers", [])
                           if isinstance(v, dict) and "id" in v)
        except (ValueError, AttributeError, TypeError) as exc:
            raise BasemapFileError(f"basemap file {path}: metadata json: {exc}") from exc
    return BasemapInfo(format=fmt, vector=fmt in ("pbf", "mvt"),
                       minzoom=_int(meta.get("minzoom"), 0), maxzoom=_int(meta.get("maxzoom"), 14),
                       bounds=_bounds(meta.get("bounds")),
                       attribution=meta.get("attribution", ""), name=meta.get("name", path.stem),
                       vector_layers=layers)


def _int(text: str | None, default: int) -> int:
    try:
        return max(0, min(MAX_ZOOM, int(text))) if text is not None else default
    except ValueError:
        return default


def _bounds(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        parts = [float(v) for v in (text or "").split(",")]
    except ValueError:
        return None
    if len(parts) != 4:
        return None
    return (parts[0], parts[1], parts[2], parts[3])


def open_basemap_file(setting: str | None) -> MBTiles | None:
    """The setting's file, or None when unset. Raises BasemapFileError when set to
    something that is not an MBTiles file."""
    if not setting:
        return None
    path = Path(setting).expanduser()
    if path.suffix.lower() == ".pmtiles":
        raise BasemapFileError(f"basemap file {path}: PMTiles is not read yet; convert it "
                               "to MBTiles (pmtiles convert)")
    return MBTiles(path)
