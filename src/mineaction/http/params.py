"""Query parameters the API and the web read alike: a bbox, a point and distance."""

from __future__ import annotations

from mineaction.services.errors import FieldError, Invalid


def _floats(text: str, n: int, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != n or any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise Invalid(f"{name}: expected {n} comma-separated numbers",
                      field_errors=[FieldError(field=name, message="malformed")])
    return values



def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    minx, miny, maxx, maxy = _floats(text, 4, "bbox")
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("bbox: min_lon,min_lat,max_lon,max_lat within -180..180, -90..90",
                      field_errors=[FieldError(field="bbox", message="out of range")])
    return (minx, miny, maxx, maxy)


def parse_near(text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    lon, lat, metres = _floats(text, 3, "near")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90 and 0 <= metres <= 1_000_000):
        raise Invalid("near: lon,lat,metres with metres up to 1,000,000",
                      field_errors=[FieldError(field="near", message="out of range")])
    return (lon, lat, metres)
