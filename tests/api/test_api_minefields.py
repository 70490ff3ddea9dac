# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield records over the API (issue 18), on both stores: the traverse of a form
(compute), importing a record file with its attachments (one transaction: nothing written
on error), the accuracy of a record against planted finds, attachments read back with
their sha256 and hidden from the public, and the residual-risk block on releasing a
hazard with an approver's reasoned override."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Api
from pyproj import Geod
from shapely.geometry import Point

from mineaction.domain.models import Find, Hazard
from mineaction.store import Store
from mineaction.store.query import Query

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "minefield"
YAML = (EXAMPLES / "minefield-record.yaml").read_bytes()
SCAN = (EXAMPLES / "minefield-record-scan.png").read_bytes()
WORKED = {"TP1": (39.9945921, 46.9340700), "TP2": (39.9926815, 46.9365539),
          "TP3": (39.9910894, 46.9344840)}
LEGS = [{"to": "TP1", "from": "BM", "bearing": 45, "distance": 250},
        {"to": "TP2", "bearing": 135, "distance": 300},
        {"to": "TP3", "bearing": 225, "distance": 250},
        {"to": "BM", "bearing": 315, "distance": 300}]


def _hazard(store: Store) -> str:
    return str(store.add(Hazard(hazard_kind="CHA", dataset="anama",
                                external_id="HZ-AGH-0042")).id)


def _count(store: Store, kind: str) -> int:
    return len(store.query(Query(kind=kind, limit=None)).items)


def _import(api: Api, role: str = "editor", text: bytes = YAML, **data: Any) -> Any:
    return api.as_(role).post("/api/v1/minefield-records/import", files=[
        ("file", ("minefield-record.yaml", text, "application/yaml")),
        ("attachments", ("minefield-record-scan.png", SCAN, "image/png"))], data=data)


