# SPDX-License-Identifier: GPL-3.0-or-later
"""Vector tiles of every layer for GIS clients (issue 23, 2): XYZ Mapbox Vector Tiles of
each kind of record that has a place, and a TileJSON describing them, for QGIS's
"Vector Tiles" connections, MapLibre or any client of the spec.

A tile holds the records of its kind that the asker may list, as the records API lists
them (`Records.list`: the same Access, the same hidden fields, the public's places
generalised, a read of personal data logged), cut to the tile and its buffer, with their
plain fields as properties. The web map's own tiles (web/tiles.py) cluster accidents for
drawing; these carry every record, for analysis: a tile holds at most MAX_FEATURES, the
first by fid, and says when it was cut short (the client should zoom in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mineaction.access.roles import Principal
from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import BY_COLLECTION, REGISTRY
from mineaction.geo import mvt
from mineaction.services.errors import NotFoundError
from mineaction.services.records import ListParams, Records

MAX_ZOOM = 22
MAX_FEATURES = 20_000  # records one tile holds


@dataclass(frozen=True)
class Tile:
    data: bytes
    features: int
    truncated: bool


def spatial_kind(collection: str) -> str:
    """The kind of a collection that has places, or NotFoundError."""
    kind = BY_COLLECTION.get(collection)
    if kind is None or geometry_column(ENTITIES[kind]) is None:
        raise NotFoundError(f"no vector tiles for {collection!r}: a collection of records "
                            "with places, please")
    return kind


def collections(records: Records, p: Principal) -> list[str]:
    """The collections with places whose records `p` may list."""
    access = records.access(p)
    return [REGISTRY[k].collection for k, m in ENTITIES.items()
            if geometry_column(m) is not None and access.may_list(k)]


def _property(value: Any) -> Any:
    """A record's field as a tile property: numbers, text and booleans as they are, lists
    and objects as JSON text, nothing for an empty value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def tile(records: Records, p: Principal, collection: str, z: int, x: int, y: int) -> Tile:
    """Tile z/x/y of `collection` as `p` may see it (the module says what it holds)."""
    import shapely
    from shapely.geometry import shape

    kind = spatial_kind(collection)
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 1 << z and 0 <= y < 1 << z):
        raise NotFoundError(f"no tile {z}/{x}/{y}")
    rows, _ = records.list(p, kind, ListParams(
        bbox=mvt.tile_lonlat(z, x, y, mvt.BUFFER), limit=MAX_FEATURES + 1))
    truncated = len(rows) > MAX_FEATURES
    rows = rows[:MAX_FEATURES]
    enc = mvt.LayerEncoder()
    n = 1 << z
    rect = mvt.tile_rect(z, x, y, mvt.BUFFER)
    out: list[bytes] = []
    for row in rows:
        geojson = row.get("geometry")
        if not geojson:
            continue
        world = mvt.to_world(shape(geojson))
        props = [(k, v) for k, v in ((k, _property(v)) for k, v in row.items()
                                     if k != "geometry") if v is not None]
        if world.geom_type == "Point":
            if not (rect[0] <= world.x < rect[2] and rect[1] <= world.y < rect[3]):
                continue
            out.append(enc.point(props, world.x * n - x, world.y * n - y))
        elif world.geom_type == "MultiPoint":
            for part in shapely.get_parts(world):
                if rect[0] <= part.x < rect[2] and rect[1] <= part.y < rect[3]:
                    out.append(enc.point(props, part.x * n - x, part.y * n - y))
        else:
            feature = mvt.encode_shape(enc, props, world, rect, n, x, y)
            if feature is not None:
                out.append(feature)
    return Tile(enc.tile(collection, out), len(out), truncated)


def tilejson(records: Records, p: Principal, collection: str, base_url: str
             ) -> dict[str, Any]:
    """TileJSON 3.0.0 of a collection's tiles: the template, zooms and its fields as
    `p` sees them (hidden fields are not listed)."""
    kind = spatial_kind(collection)
    access = records.access(p)
    if not access.may_list(kind):
        from mineaction.services.errors import Forbidden

        raise Forbidden(f"the public sees {collection} only as aggregates")
    hidden = access.hidden(kind)
    fields: dict[str, str] = {}
    for name, info in ENTITIES[kind].model_fields.items():
        if name in hidden or name == "geometry":
            continue
        annotation = str(info.annotation)
        fields[name] = ("Number" if any(t in annotation for t in ("int", "float"))
                        else "Boolean" if "bool" in annotation else "String")
    return {"tilejson": "3.0.0", "name": collection,
            "description": f"mineaction {collection}, as you may see them",
            "tiles": [f"{base_url}/api/v1/tiles/{collection}/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": 0, "maxzoom": MAX_ZOOM, "bounds": [-180, -85.0511, 180, 85.0511],
            "vector_layers": [{"id": collection, "fields": fields, "minzoom": 0,
                               "maxzoom": MAX_ZOOM}]}
