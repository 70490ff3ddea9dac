"""Geometry as a pydantic field type: shapely inside, GeoJSON at the edges.

Coordinates are always WGS84 lon/lat (EPSG:4326), as docs/design.md requires; the user's original
entry (DMS, UTM, MGRS ...) is kept in a separate text field by whoever parsed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

# shapely (and numpy under it) loads when a geometry is first read or written, not when the
# domain is imported: commands that never touch a geometry (`mineaction info`) start faster
# (issue 16, item 12).


@dataclass(frozen=True)
class GeometryKind:
    """Marks a field as geometry and says which OGC types it takes.

    `store_type` is the column type declared in the stores (GeoPackage geometry_type_name,
    PostGIS typmod): MULTIPOLYGON for areas so that polygons and multipolygons share a
    column, GEOMETRY where points and polygons are both allowed (spot hazards)."""

    store_type: str
    accepts: tuple[str, ...]


def _to_shapely(value: Any) -> BaseGeometry | None:
    if value is None:
        return None
    import shapely
    from shapely.geometry import shape
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, dict):
        try:
            return shape(value)
        except (KeyError, TypeError, ValueError, AttributeError,
                shapely.errors.GeometryTypeError) as exc:
            raise ValueError(f"not a GeoJSON geometry: {exc}") from exc
    if isinstance(value, str):
        try:
            return shapely.from_wkt(value)
        except shapely.errors.GEOSException as exc:
            raise ValueError(f"not WKT: {exc}") from exc
    if isinstance(value, bytes):
        return shapely.from_wkb(value)
    raise ValueError(f"cannot read a geometry from {type(value).__name__}")


def _to_geojson(value: BaseGeometry | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from shapely.geometry import mapping

    return dict(mapping(value))


_GEOJSON_SCHEMA = {
    "type": "object",
    "description": "GeoJSON geometry (RFC 7946), WGS84 longitude/latitude",
    "properties": {"type": {"type": "string"}, "coordinates": {"type": "array"}},
    "required": ["type"],
}


def geometry_field(store_type: str, *accepts: str) -> Any:
    """An annotated optional geometry type for a pydantic field."""
    return Annotated[
        Any,  # shapely geometry or None; PlainValidator does the conversion
        GeometryKind(store_type, accepts),
        PlainValidator(_to_shapely),
        PlainSerializer(_to_geojson,
                        return_type=dict[str, Any] | None),  # type: ignore[arg-type, unused-ignore]
        WithJsonSchema(_GEOJSON_SCHEMA),
    ]


PointGeometry = geometry_field("POINT", "Point")
AreaGeometry = geometry_field("MULTIPOLYGON", "Polygon", "MultiPolygon")
PointOrAreaGeometry = geometry_field("GEOMETRY", "Point", "Polygon", "MultiPolygon")
LineGeometry = geometry_field("LINESTRING", "LineString")
