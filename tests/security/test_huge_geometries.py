"""A polygon of 1,000,000 vertices was accepted through the API and then made every map
load of its layer 28 MB (issue 15, 11): the domain caps vertices for every way in."""

from __future__ import annotations

import math

import pytest
from api_helpers import Api

from mineaction.domain.rules import MAX_VERTICES


def _circle(n: int) -> dict[str, object]:
    ring = [[-75 + 0.01 * math.cos(2 * math.pi * i / n), 6 + 0.01 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


# A body large enough to hold the polygon: the body limit alone would refuse it first.
@pytest.mark.parametrize("settings_overrides", [{"max_request_bytes": 64_000_000}])
def test_the_api_refuses_a_geometry_over_the_vertex_cap(api: Api) -> None:
    editor = api.as_("editor")
    r = editor.post("/api/v1/hazards", json={"hazard_kind": "SHA",
                                             "geometry": _circle(MAX_VERTICES + 10)})
    assert r.status_code == 422
    assert "vertices" in r.text and "geometry" in r.text
    ok = editor.post("/api/v1/hazards", json={"hazard_kind": "SHA", "geometry": _circle(500)})
    assert ok.status_code == 201
    url = f"/api/v1/hazards/{ok.json()['id']}"
    r = editor.patch(url, json={"geometry": _circle(MAX_VERTICES + 10)},
                     headers={"If-Match": '"1"'})
    assert r.status_code == 422


def test_the_map_draws_a_big_polygon_lightened(api: Api) -> None:
    from shapely.geometry import shape

    from mineaction.domain.models import Hazard

    big = shape(_circle(50_000))
    api.services.store.add(Hazard(hazard_kind="CHA", status="approved", geometry=big))
    layer = api.public.get("/web/api/layers/hazards").json()
    [feature] = layer["features"]
    drawn = shape(feature["geometry"])
    assert len(drawn.exterior.coords) <= 2_000
    assert drawn.symmetric_difference(big).area < 0.01 * big.area  # the same place
