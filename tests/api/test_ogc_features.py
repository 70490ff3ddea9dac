# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features at /ogc (issue 23), in-process over both stores: every asker gets
exactly what the records API (/api/v1) gives it, page by page through next links, with
bbox, datetime and CQL2 filters; a filter naming a field the asker may not see is
refused; HTML and GeoJSON by f= and Accept. GDAL's OAPIF client: test_ogc_gdal.py."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from api_helpers import ORG, OTHER_ORG, Api, Client
from shapely.geometry import Point, Polygon, box, shape

from mineaction.domain.columns import geometry_column
from mineaction.domain.models import ENTITIES, Accident, Hazard, Organisation, Victim
from mineaction.store import Store

KINDS = ("mine", "erw", "ied")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Organisation scope on, so another organisation's user sees fewer hazards.
    return {"cross_organisation_visibility": False}


def seed(store: Store) -> dict[str, Any]:
    """Approved and draft accidents (with victims), hazards of two organisations."""
    accidents = []
    for i in range(14):
        acc = store.add(Accident(
            geometry=Point(-75 + i * 0.05, 6 + (i % 4) * 0.05),
            accident_date=date(2015 + i % 8, 1 + i % 12, 1 + i),
            accident_kind=KINDS[i % 3], location_precision="exact",
            place_name=f"Vereda {i}" if i % 5 else None,
            narrative=f"stepped on a mine {i}",
            device_model=None if i % 4 else "PMN",
            status="approved" if i < 11 else "draft"), by="field" if i >= 12 else "editor")
        accidents.append(acc)
        if i % 3 == 0:
            store.add(Victim(accident_id=acc.id, outcome="injured", name=f"Ana {i}",
                             age=10 + i, status="approved"), by="editor")
    hazards = []
    for i, org in enumerate((ORG, ORG, ORG, OTHER_ORG, OTHER_ORG, None)):
        hazards.append(store.add(Hazard(
            hazard_kind="SHA" if i % 2 else "CHA", organisation_id=org,
            name=f"Loma {i}", date_reported=date(2019, 1 + i, 1),
            geometry=Polygon([(-75 + i * 0.1, 6), (-75 + i * 0.1, 6.02),
                              (-74.98 + i * 0.1, 6.02), (-75 + i * 0.1, 6)]),
            status="approved"), by="editor"))
    store.add(Organisation(name="HALO", status="approved"), by="editor")
    return {"accidents": accidents, "hazards": hazards}


def askers(api: Api) -> dict[str, Client]:
    return {"public": api.public, "viewer": api.as_("viewer"),
            "other_org": api.as_("editor", name="editor_b", org=OTHER_ORG),
            "field": api.as_("field"), "admin": api.as_("admin", org=None)}


