"""Output formats: JSON, or GeoJSON (RFC 7946) by `?f=geojson` or `Accept:
application/geo+json`. Bodies are serialised here once, without a response model pass:
the list endpoint is the hot path of the benchmark."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson
from fastapi import Request, Response

GEOJSON = "application/geo+json"


class Format(StrEnum):
    json = "json"
    geojson = "geojson"


def wants_geojson(request: Request, f: Format | None) -> bool:
    if f is not None:
        return f == Format.geojson
    return GEOJSON in request.headers.get("accept", "")


# orjson writes a 100-feature page in a tenth of the stdlib's time (issue 3's benchmark).
# Datetimes and dataclasses go through `default=str` as they did with json.dumps, so no
# output changes; keys that are not strings become strings, as json.dumps made them.
_DUMPS_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                  | orjson.OPT_NON_STR_KEYS)


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=str, option=_DUMPS_OPTIONS)


def feature(data: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature of a record: its geometry taken out of the properties."""
    return features([dict(data)])[0]


def features(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`feature` of each item, the items themselves becoming the properties (no copy of
    each: a page's dicts are made for its answer and used once). Written out rather than
    calling a function an item: a page of 100 is the API's hot path (issue 3)."""
    return [{"type": "Feature", "id": props.get("id"), "geometry": props.pop("geometry", None),
             "properties": props} for props in items]


def respond(body: Any, *, geojson: bool, status: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers,
                    media_type=GEOJSON if geojson else "application/json")
