"""The rules a record follows beyond each field's own type and bounds, defined once.

Two paths check records: the pydantic models (domain/models.py), one record at a time, and
the bulk importer (io/transform.py), a column at a time. Both call the functions here, so
there is nothing to keep equal: the models run them on a record's values, the importer on
each distinct combination of their inputs in a chunk (a million victims hold a few hundred
(age, age band) pairs) or, for geometries, row by row.

A rule is a plain function of field values, in the fields' Python types (None where a value
is missing). It returns the value it derives for the field it sets, if any, and raises
`RuleError`, naming the field at fault, when the values contradict each other.

What each field holds on its own (types, enumeration codes, bounds, lengths) the pydantic
fields declare; the importer derives its column checks from them (domain/columns.py), and
tests/io/test_transform.py holds those checks to pydantic's, field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from mineaction.domain.enums import AgeBand

# The Monitor's child/adult split.
ADULT_AGE = 18
# Most vertices one geometry may have: a field survey's polygon has tens to thousands; a
# million-vertex polygon once made every map load of its layer 28 MB (issue 15, 11).
MAX_VERTICES = 100_000


class RuleError(ValueError):
    """Values that contradict a rule; `field` is the one reported as wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rule:
    """`check(*values of reads)` returns the value of `sets` (when it sets one) or raises
    RuleError. `geometric` rules read a geometry: the store's own rows skip them (their
    geometries were checked, and their areas computed, when written)."""

    name: str
    reads: tuple[str, ...]
    check: Callable[..., Any]
    sets: str | None = None
    geometric: bool = False


def geometry_problem(geom: Any, accepts: tuple[str, ...]) -> str | None:
    """What is wrong with a geometry for a field that takes `accepts` (shapely type names),
    or None. Coordinates are WGS84 longitude/latitude."""
    if geom is None:
        return None
    if geom.geom_type not in accepts:
        return f"expected {' or '.join(accepts)}, got {geom.geom_type}"
    if geom.is_empty:
        return "geometry is empty"
    import shapely

    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > MAX_VERTICES:
        return (f"the geometry has {vertices:,} vertices; at most {MAX_VERTICES:,} "
                "(simplify it first, e.g. in QGIS: Vector > Geometry Tools > Simplify)")
    if not geom.is_valid:
        return f"invalid geometry: {shapely.is_valid_reason(geom)}"
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return ("coordinates outside longitude -180..180 / latitude -90..90 "
                "(are they in a projected CRS?)")
    return None


def external_key(external_id: str | None, dataset: str | None) -> None:
    """A record's key in its dataset: both parts or neither."""
    if (external_id is None) != (dataset is None):
        raise RuleError("external_id", "external_id and dataset go together: give both or "
                                       "neither")


def age_band(age: int | None, band: str | None) -> str | None:
    """The age band a known age decides; a band given with it must agree (or be unknown)."""
    if age is None:
        return band
    decided = AgeBand.child if age < ADULT_AGE else AgeBand.adult
    if band not in (None, AgeBand.unknown, decided):
        raise RuleError("age_band", f"age {age} contradicts age_band {band}")
    return decided


def dates_in_order(start: date | None, end: date | None) -> None:
    """An activity cannot end before it starts."""
    if start is not None and end is not None and end < start:
        raise RuleError("end_date", "end_date is before start_date")


def area_m2(geometry: Any, given: float | None) -> float | None:
    """The area of a polygonal geometry on the ellipsoid (m², to the cm²), which replaces an
    area given with it; a point, or no geometry, keeps the given area."""
    if geometry is None or geometry.geom_type == "Point":
        return given
    from mineaction.geo.geodesic import geodesic_area_m2

    return round(geodesic_area_m2(geometry), 2)


_AREA = Rule("area", ("geometry", "area_m2"), area_m2, sets="area_m2", geometric=True)

# Every record's rules. Imports key every record by (dataset, external_id) themselves
# (io/pipeline.py), so the importer applies only the kinds' rules below.
RECORD_RULES: tuple[Rule, ...] = (
    Rule("external key", ("external_id", "dataset"), external_key),
)

# Each kind's rules, in the order they run (after the geometry checks).
KIND_RULES: dict[str, tuple[Rule, ...]] = {
    "victim": (Rule("age band", ("age", "age_band"), age_band, sets="age_band"),),
    "activity": (Rule("dates in order", ("start_date", "end_date"), dates_in_order),),
    "hazard": (_AREA,),
    "released_part": (_AREA,),
}
