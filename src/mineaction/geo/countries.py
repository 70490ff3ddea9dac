"""Country outlines (Natural Earth 1:50m, public domain) shipped with the package, used to
flag imported coordinates that fall outside the country they should be in; and the
countries' ISO codes, which the store reads for its record codes.

shapely is imported by the outline alone: the store imports this module for the codes,
and every command opens a store (start-up, issue 16, 12)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

COUNTRIES_FILE = Path(__file__).parents[1] / "data" / "countries_ne50m.geojson"
# 1:50m outlines are generalised: coastal villages and river-bank sites can fall a few
# hundred metres outside. About 5 km of slack keeps those from being flagged.
SLACK_DEGREES = 0.05


@cache
def country_outline(code: str) -> BaseGeometry:
    """The outline of a country by ISO 3166-1 alpha-3 (COL) or alpha-2 (CO) code, widened
    by SLACK_DEGREES and prepared for fast point-in-polygon tests."""
    import shapely
    from shapely.geometry import shape

    wanted = code.upper()
    for feature in json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        if wanted in (props["iso_a3"], props["iso_a2"]):
            outline = shape(feature["geometry"]).buffer(SLACK_DEGREES)
            shapely.prepare(outline)
            return outline
    raise KeyError(f"no country with ISO code {code!r} in {COUNTRIES_FILE.name}")


@cache
def _alpha2_by_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for feature in json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        two = str(props.get("iso_a2") or "")
        if len(two) == 2 and two.isalpha():
            found[two] = two
            found[str(props.get("iso_a3") or "").upper()] = two
    return found


def alpha2(code: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country given by its alpha-2 (CO) or alpha-3 (COL)
    code; KeyError for a code no shipped country has."""
    wanted = code.strip().upper()
    try:
        return _alpha2_by_code()[wanted]
    except KeyError:
        raise KeyError(f"no country with ISO code {code!r} in {COUNTRIES_FILE.name}") from None
