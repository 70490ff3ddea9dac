# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry and coordinate functions: pure, no I/O, WGS84 (EPSG:4326) lon/lat throughout.

The GeoPackage BLOB codec is exposed as the module `gpkg_binary` rather than flattened
here, because its names (encode, decode, envelope) only make sense with the module name.
"""

from importlib import import_module
from typing import Any

# Where each public name lives. Imported on first use (PEP 562), not with the package: the
# coordinate parsers pull in pyproj and mgrs, which `mineaction info` or a store that only
# reads and writes GeoPackage blobs never needs (issue 16, item 12: start-up time).
_HOMES = {
    "CoordinateError": "coordinates", "ParsedCoordinate": "coordinates",
    "format_dms": "coordinates", "parse_coordinate": "coordinates",
    "parse_lat_lon_pair": "coordinates", "to_mgrs": "coordinates", "to_utm": "coordinates",
    "degrees_buffer_for_distance": "geodesic", "distance_to_geometry_m": "geodesic",
    "geodesic_area_m2": "geodesic", "geodesic_distance_m": "geodesic",
    "geodesic_distances_m": "geodesic", "geodesic_length_m": "geodesic",
    "plausibility_problems": "validation", "repair_geometry": "validation",
    "to_multipolygon": "validation", "validate_geometry": "validation",
    "DeclinationError": "magnetic", "declination_deg": "magnetic", "wmm_model_for": "magnetic",
    "Closure": "traverse", "Leg": "traverse", "TraverseError": "traverse",
    "TraversePoint": "traverse", "TraverseResult": "traverse", "TraverseWarning": "traverse",
    "compute_traverse": "traverse", "grid_convergence_deg": "traverse",
    "to_degrees": "traverse", "utm_zone_for": "traverse",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"mineaction.geo.{_HOMES[name]}"), name)
    if name == "gpkg_binary":
        return import_module("mineaction.geo.gpkg_binary")
    raise AttributeError(f"module 'mineaction.geo' has no attribute {name!r}")


__all__ = [
    "Closure",
    "CoordinateError",
    "DeclinationError",
    "Leg",
    "ParsedCoordinate",
    "TraverseError",
    "TraversePoint",
    "TraverseResult",
    "TraverseWarning",
    "compute_traverse",
    "declination_deg",
    "degrees_buffer_for_distance",
    "distance_to_geometry_m",
    "format_dms",
    "geodesic_area_m2",
    "geodesic_distance_m",
    "geodesic_distances_m",
    "geodesic_length_m",
    "gpkg_binary",
    "grid_convergence_deg",
    "parse_coordinate",
    "parse_lat_lon_pair",
    "plausibility_problems",
    "repair_geometry",
    "to_degrees",
    "to_mgrs",
    "to_multipolygon",
    "to_utm",
    "utm_zone_for",
    "validate_geometry",
    "wmm_model_for",
]
