"""What the web pages show beyond the services: coordinates read and written in every
notation, drawn polygons' areas, and areas as text. Pure functions of their input."""

from __future__ import annotations

import math
from typing import Any

import shapely

from mineaction.geo.coordinates import (
    CoordinateError,
    format_dms,
    parse_coordinate,
    to_mgrs,
    to_utm,
)
from mineaction.geo.geodesic import geodesic_area_m2


# -- coordinates and areas -------------------------------------------------------------
def coordinate_json(text: str, hint: str | None = None) -> dict[str, Any]:
    """A coordinate as written, read into WGS84 and written back in every notation."""
    try:
        c = parse_coordinate(text, hint=hint)
    except (CoordinateError, ValueError) as exc:
        return {"ok": False, "message": str(exc)}
    out: dict[str, Any] = {"ok": True, "lat": round(c.lat, 7), "lon": round(c.lon, 7),
                           "system": c.system, "original": c.original,
                           "dd": f"{c.lat:.6f}, {c.lon:.6f}", "dms": format_dms(c.lat, c.lon)}
    try:
        zone, hemi, e, n = to_utm(c.lat, c.lon)
        out["utm"] = f"{zone}{hemi} {e:.0f}E {n:.0f}N"
        out["mgrs"] = to_mgrs(c.lat, c.lon)
    except CoordinateError:  # polar: no UTM/MGRS
        out["utm"] = out["mgrs"] = None
    return out


def area_json(geometry: dict[str, Any]) -> dict[str, Any]:
    """Area on the WGS84 ellipsoid of a drawn polygon, in m2 and ha, with its validity."""
    try:
        geom = shapely.geometry.shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError,
            shapely.errors.GeometryTypeError) as exc:
        return {"ok": False, "message": f"not a GeoJSON geometry: {exc}"}
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return {"ok": False, "message": f"expected a polygon, got {geom.geom_type}"}
    if not geom.is_valid:
        from shapely.validation import explain_validity

        return {"ok": False, "message": f"the polygon is not valid: {explain_validity(geom)}"}
    m2 = geodesic_area_m2(geom)
    return {"ok": True, "area_m2": round(m2, 2), "area_ha": round(m2 / 10_000, 4)}


def fmt_area(m2: float | None) -> str:
    if m2 is None or (isinstance(m2, float) and math.isnan(m2)):
        return ""
    return f"{m2:,.0f} m² ({m2 / 10_000:,.2f} ha)"