def test_compute_gives_the_worked_example(api: Api) -> None:
    r = api.as_("field").post("/api/v1/minefield-records/compute", json={
        "benchmark": {"name": "BM", "coordinates": "39.9930 N 46.9320 E"}, "legs": LEGS})
    assert r.status_code == 200, r.text
    out = r.json()
    points = {f["properties"]["name"]: f for f in out["points"]
              if not f["properties"]["closing"]}
    for name, (lat, lon) in WORKED.items():
        assert points[name]["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
        assert points[name]["properties"]["entered"]["bearing_unit"] == "degrees"
    assert out["closure"]["error_m"] == pytest.approx(0.0128, abs=1e-4)
    assert out["closure"]["precision"] == "1:85,600"
    assert out["perimeter"]["properties"]["area_m2"] == pytest.approx(75_002, abs=1)
    ring = out["perimeter"]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert {w["code"] for w in out["warnings"]} == {"leg_over_50m"}
    # The same legs in mils, benchmark by lat/lon, adjusted: closes onto the benchmark.
    mils = [{**leg, "bearing": leg["bearing"] * 6400 / 360, "bearing_unit": "mils"}
            for leg in LEGS]
    r = api.as_("field").post("/api/v1/minefield-records/compute", json={
        "benchmark": {"name": "BM", "lat": 39.9930, "lon": 46.9320}, "legs": mils,
        "adjust": True})
    assert r.status_code == 200, r.text
    assert r.json()["perimeter"]["properties"]["area_m2"] == pytest.approx(75_000.0, abs=0.1)


def test_compute_errors_and_who(api: Api) -> None:
    url = "/api/v1/minefield-records/compute"
    bad = [*LEGS[:1], {"to": "TP2", "from": "XX", "bearing": 135, "distance": 300}]
    r = api.as_("editor").post(url, json={"benchmark": {"name": "BM", "lat": 40, "lon": 47},
                                          "legs": bad})
    assert r.status_code == 422
    assert r.json()["field_errors"][0]["field"] == "legs.1"
    r = api.as_("editor").post(url, json={"benchmark": {"name": "BM", "lat": 40}, "legs": LEGS})
    assert r.status_code == 422
    magnetic = [{**leg, "bearing_reference": "magnetic"} for leg in LEGS]
    r = api.as_("editor").post(url, json={"benchmark": {"name": "BM", "lat": 40, "lon": 47},
                                          "legs": magnetic})
    assert r.status_code == 422 and "date" in r.json()["message"]
    assert api.public.post(url, json={"benchmark": {"name": "BM", "lat": 40, "lon": 47},
                                      "legs": LEGS}).status_code == 401


def test_import_writes_everything_and_attachments_round_trip(api: Api, store: Store) -> None:
    hazard = _hazard(store)
    dry = _import(api, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["record"]["area_m2"] == pytest.approx(75_001.6, abs=0.1)
    assert _count(store, "minefield_record") == 0
    r = _import(api)
    assert r.status_code == 201, r.text
    out = r.json()
    record = out["record"]
    assert record["hazard_id"] == hazard and record["status"] == "draft"
    assert record["closure_error_m"] == pytest.approx(0.0128, abs=1e-4)
    assert (out["points"], out["rows"], out["sources"]) == (11, 2, 2)
    assert len(record["source_ids"]) == 2
    got = api.as_("viewer").get(f"/api/v1/minefield-records/{record['id']}")
    assert got.status_code == 200 and got.json()["name"] == "MF-AGH-017"
    points = store.query(Query(kind="minefield_point", where={"record_id": record["id"]},
                               limit=None)).items
    tp1 = next(p for p in points if p.name == "TP1")
    assert (tp1.geometry.y, tp1.geometry.x) == pytest.approx(WORKED["TP1"], abs=1e-7)
    assert (tp1.from_point, tp1.bearing, tp1.distance) == ("BM", 45, 250)
    rp1 = next(p for p in points if p.name == "RP1")
    assert rp1.original_coordinates == "38S 664889 4428626"

    listed = api.as_("viewer").get(f"/api/v1/minefield-records/{record['id']}/attachments")
    assert listed.status_code == 200
    [meta] = listed.json()
    assert meta["sha256"] == hashlib.sha256(SCAN).hexdigest() and meta["size"] == len(SCAN)
    blob = api.as_("viewer").get(f"/api/v1/attachments/{meta['id']}")
    assert blob.status_code == 200 and blob.content == SCAN
    assert blob.headers["content-type"] == "image/png"
    assert hashlib.sha256(blob.content).hexdigest() == blob.headers["x-content-sha256"]
    # A photo added afterwards, by an editor; the public reads neither list nor bytes.
    photo = b"\xff\xd8\xff\xe0 not really a jpeg"
    added = api.as_("editor").post(f"/api/v1/minefield-records/{record['id']}/attachments",
                                   files={"file": ("row-a.jpg", photo, "image/jpeg")},
                                   data={"caption": "start of row A"})
    assert added.status_code == 201, added.text
    assert added.json()["sha256"] == hashlib.sha256(photo).hexdigest()
    assert api.as_("viewer").post(f"/api/v1/minefield-records/{record['id']}/attachments",
                                  files={"file": ("x.jpg", photo)}).status_code == 403
    # The record's page shows the scan and the photo, and links to each.
    page = api.browser("editor").get(f"/records/minefield-records/{record['id']}")
    assert page.status_code == 200, page.text[:300]
    assert 'id="attachments"' in page.text and "row-a.jpg" in page.text
    # the page serves its files itself, through the record's visibility (web/attachments)
    assert f'<img src="/web/attachments/{meta["id"]}"' in page.text
    shown = api.browser("editor").get(f"/web/attachments/{meta['id']}")
    assert shown.status_code == 200 and shown.content == SCAN
    assert api.public.get(f"/api/v1/attachments/{meta['id']}").status_code == 401
    assert api.public.get(
        f"/api/v1/minefield-records/{record['id']}/attachments").status_code == 401
    assert api.public.get(f"/api/v1/minefield-records/{record['id']}").status_code in (401,
                                                                                     403)
    # Importing the same record again (same key) writes nothing at all.
    keyed = YAML.replace(b"name: MF-AGH-017", b"name: MF-AGH-017\ndataset: anama\n"
                         b"external_id: MF-AGH-017", 1)
    assert _import(api, text=keyed).status_code == 201
    before = {k: _count(store, k) for k in ("minefield_record", "minefield_point",
                                            "mine_row", "source")}
    again = _import(api, text=keyed)
    assert again.status_code == 409, again.text
    assert {k: _count(store, k) for k in before} == before


def test_import_errors_name_file_line_and_field(api: Api, store: Store) -> None:
    _hazard(store)
    bad = YAML.replace(b"bearing: 135, distance: 300}", b"bearing: east, distance: 300}", 1)
    r = _import(api, text=bad)
    assert r.status_code == 422
    [error] = r.json()["field_errors"]
    assert error["field"] == "legs[1].bearing"
    line = YAML.decode().splitlines().index(
        "  - {to: TP2, from: TP1, bearing: 135, distance: 300}") + 1
    assert error["message"].startswith(f"minefield-record.yaml, line {line}:")
    missing = YAML.replace(b"start: RS-B", b"start: RS-C", 1)
    r = _import(api, text=missing)
    assert r.status_code == 422 and "RS-C" in json.dumps(r.json())
    unknown_hazard = YAML.replace(b"HZ-AGH-0042", b"HZ-NONE", 1)
    assert _import(api, text=unknown_hazard).status_code == 422
    assert _import(api, role="viewer").status_code == 403
    assert all(_count(store, k) == 0 for k in ("minefield_record", "minefield_point",
                                               "mine_row", "source"))


def _plant_row(store: Store, hazard: str, row: Any, spacing: float, skip: int = 0) -> int:
    """Finds at a single row's mines, as recorded, leaving out the last `skip`."""
    geod = Geod(ellps="WGS84")
    (lon0, lat0), (lon1, lat1) = row.geometry.coords
    azimuth, _, length = geod.inv(lon0, lat0, lon1, lat1)
    n = int(length / spacing + 1e-6) + 1
    for k in range(n - skip):
        lon, lat, _ = geod.fwd(lon0, lat0, azimuth, spacing * k)
        store.add(Find(hazard_id=hazard, device_category="ap_mine", geometry=Point(lon, lat)))
    return n - skip


def _record_with_finds(api: Api, store: Store) -> tuple[str, str]:
    hazard = _hazard(store)
    r = _import(api)
    assert r.status_code == 201, r.text
    record = r.json()["record"]["id"]
    rows = store.query(Query(kind="mine_row", where={"record_id": record}, limit=None)).items
    _plant_row(store, hazard, next(x for x in rows if x.label == "A"), 5.0, skip=3)
    return hazard, record


def test_accuracy_of_a_record_with_planted_finds(api: Api, store: Store) -> None:
    _, record = _record_with_finds(api, store)
    r = api.as_("viewer").get(f"/api/v1/minefield-records/{record}/accuracy",
                              params={"tolerance": 5})
    assert r.status_code == 200, r.text
    out = r.json()
    rows = {row["row_id"]: row for row in out["rows"]}
    assert (rows["A"]["expected"], rows["A"]["found"], rows["A"]["unexplained"]) == (31, 28, 3)
    assert rows["B"]["found"] == 0
    assert out["finds"] == 28 and out["share_inside_perimeter"] == 1.0
    assert out["residual_risk"] is True and out["rule"].startswith("A record carries")
    assert out["median_offset_before_m"] == pytest.approx(0, abs=0.01)
    assert api.public.get(f"/api/v1/minefield-records/{record}/accuracy").status_code == 401


def test_release_is_blocked_until_an_approver_overrides(api: Api, store: Store) -> None:
    hazard, _ = _record_with_finds(api, store)
    patch = api.as_("editor").patch(f"/api/v1/hazards/{hazard}", json={
        "hazard_status": "closed"}, headers={"If-Match": '"1"'})
    assert patch.status_code == 409, patch.text
    assert "residual risk" in patch.json()["message"]
    url = f"/api/v1/hazards/{hazard}/release"
    assert api.as_("editor").post(url, json={"hazard_status": "closed"}).status_code == 409
    r = api.as_("editor").post(url, json={"hazard_status": "closed",
                                          "release_override_reason": "I say so"})
    assert r.status_code == 403
    r = api.as_("approver").post(url, json={"hazard_status": "closed",
                                            "release_override_reason": "  "})
    assert r.status_code == 409
    reason = "rows A and B lifted by the laying party, letter 2021/117 of 15 March 2021"
    r = api.as_("approver").post(url, json={"hazard_status": "closed",
                                            "date_closed": "2021-06-01",
                                            "release_override_reason": reason})
    assert r.status_code == 200, r.text
    assert r.json()["hazard_status"] == "closed" and r.json()["version"] == 2
    entries = api.as_("admin").get("/api/v1/audit/entries").json()
    override = [e for e in entries if e["action"] == "release_override"]
    assert len(override) == 1 and reason in json.dumps(override[0])
    # Released already: a further edit is not a release, and is not blocked.
    r = api.as_("editor").patch(f"/api/v1/hazards/{hazard}", json={"priority": 2},
                                headers={"If-Match": '"2"'})
    assert r.status_code == 200, r.text


def test_a_failure_mid_import_leaves_nothing(api: Api, store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The attachments are written last: failing there must take the record, its points,
    rows and sources with it."""
    from mineaction.services import minefields

    _hazard(store)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(minefields.Minefields, "_insert_attachment", broken)
    service = api.services.minefields
    plan = service.parse(YAML.decode(), origin="r.yaml",
                         files={"minefield-record-scan.png": SCAN})
    from mineaction.access.roles import Principal, Role

    with pytest.raises(RuntimeError):
        service.create(Principal("editor", Role.editor), plan)
    assert all(_count(store, k) == 0 for k in ("minefield_record", "minefield_point",
                                               "mine_row", "source"))


def test_the_audit_trail_covers_an_import(api: Api, store: Store) -> None:
    _hazard(store)
    record = _import(api).json()["record"]["id"]
    added = api.as_("editor").post(f"/api/v1/minefield-records/{record}/attachments",
                                   files={"file": ("p.jpg", b"photo", "image/jpeg")})
    assert added.status_code == 201
    verify = api.as_("admin").get("/api/v1/audit/verify")
    assert verify.status_code == 200 and verify.json()["ok"], verify.text
    entries = api.as_("admin").get("/api/v1/audit/entries", params={"limit": 1000}).json()
    created = {(e["action"], e["record_kind"]) for e in entries if e["record_id"]}
    assert {("create", "minefield_record"), ("create", "minefield_point"),
            ("create", "mine_row"), ("create", "source")} <= created