def ogc_all(client: Client, collection: str, **params: Any) -> tuple[list[dict[str, Any]],
                                                                      int, int]:
    """Every feature of a collection, following next links; and numberMatched, pages."""
    r = client.get(f"/ogc/collections/{collection}/items", params={"limit": 4, **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    matched = body["numberMatched"]
    out, pages = list(body["features"]), 1
    while True:
        assert body["numberReturned"] == len(body["features"])
        assert body["numberMatched"] == matched
        nxt = [link for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        body = client.get(nxt[0]["href"]).json()
        out += body["features"]
        pages += 1
    return out, matched, pages


def api_all(client: Client, collection: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/{collection}", params={"limit": 1000, "f": "geojson", **params})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return r.json()["features"]  # type: ignore[no-any-return]


def test_every_asker_gets_what_the_records_api_gives_it(api: Api) -> None:
    seed(api.services.store)
    seen: dict[str, dict[str, set[str]]] = {}
    for who, client in askers(api).items():
        listed = client.get("/ogc/collections").json()["collections"]
        ids = {c["id"] for c in listed}
        # The collections are those the records API lists for this asker.
        for coll in ("accidents", "hazards", "victims", "minefield-records"):
            allowed = client.get(f"/api/v1/{coll}?limit=1").status_code == 200
            assert (coll in ids) == allowed, (who, coll)
        seen[who] = {}
        for coll in ("accidents", "hazards", "victims"):
            if coll not in ids:
                r = client.get(f"/ogc/collections/{coll}/items")
                assert r.status_code == 403, (who, coll)
                continue
            got, matched, pages = ogc_all(client, coll)
            want = api_all(client, coll)
            assert matched == len(want) == len(got), (who, coll)
            assert pages == max(1, -(-len(want) // 4))
            # Every feature once, in the same order, equal to the records API's.
            for feature in got:
                feature.pop("links", None)
            assert got == want, (who, coll)
            seen[who][coll] = {f["id"] for f in got}
    # The rules at work, not only their agreement: drafts, hidden fields, generalised
    # points, another organisation's hazards, victims for the signed-in only.
    assert len(seen["public"]["accidents"]) == 11 < len(seen["admin"]["accidents"]) == 14
    assert len(seen["field"]["accidents"]) == 13  # approved and its own drafts
    assert len(seen["other_org"]["hazards"]) == 3 < len(seen["viewer"]["hazards"]) == 4
    assert "victims" not in seen["public"] and len(seen["viewer"]["victims"]) == 5
    public = ogc_all(api.public, "accidents")[0]
    assert all("narrative" not in f["properties"] and "created_by" not in f["properties"]
               for f in public)
    assert {f["properties"]["location_precision"] for f in public} == {"generalised"}
    assert all(round(c, 1) == c for f in public for c in f["geometry"]["coordinates"])
    viewer_victims = ogc_all(api.as_("viewer"), "victims")[0]
    assert all("name" not in f["properties"] for f in viewer_victims)
    admin_victims = ogc_all(api.as_("admin", org=None), "victims")[0]
    assert {f["properties"]["name"] for f in admin_victims} == {f"Ana {i}"
                                                               for i in (0, 3, 6, 9, 12)}


def test_one_feature_as_the_records_api_gives_it(api: Api) -> None:
    data = seed(api.services.store)
    hazard_other = str(data["hazards"][3].id)
    draft = str(data["accidents"][11].id)
    for who, client in askers(api).items():
        for coll, rec_id in (("hazards", hazard_other), ("accidents", draft),
                             ("accidents", str(data["accidents"][0].id))):
            r = client.get(f"/ogc/collections/{coll}/items/{rec_id}")
            v1 = client.get(f"/api/v1/{coll}/{rec_id}", params={"f": "geojson"})
            assert r.status_code == v1.status_code, (who, coll, rec_id)
            if r.status_code == 200:
                assert r.headers["content-type"] == "application/geo+json"
                body = r.json()
                assert {link["rel"] for link in body.pop("links")} >= {"self", "collection"}
                assert body == v1.json()
    assert api.public.get(f"/ogc/collections/accidents/items/{draft}").status_code == 404
    assert api.as_("editor", name="editor_b", org=OTHER_ORG).get(
        f"/ogc/collections/hazards/items/{hazard_other}").status_code == 200
    assert api.as_("viewer").get(
        f"/ogc/collections/hazards/items/{hazard_other}").status_code == 404


def test_bbox_and_datetime_select_as_the_records_api_does(api: Api) -> None:
    seed(api.services.store)
    viewer = api.as_("viewer")
    bbox = "-74.93,5.99,-74.6,6.12"
    got = ogc_all(viewer, "accidents", bbox=bbox)[0]
    assert got == api_all(viewer, "accidents", bbox=bbox)
    assert 0 < len(got) < 14
    assert all(box(*map(float, bbox.split(","))).intersects(shape(f["geometry"]))
               for f in got)
    # 6 numbers (with heights) and the default CRS named explicitly
    assert ogc_all(viewer, "accidents", bbox="-74.93,5.99,0,-74.6,6.12,10", **{
        "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"})[0] == got
    for interval, lo, hi in (("2017-01-01/2019-12-31", "2017-01-01", "2019-12-31"),
                             ("../2016-06-30", None, "2016-06-30"),
                             ("2020-01-01T00:00:00Z/..", "2020-01-01", None)):
        params = {k: v for k, v in (("date_from", lo), ("date_to", hi)) if v}
        got = ogc_all(viewer, "accidents", datetime=interval)[0]
        assert got == api_all(viewer, "accidents", **params), interval
        assert got
    one = api_all(viewer, "accidents")[0]["properties"]["accident_date"]
    assert [f["properties"]["accident_date"] for f in ogc_all(
        viewer, "accidents", datetime=one)[0]] == [one]
    # Victims are dated by their accident, as the records API filters them.
    assert ogc_all(viewer, "victims", datetime="2015-01-01/2016-12-31")[0] == api_all(
        viewer, "victims", date_from="2015-01-01", date_to="2016-12-31")
    assert viewer.get("/ogc/collections/places/items?datetime=2020-01-01").status_code == 400
    # A collection without geometry has nothing inside a box.
    assert viewer.get("/ogc/collections/organisations/items").json()["numberMatched"] == 1
    r = viewer.get("/ogc/collections/organisations/items?bbox=-180,-90,180,90")
    assert r.status_code == 200 and r.json()["numberMatched"] == 0


FILTERS: list[tuple[str, Any]] = [
    ("accident_kind = 'mine'", lambda p, g: p["accident_kind"] == "mine"),
    ("accident_kind <> 'mine' AND accident_date >= DATE('2018-01-01')",
     lambda p, g: p["accident_kind"] != "mine" and p["accident_date"] >= "2018-01-01"),
    ("NOT (accident_kind = 'erw' OR accident_kind = 'ied')",
     lambda p, g: p["accident_kind"] == "mine"),
    # AND binds tighter than OR, as in CQL2 and SQL (pygeofilter's own grammar did not).
    ("accident_kind = 'ied' OR accident_kind = 'mine' AND accident_date < DATE('2018-01-01')",
     lambda p, g: p["accident_kind"] == "ied" or (p["accident_kind"] == "mine"
                                                 and p["accident_date"] < "2018-01-01")),
    ("NOT (accident_kind = 'ied' OR place_name = 'Vereda 1''s')",
     # a doubled quote inside a text; a comparison with NULL is unknown, as in SQL
     lambda p, g: p["accident_kind"] != "ied" and p.get("place_name") is not None),
    ("accident_kind IN ('erw', 'ied')", lambda p, g: p["accident_kind"] in ("erw", "ied")),
    ("accident_kind NOT IN ('erw')", lambda p, g: p["accident_kind"] != "erw"),
    ("place_name LIKE 'Vereda 1%'", lambda p, g: (p.get("place_name") or "").startswith(
        "Vereda 1")),
    ("place_name LIKE 'vereda%'", lambda p, g: False),  # LIKE is case-sensitive
    ("place_name LIKE 'Vereda _'", lambda p, g: len(p.get("place_name") or "") == 8),
    ("place_name IS NULL", lambda p, g: p.get("place_name") is None),
    ("device_model IS NOT NULL", lambda p, g: p.get("device_model") is not None),
    ("accident_date < DATE('2017-06-01') OR accident_date > DATE('2021-01-01')",
     lambda p, g: not "2017-06-01" <= p["accident_date"] <= "2021-01-01"),
    ("accident_date BETWEEN DATE('2016-01-01') AND DATE('2018-12-31')",
     lambda p, g: "2016-01-01" <= p["accident_date"] <= "2018-12-31"),
    ("version = 1 AND status = 'approved'", lambda p, g: p["status"] == "approved"),
    ("S_INTERSECTS(geometry, BBOX(-74.93, 5.99, -74.6, 6.12))",
     lambda p, g: box(-74.93, 5.99, -74.6, 6.12).intersects(g)),
    ("S_INTERSECTS(geometry, POLYGON((-75.01 5.99, -74.5 5.99, -75.01 6.2, -75.01 5.99)))",
     lambda p, g: Polygon([(-75.01, 5.99), (-74.5, 5.99), (-75.01, 6.2)]).intersects(g)),
    ("S_INTERSECTS(geometry, POINT(-74.85 6.15)) OR accident_kind = 'ied'",
     lambda p, g: g.equals(Point(-74.85, 6.15)) or p["accident_kind"] == "ied"),
]


def test_cql2_filters_select_what_they_say(api: Api) -> None:
    seed(api.services.store)
    viewer = api.as_("viewer")
    everything = api_all(viewer, "accidents")
    for text, holds in FILTERS:
        want = [f for f in everything if holds(f["properties"], shape(f["geometry"]))]
        got, matched, _ = ogc_all(viewer, "accidents", filter=text,
                                  **{"filter-lang": "cql2-text"})
        assert got == want, text
        assert matched == len(want), text
        if "LIKE 'vereda" not in text:
            assert 0 < len(want) < len(everything), f"{text} selects nothing or all"


def test_a_filter_on_a_field_the_asker_may_not_see_is_refused(api: Api) -> None:
    seed(api.services.store)
    viewer, admin = api.as_("viewer"), api.as_("admin", org=None)
    refusals = [
        (api.public, "accidents", "narrative LIKE '%mine 3%'"),  # public_hidden
        (api.public, "accidents", "created_by = 'field'"),  # who did what
        (api.public, "accidents", "location_precision = 'exact'"),  # generalised away
        (api.public, "accidents", "S_INTERSECTS(geometry, POINT(-75 6))"),
        (viewer, "victims", "name = 'Ana 3'"),  # personal data
        (viewer, "victims", "NOT (age > 3 AND name IS NULL)"),  # nested
        (viewer, "victims", "no_such_field = 1"),
    ]
    messages = set()
    for client, coll, text in refusals:
        r = client.get(f"/ogc/collections/{coll}/items", params={"filter": text})
        assert r.status_code == 400, (coll, text, r.text)
        messages.add(r.json()["message"].split("'")[2])
        queryables = client.get(f"/ogc/collections/{coll}/queryables").json()["properties"]
        named = text.split(" ")[0].removeprefix("NOT").strip("(").split("(")[-1].strip(",")
        assert named not in queryables, (coll, text)
    # A hidden field and one that does not exist are refused alike.
    assert len(messages) == 1
    # Those who may see them filter on them.
    r = admin.get("/ogc/collections/victims/items", params={"filter": "name = 'Ana 3'"})
    assert [f["properties"]["name"] for f in r.json()["features"]] == ["Ana 3"]
    r = viewer.get("/ogc/collections/accidents/items", params={
        "filter": "narrative LIKE '%mine 3'"})
    assert [f["properties"]["narrative"] for f in r.json()["features"]] == ["stepped on a mine 3"]
    assert "name" in admin.get("/ogc/collections/victims/queryables").json()["properties"]


def test_queryables_describe_the_fields(api: Api) -> None:
    r = api.as_("viewer").get("/ogc/collections/accidents/queryables")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["accident_date"] == {"title": "accident_date", "type": "string",
                                      "format": "date"}
    assert "mine" in props["accident_kind"]["enum"]
    assert props["geometry"]["format"] == "geometry-point"
    assert "source_ids" not in props  # a list: not one value to compare


@pytest.mark.parametrize("params", [
    {"filter": "accident_kind = "}, {"filter": "accident_kind = 3"},
    {"filter": "accident_date > 'yesterday'"}, {"filter": "geometry = 'x'"},
    {"filter": "accident_kind LIKE 3"}, {"filter": "S_INTERSECTS(accident_kind, POINT(1 2))"},
    {"filter": "S_INTERSECTS(geometry, BBOX(1, 2, 0, 0))"},
    {"filter": "T_AFTER(accident_date, DATE('2020-01-01'))"},
    {"filter": "accident_kind = 'mine'", "filter-lang": "cql2-json"},
    {"filter": "NOT " * 900 + "version = 1"}, {"filter": " AND ".join(["version = 1"] * 200)},
    {"filter": "version = 1 OR " * 300 + "version = 2"},
    {"bbox": "1,2,3"}, {"bbox": "10,0,0,1"}, {"bbox-crs": "EPSG:3857", "bbox": "0,0,1,1"},
    {"datetime": "yesterday"}, {"datetime": "2020-01-01/2019-01-01"},
    {"limit": "unlimited"}, {"limit": "0"}, {"limit": "-3"}, {"cursor": "x"},
    {"ooga": "booga"}, {"f": "xml"},
])
def test_bad_requests_are_400(api: Api, params: dict[str, str]) -> None:
    r = api.as_("viewer").get("/ogc/collections/accidents/items", params=params)
    assert r.status_code == 400, (params, r.text)
    assert r.json()["message"]


def test_not_found(api: Api) -> None:
    viewer = api.as_("viewer")
    assert viewer.get("/ogc/collections/nothing").status_code == 404
    assert viewer.get("/ogc/collections/nothing/items").status_code == 404
    assert viewer.get("/ogc/collections/nothing/queryables").status_code == 404
    for fid in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        assert viewer.get(f"/ogc/collections/accidents/items/{fid}").status_code == 404
    assert api.public.get("/ogc/collections/victims").status_code == 403


def test_limit_is_capped_and_paging_is_exact(api: Api) -> None:
    seed(api.services.store)
    viewer = api.as_("viewer")
    body = viewer.get("/ogc/collections/accidents/items?limit=100000").json()
    assert body["numberReturned"] == 14 == body["numberMatched"]
    got, matched, pages = ogc_all(viewer, "accidents", limit=1)
    assert pages == 14 == matched == len({f["id"] for f in got})


def test_landing_conformance_and_formats(api: Api) -> None:
    seed(api.services.store)
    c = api.public
    landing = c.get("/ogc").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= set(rels)
    assert all(link.get("type") for link in landing["links"])
    api_doc = c.get(rels["service-desc"]["href"])
    assert api_doc.status_code == 200
    assert api_doc.json()["openapi"].startswith("3.0")
    assert api_doc.json()["servers"] == [{"url": "http://testserver/ogc"}]
    paths = api_doc.json()["paths"]
    items = paths["/collections/hazards/items"]["get"]["parameters"]
    assert {"bbox", "limit", "datetime", "filter"} <= {p["name"] for p in items}
    assert "/conformance" in paths and not [p for p in paths if "{collectionId}" in p]
    conf = c.get("/ogc/conformance").json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/html", "ogcapi-features-3/1.0/conf/filter",
                "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text",
                "cql2/1.0/conf/basic-cql2"):
        assert f"http://www.opengis.net/spec/{cls}" in conf
    # HTML by f= and by a browser's Accept; GeoJSON by Accept.
    html = c.get("/ogc/collections/accidents/items?f=html")
    assert html.headers["content-type"].startswith("text/html")
    first = c.get("/ogc/collections/accidents/items").json()["features"][0]
    assert first["id"] in html.text
    assert "stepped on" not in html.text and "Vereda" not in html.text  # the public's view
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for url in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/hazards",
                "/ogc/collections/hazards/queryables", "/ogc/collections/hazards/items"):
        r = c.get(url, headers=browser)
        assert r.headers["content-type"].startswith("text/html"), url
        assert c.get(url, params={"f": "json"}).headers["content-type"].endswith("json"), url
    geo = c.get("/ogc/collections/hazards/items", headers={"Accept": "application/geo+json"})
    assert geo.headers["content-type"] == "application/geo+json"
    hazard = geo.json()["features"][0]
    one = c.get(f"/ogc/collections/hazards/items/{hazard['id']}?f=html")
    assert hazard["properties"]["name"] in one.text


# -- GDAL's OAPIF driver as the client (what QGIS uses) ---------------------------------

@pytest.fixture
def serve_env() -> dict[str, str]:
    """Settings of the served process beyond the tests' (a test parametrizes it)."""
    return {}


@pytest.fixture
def served(api: Api, store: Store, tmp_path: Any, serve_env: dict[str, str]) -> Any:
    """`mineaction serve` over the test's store, in a process of its own: GDAL holds the
    GIL while it waits for an answer, so a server thread in this process would never
    give it one."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MINEACTION_CROSS_ORGANISATION_VISIBILITY": "false", **serve_env}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "mineaction", "serve", "--store",
                             store.location, "--port", str(port), "--no-access-log"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start: "
                                   + (tmp_path / "serve.log").read_text(errors="replace"))
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _same(api_value: Any, gdal_value: Any) -> bool:
    """A property as the API wrote it and as GDAL typed it (dates, times, integers,
    lists as JSON text)."""
    import json
    from datetime import datetime

    import numpy as np

    if api_value is None:
        return gdal_value is None or (isinstance(gdal_value, np.datetime64)
                                      and np.isnat(gdal_value))
    if isinstance(gdal_value, np.datetime64):
        text = str(gdal_value)
        if len(text) == 10:
            return text == api_value
        stamp = datetime.fromisoformat(api_value.replace("Z", "+00:00")).replace(tzinfo=None)
        # GDAL keeps milliseconds, rounded
        gap = np.datetime64(stamp, "us") - gdal_value.astype("datetime64[us]")
        return bool(abs(gap) <= np.timedelta64(500, "us"))
    if isinstance(api_value, str) and isinstance(gdal_value, str) \
            and re.fullmatch(r"\d{4}-\d\d-\d\d[T ].*", api_value):
        # A time: GDAL's text keeps milliseconds and its own zone notation.
        theirs = datetime.fromisoformat(gdal_value.replace("/", "-").replace("Z", "+00:00"))
        ours = datetime.fromisoformat(api_value.replace("Z", "+00:00"))
        if theirs.tzinfo is None:
            theirs = theirs.replace(tzinfo=ours.tzinfo)
        return abs((theirs - ours).total_seconds()) < 0.001  # GDAL keeps whole milliseconds
    if isinstance(api_value, list | dict):
        return bool(json.loads(gdal_value) == api_value)
    if isinstance(api_value, bool | int | float):
        return bool(gdal_value == api_value)
    return bool(gdal_value == api_value)


def test_gdal_reads_every_collection_as_the_api_gives_it(api: Api, served: str) -> None:
    """Every layer GDAL's OAPIF driver lists and reads (paging through next links) holds
    the features and attributes the API gives the same asker, public and signed in."""
    from pyogrio import list_layers, set_gdal_config_options
    from pyogrio.raw import read
    from shapely import from_wkb

    seed(api.services.store)
    for who, client in (("public", api.public), ("viewer", api.as_("viewer")),
                        ("other_org", api.as_("editor", name="editor_b", org=OTHER_ORG))):
        token = client.http.headers.get("Authorization", "").removeprefix("Bearer ")
        # GDAL's bearer-token options (GDAL_HTTP_HEADERS does not reach OAPIF's requests:
        # the driver sets headers of its own, which replace it).
        set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER" if token else None,
                                 "GDAL_HTTP_BEARER": token or None})
        try:
            source = f"OAPIF:{served}/ogc"
            layers = [name for name, _ in list_layers(source)]
            collections = [c["id"] for c in client.get("/ogc/collections").json()[
                "collections"]]
            assert layers == collections, who
            for layer in ("accidents", "hazards", "victims"):
                if layer not in collections:
                    continue
                want = ogc_all(client, layer)[0]
                # Times as GDAL's text: pyogrio's own conversion fails on a time GDAL
                # rounds up to a whole second (.9996 s: "microsecond must be in 0..999999").
                meta, _, geometries, columns = read(source, layer=layer, PAGE_SIZE=4,
                                                    datetime_as_string=True)
                values = dict(zip(meta["fields"], columns, strict=True))
                assert [str(v) for v in values["id"]] == [f["id"] for f in want], (who, layer)
                for i, feature in enumerate(want):
                    props = feature["properties"]
                    assert set(values) == set(props), (who, layer)
                    for name, column in values.items():
                        assert _same(props[name], column[i]), (who, layer, name)
                    if feature["geometry"] is None:
                        assert geometries is None or geometries[i] is None
                    else:
                        assert from_wkb(geometries[i]).equals(shape(feature["geometry"]))
        finally:
            set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
        if who == "public":
            assert "victims" not in layers and "accidents" in layers
        else:
            assert "victims" in layers


# -- the OGC's own checks: the PyPI ogctests suite ----------------------------------------

_GEOMETRIES = {
    "Point": {"type": "Point", "coordinates": [-75.0, 6.0]},
    "Polygon": {"type": "Polygon", "coordinates": [[[-75, 6], [-75, 6.01], [-74.99, 6.01],
                                                   [-75, 6]]]},
    "LineString": {"type": "LineString", "coordinates": [[-75, 6], [-74.99, 6.01]]},
}


# ogctests pins httpx, pytest and pyarrow below this project's pins, so it lives in a
# virtualenv of its own (tests/ogctests-requirements.txt, built by the script below).
OGCTESTS_SCRIPT = "scripts/ogctests-venv.sh"
OGCTESTS_VENV_ENV = "MINEACTION_OGCTESTS_VENV"  # another venv than ./.venv-ogctests

# Run in that venv's Python: the suite against the server URL given as argv[1], with the
# pytest flags that follow; exits with the suite's status.
_RUN_OGCTESTS = """
import sys

import httpx
from ogctests.main import run_ogctests

with httpx.Client(base_url=sys.argv[1], timeout=60) as client:
    # Built on first use: the suite reads it once more with httpx's 5 s default.
    assert client.get("/api").status_code == 200
    sys.exit(run_ogctests("features/core", test_client=client, flags=sys.argv[2:]))
"""


def ogctests_python(repo_root: Any) -> str:
    """The ogctests venv's Python; skipped when it is not built, failed in CI (where the
    suite must run: scripts/test builds it), as tests/conftest.py's skip_or_fail does."""
    import os
    from pathlib import Path

    venv = Path(os.environ.get(OGCTESTS_VENV_ENV) or repo_root / ".venv-ogctests")
    python = venv / "bin" / "python"
    if python.exists():
        return str(python)
    reason = f"the ogctests virtualenv {venv} is not built: run {OGCTESTS_SCRIPT}"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI=true: this is never skipped in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("serve_env", [{"MINEACTION_OGC_NONSPATIAL_COLLECTIONS": "false"}])
def test_ogctests_core_suite_passes(api: Api, served: str, repo_root: Any, tmp_path: Any,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """ogctests' features/core suite, in a process of its own with its own virtualenv,
    against the server, with a located record in every collection the public sees (the
    suite wants features in each).

    The suite's GeoJSON schemas refuse a null geometry, which RFC 7946 allows and the
    collections of kinds without one (victims, sources) hold: the server runs with
    those collections off (`ogc_nonspatial_collections`), as for such a client.

    ogctests 0.1.15 pins httpx<0.28, pytest<9 and pyarrow<18, below this project's pins,
    so it cannot be a dependency of .venv: scripts/ogctests-venv.sh builds .venv-ogctests
    from tests/ogctests-requirements.txt (scripts/test runs it first; docs/ogc-api.md)."""
    import os
    import subprocess

    import httpx

    python = ogctests_python(repo_root)
    from test_api_permissions import BODIES, COLLECTION

    seed(api.services.store)
    editor, approver = api.as_("editor"), api.as_("approver")
    for kind, body in BODIES.items():
        spec = geometry_column(ENTITIES[kind])
        if spec is not None and spec.geometry is not None:
            shape_name = next(g.removeprefix("Multi") for g in spec.geometry.accepts
                              if g.removeprefix("Multi") in _GEOMETRIES)
            geometry = _GEOMETRIES[shape_name]
            if spec.geometry.accepts == (f"Multi{shape_name}",):
                geometry = {"type": f"Multi{shape_name}",
                            "coordinates": [geometry["coordinates"]]}
            body = {**body, spec.name: geometry}
        rec = editor.post(f"/api/v1/{COLLECTION[kind]}", json=body).json()
        url = f"/api/v1/{COLLECTION[kind]}/{rec['id']}"
        assert editor.post(f"{url}/submit").status_code == 200
        assert approver.post(f"{url}/approve").status_code == 200
    assert httpx.get(f"{served}/ogc/collections/sources").status_code == 404  # setting off
    # ogctests sets CLIENT_OVERRIDDEN itself when given a client; none may come in from
    # here. INSTANCE_URL names the server in its report.
    monkeypatch.delenv("CLIENT_OVERRIDDEN", raising=False)
    env = {**os.environ, "INSTANCE_URL": f"{served}/ogc"}
    # `-c /dev/null`, run from tmp_path: none of this project's pytest settings (found
    # above the venv) reach the suite's own pytest.
    flags = ["-q", "-rfE", "-p", "no:cacheprovider", "-c", os.devnull,
             "--rootdir", str(tmp_path)]
    done = subprocess.run([python, "-c", _RUN_OGCTESTS, f"{served}/ogc", *flags],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=500)
    report = done.stdout + done.stderr
    print(report)  # pytest shows it with -rA or on failure
    assert done.returncode == 0, f"ogctests' core suite failed (exit {done.returncode}):\n" \
        + report
    assert " passed" in report and "failed" not in report, report


def test_the_documented_filters_run(api: Api, repo_root: Any) -> None:
    """Every filter example of docs/ogc-api.md is accepted and selects something."""
    seed(api.services.store)
    text = (repo_root / "docs" / "ogc-api.md").read_text()
    block = text.split("## Filters (CQL2 text)", 1)[1].split("As a URL", 1)[0]
    examples = [line.strip() for line in block.splitlines() if line.startswith("    ")]
    assert len(examples) >= 8
    viewer = api.as_("viewer")
    for example in examples:
        coll = "hazards" if "hazard_status" in example else "accidents"
        r = viewer.get(f"/ogc/collections/{coll}/items", params={"filter": example})
        assert r.status_code == 200, (example, r.text)
        if coll == "accidents":
            assert r.json()["numberMatched"] > 0, example
