# SPDX-License-Identifier: GPL-3.0-or-later
"""A basemap file the user supplies (issue 21): an MBTiles file (SQLite; tiles in table
`tiles` with TMS rows, y counted from the south; metadata in `metadata`), vector (`pbf`)
or raster (`png`, `jpg`, `webp`), e.g. an OpenStreetMap extract of the country made with
tilemaker or downloaded for offline use. The setting `basemap_file` names it; the map
draws it instead of the shipped Natural Earth basemap.

Or a PMTiles file (version 3: one file of a header, directories and tiles, e.g. a
Protomaps extract), read with the `pmtiles` library's directory decoding; its directories
are kept once read, so a tile costs a binary search and one read of the file.

The file is opened read-only (`mode=ro`), so a file being replaced is never written to;
a tile outside the pyramid or missing is `None` (the router answers 404), never an error.
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


# PMTiles' tile types, as MBTiles' format names (MLT and AVIF are not drawn by the map).
_PMTILES_FORMATS = {1: "pbf", 2: "png", 3: "jpg", 4: "webp"}


class PMTiles:
    """A PMTiles (v3) file, with the same face as MBTiles: `info`, `tile(z, x, y)`."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BasemapFileError(f"basemap file {path}: no such file")
        self.path = path
        self._file = path.open("rb")
        self._lock = threading.Lock()
        self._directories: dict[tuple[int, int], list[Any]] = {}
        try:  # a file refused is closed, whatever refused it
            self.header = self._servable_header()
            meta = self._metadata()
        except BaseException:
            self._file.close()
            raise
        header = self.header
        # The header is the format's word on type, zooms and extent; the metadata on names.
        meta["format"] = _PMTILES_FORMATS[header["tile_type"].value]
        meta["minzoom"], meta["maxzoom"] = str(header["min_zoom"]), str(header["max_zoom"])
        meta["bounds"] = ",".join(str(v / 1e7) for v in (
            header["min_lon_e7"], header["min_lat_e7"], header["max_lon_e7"],
            header["max_lat_e7"]))
        self._gzipped = header["tile_compression"].name == "GZIP"
        self.info = _info(path, meta)

    def _servable_header(self) -> Any:
        """The file's header, refused (BasemapFileError, saying why) unless the map can draw
        its tiles: version 3, gzip directories, a tile type and compression browsers take."""
        from pmtiles.tile import Compression, deserialize_header

        path = self.path
        try:
            header = deserialize_header(self._read(0, 127))
        except Exception as exc:  # noqa: BLE001 -- any decoding failure: not a PMTiles file
            raise BasemapFileError(f"basemap file {path}: not a PMTiles file ({exc})") from exc
        if header["version"] != 3 or header["internal_compression"] != Compression.GZIP:
            raise BasemapFileError(
                f"basemap file {path}: PMTiles version {header['version']} with "
                f"{header['internal_compression'].name.lower()} directories; this reads "
                "version 3 with gzip directories (what tippecanoe and pmtiles write)")
        if header["tile_type"].value not in _PMTILES_FORMATS:
            raise BasemapFileError(f"basemap file {path}: tiles of type "
                                   f"{header['tile_type'].name} cannot be drawn")
        if header["tile_compression"] not in (Compression.GZIP, Compression.NONE):
            raise BasemapFileError(f"basemap file {path}: tiles compressed with "
                                   f"{header['tile_compression'].name.lower()}; "
                                   "browsers take gzip or none")
        return header

    def _read(self, offset: int, length: int) -> bytes:
        with self._lock:
            self._file.seek(offset)
            return self._file.read(length)

    def _metadata(self) -> dict[str, str]:
        import gzip

        raw = self._read(self.header["metadata_offset"], self.header["metadata_length"])
        try:
            found = json.loads(gzip.decompress(raw)) if raw else {}
        except (OSError, ValueError) as exc:
            raise BasemapFileError(f"basemap file {self.path}: metadata: {exc}") from exc
        # As MBTiles keeps it: text values, the vector layers as the `json` entry.
        meta = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in
                found.items() if k != "vector_layers"} if isinstance(found, dict) else {}
        if isinstance(found, dict) and "vector_layers" in found:
            meta["json"] = json.dumps({"vector_layers": found["vector_layers"]})
        return meta

    def _directory(self, offset: int, length: int) -> list[Any]:
        from pmtiles.tile import deserialize_directory

        key = (offset, length)
        entries = self._directories.get(key)
        if entries is None:
            entries = deserialize_directory(self._read(offset, length))
            if len(self._directories) > 4096:  # leaves of a planet: keep memory bounded
                self._directories.clear()
            self._directories[key] = entries
        return entries

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """Tile z/x/y (XYZ, y from the north) or None."""
        from pmtiles.tile import find_tile, zxy_to_tileid

        if not (0 <= z <= MAX_ZOOM and 0 <= x < 1 << z and 0 <= y < 1 << z):
            return None
        tile_id = zxy_to_tileid(z, x, y)
        header = self.header
        offset, length = header["root_offset"], header["root_length"]
        for _ in range(4):  # the format's deepest directory tree
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                data = self._read(header["tile_data_offset"] + entry.offset, entry.length)
                return Tile(data, MEDIA_TYPES[self.info.format], self._gzipped)
            offset, length = header["leaf_directory_offset"] + entry.offset, entry.length
        return None

    def close(self) -> None:
        self._file.close()


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


def open_basemap_file(setting: str | None) -> MBTiles | PMTiles | None:
    """The setting's file, or None when unset. Raises BasemapFileError when set to
    something that is not an MBTiles or PMTiles file (told apart by their first bytes)."""
    if not setting:
        return None
    path = Path(setting).expanduser()
    if path.is_file():
        with path.open("rb") as f:
            if f.read(7) == b"PMTiles":
                return PMTiles(path)
    return MBTiles(path)
