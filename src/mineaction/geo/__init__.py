# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry and coordinate functions: pure, no I/O, WGS84 (EPSG:4326) lon/lat throughout.

The GeoPackage BLOB codec is exposed as the module `gpkg_binary` rather than flattened
here, because its names (encode, decode, envelope) only make sense with the module name.
"""

from mineaction.geo import gpkg_binary
from mineaction.geo.coordinates import (
    CoordinateError,
    ParsedCoordinate,
    format_dms,
    parse_coordinate,
    parse_lat_lon_pair,
    to_mgrs,
    to_utm,
)
from mineaction.geo.geodesic import (
    degrees_buffer_for_distance,
    distance_to_geometry_m,
    geodesic_area_m2,
    geodesic_distance_m,
    geodesic_distances_m,
    geodesic_length_m,
)
from mineaction.geo.validation import (
    plausibility_problems,
    repair_geometry,
    to_multipolygon,
    validate_geometry,
)

__all__ = [
    "CoordinateError",
    "ParsedCoordinate",
    "degrees_buffer_for_distance",
    "distance_to_geometry_m",
    "format_dms",
    "geodesic_area_m2",
    "geodesic_distance_m",
    "geodesic_distances_m",
    "geodesic_length_m",
    "gpkg_binary",
    "parse_coordinate",
    "parse_lat_lon_pair",
    "plausibility_problems",
    "repair_geometry",
    "to_mgrs",
    "to_multipolygon",
    "to_utm",
    "validate_geometry",
]
