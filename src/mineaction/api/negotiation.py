"""Output formats: JSON, or GeoJSON (RFC 7946) by `?f=geojson` or `Accept:
application/geo+json`. Bodies are serialised here once, without a response model pass:
the list endpoint is the hot path of the benchmark."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import Request, Response

GEOJSON = "application/geo+json"


class Format(StrEnum):
    json = "json"
    geojson = "geojson"


def wants_geojson(request: Request, f: Format | None) -> bool:
    if f is not None:
        return f == Format.geojson
    return GEOJSON in request.headers.get("accept", "")


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def feature(data: dict[str, Any]) -> dict[str, Any]:
    props = dict(data)
    geometry = props.pop("geometry", None)
    return {"type": "Feature", "id": props.get("id"), "geometry": geometry,
            "properties": props}


def respond(body: Any, *, geojson: bool, status: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers,
                    media_type=GEOJSON if geojson else "application/json")
