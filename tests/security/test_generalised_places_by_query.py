# SPDX-License-Identifier: GPL-3.0-or-later
"""The public sees an accident's place rounded (0.1 degree) and its date as a year. Found
in review (issue 23): a box, a distance or a date range was still decided on the exact
place and date, so anyone narrowing a box (or a range) until it emptied learnt the exact
place (or day) of an accident, on /api/v1, the OGC API and the vector tiles alike. Now
each selects by the place and date the asker sees; signed-in users keep exact selection.
Also: a box over a kind with no place answered 500."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
from api_helpers import Api, accident

from mineaction.geo import mvt

LON, LAT = -75.1834, 6.1412  # shown to the public as (-75.2, 6.1)
EXACT_BOX = "-75.19,6.14,-75.18,6.15"  # holds the exact place, not the rounded one
ROUNDED_BOX = "-75.21,6.09,-75.19,6.11"  # holds the rounded place only


def _approved(api: Api) -> str:
    editor, approver = api.as_("editor"), api.as_("approver")
    rec = editor.post("/api/v1/accidents", json=accident()).json()
    url = f"/api/v1/accidents/{rec['id']}"
    assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
    assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200
    return str(rec["id"])


def _ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_a_box_or_a_distance_selects_by_the_place_the_public_sees(api: Api) -> None:
    rid = _approved(api)
    public, viewer = api.public, api.as_("viewer")
    assert _ids(public.get("/api/v1/accidents", params={"bbox": EXACT_BOX})) == []
    assert _ids(public.get("/api/v1/accidents", params={"bbox": ROUNDED_BOX})) == [rid]
    assert _ids(public.get("/api/v1/accidents", params={"near": f"{LON},{LAT},200"})) == []
    assert _ids(public.get("/api/v1/accidents", params={"near": "-75.2,6.1,200"})) == [rid]
    # the signed-in see and select the exact place
    assert _ids(viewer.get("/api/v1/accidents", params={"bbox": EXACT_BOX})) == [rid]
    assert _ids(viewer.get("/api/v1/accidents", params={"bbox": ROUNDED_BOX})) == []
    assert _ids(viewer.get("/api/v1/accidents", params={"near": f"{LON},{LAT},200"})) == [rid]


def test_a_date_range_selects_by_the_year_the_public_sees(api: Api) -> None:
    rid = _approved(api)  # 2021-03-04
    public, viewer = api.public, api.as_("viewer")
    for params in ({"date_from": "2021-03-05"}, {"date_to": "2021-03-03"},
                   {"date_from": "2021-12-31", "date_to": "2021-01-01"}):
        assert _ids(public.get("/api/v1/accidents", params=params)) == [rid], params
    assert _ids(public.get("/api/v1/accidents", params={"date_from": "2022-01-01"})) == []
    assert _ids(viewer.get("/api/v1/accidents", params={"date_from": "2021-03-05"})) == []


def test_the_ogc_api_and_the_tiles_tell_no_more(api: Api) -> None:
    rid = _approved(api)
    items = api.public.get("/ogc/collections/accidents/items",
                           params={"bbox": EXACT_BOX, "f": "json"}).json()
    assert items["numberMatched"] == 0 and items["features"] == []
    items = api.public.get("/ogc/collections/accidents/items",
                           params={"bbox": ROUNDED_BOX, "f": "json"}).json()
    assert [f["id"] for f in items["features"]] == [rid]
    items = api.public.get("/ogc/collections/accidents/items",
                           params={"datetime": "2021-03-05/..", "f": "json"}).json()
    assert items["numberMatched"] == 1
    r = api.public.get("/ogc/collections/accidents/items",
                       params={"filter": "accident_date > DATE('2021-03-05')", "f": "json"})
    assert r.status_code == 400  # a date the public sees as a year: not filterable

    z = 16
    for (lon, lat), expected in (((LON, LAT), 0), ((-75.2, 6.1), 1)):
        mx, my = mvt.mercator(lon, lat)
        x, y = int(mx * (1 << z)), int(my * (1 << z))
        r = api.public.get(f"/api/v1/tiles/accidents/{z}/{x}/{y}.mvt")
        decoded = mapbox_vector_tile.decode(r.content) if r.content else {}
        assert len(decoded.get("accidents", {}).get("features", [])) == expected


def test_a_box_over_a_kind_without_a_place_is_refused_not_a_crash(api: Api) -> None:
    for coll in ("activities", "organisations", "sources"):
        r = api.as_("viewer").get(f"/api/v1/{coll}", params={"bbox": "-76,6,-75,7"})
        assert r.status_code == 422, (coll, r.status_code, r.text)
        assert "no place" in r.text


def test_a_snapped_box_holds_exactly_the_places_that_round_into_the_box() -> None:
    """store/query.py snap_box against rounding itself, on random places and boxes (ties
    at exactly half a step aside: a place there is on both sides' edge)."""
    import random

    from mineaction.store.query import snap_box

    rng = random.Random(23)
    for _ in range(20_000):
        d = rng.choice((0, 1, 2))
        x0, x1 = sorted(rng.uniform(-80, -70) for _ in range(2))
        y0, y1 = sorted(rng.uniform(0, 10) for _ in range(2))
        if rng.random() < 0.5:  # narrow boxes, as an attacker draws them
            x1, y1 = x0 + rng.uniform(0, 0.3), y0 + rng.uniform(0, 0.3)
        box = snap_box((x0, y0, x1, y1), d)
        x, y = rng.uniform(-81, -69), rng.uniform(-1, 11)
        step = 10.0 ** -d
        if min(abs((x / step) % 1 - 0.5), abs((y / step) % 1 - 0.5)) < 1e-6:
            continue
        rounded_in = x0 <= round(x, d) <= x1 and y0 <= round(y, d) <= y1
        snapped_in = box[0] <= x <= box[2] and box[1] <= y <= box[3]
        assert rounded_in == snapped_in, (d, (x0, y0, x1, y1), (x, y), box)
        assert snap_box(box, d) == box or box == (0.0, 0.0, -1.0, -1.0)
