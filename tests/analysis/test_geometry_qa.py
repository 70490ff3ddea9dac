# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry QA (issue 18, 5): a seeded store of clean records of every geometry kind with
one planted fault of each code; QA finds every planted fault and nothing else. Then the
same store through `mineaction check-geometry`, the API (a viewer against the public) and
the web pages (in-process, no browser)."""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, Point, Polygon, box
from typer.testing import CliRunner

from mineaction.analysis import geometry_qa
from mineaction.analysis.geometry_qa import check_geometry
from mineaction.domain.models import (
    STORED_ROWS,
    Accident,
    AdminArea,
    Find,
    Hazard,
    Place,
    ReleasedPart,
    RiskEducationSession,
)
from mineaction.store import Store, open_store

SEED = 18
DATASET = "seed"
# Two admin areas side by side (1 degree squares, cut into short edges so that their own
# borders are no long-segment fault).
AREAS = {"AZ01": box(46.5, 39.5, 47.5, 40.5), "AZ02": box(47.5, 39.5, 48.5, 40.5)}
M_PER_DEG_LAT = 111_000.0


def metres(lon: float, lat: float, dx: float, dy: float) -> tuple[float, float]:
    """The point dx metres east and dy north of (lon, lat), near enough for a fixture."""
    return (lon + dx / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
            lat + dy / M_PER_DEG_LAT)


def blob(rng: random.Random, lon: float, lat: float) -> Polygon:
    """A clean star-shaped polygon of 5 to 9 vertices, 100 to 300 m from its centre."""
    n = rng.randint(5, 9)
    angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
    # Angles at least a little apart, so no two vertices nearly coincide.
    angles = [2 * math.pi * i / n + rng.uniform(-0.2, 0.2) for i in range(n)]
    ring = [metres(lon, lat, r * math.cos(a), r * math.sin(a))
            for a, r in ((a, rng.uniform(100, 300)) for a in angles)]
    return Polygon(ring)


def cells(rng: random.Random) -> Iterator[tuple[float, float]]:
    """Centres of grid cells 0.02 degrees apart inside AZ01 (a blob fits in one cell)."""
    spots = [(46.6 + 0.02 * i, 39.6 + 0.02 * j) for i in range(40) for j in range(40)]
    rng.shuffle(spots)
    yield from spots


def build(rng: random.Random) -> tuple[list[Any], list[Any], set[tuple[str, str]],
                                       dict[str, str]]:
    """(clean records, faulty records written unchecked, the planted (external id,
    code) pairs, external ids to be given stray spaces after the write)."""
    spot = cells(rng)
    clean: list[Any] = []
    n = 0

    def ext(prefix: str) -> dict[str, str]:
        nonlocal n
        n += 1
        return {"dataset": DATASET, "external_id": f"{prefix}-{n}"}

    for pcode, area in AREAS.items():
        clean.append(AdminArea(pcode=pcode, name=pcode, level=1, dataset=DATASET,
                               external_id=pcode, geometry=shapely.segmentize(area, 0.02)))
    for _ in range(30):
        clean.append(Hazard(hazard_kind=rng.choice(["SHA", "CHA"]),
                            geometry=blob(rng, *next(spot)), admin_area_pcode="AZ01",
                            **ext("HZ")))
    for _ in range(4):  # multipolygons, spot hazards
        a, b = next(spot), next(spot)
        clean.append(Hazard(hazard_kind="SHA", geometry=MultiPolygon(
            [blob(rng, *a), blob(rng, *b)]), **ext("HZ")))
        clean.append(Hazard(hazard_kind="CHA", geometry=Point(next(spot)),
                            admin_area_pcode="AZ01", **ext("HZ")))
    for _ in range(10):
        clean.append(ReleasedPart(activity_id=uuid.uuid4(), method="cleared",
                                  geometry=blob(rng, *next(spot)), **ext("RP")))

    def point() -> Point:
        return Point(rng.uniform(46.55, 48.45), rng.uniform(39.55, 40.45))

    for model, count in ((Find, 40), (Accident, 40), (Place, 10),
                         (RiskEducationSession, 10)):
        for _ in range(count):
            p = point()
            extra: dict[str, Any] = {"admin_area_pcode": "AZ01" if p.x < 47.5 else "AZ02"}
            if model is Place:
                extra["name"] = f"place {n}"
            clean.append(model(geometry=p, **extra, **ext(model.kind[:2].upper())))

    planted: set[tuple[str, str]] = set()
    faulty: list[Any] = []

    def plant(code: str, record: Any, *, checked: bool = False) -> None:
        (clean if checked else faulty).append(record)
        planted.add((record.external_id, code))

    # Invalid geometries are refused on write: built as if read back from the store,
    # which skips the geometry checks, as a bulk load from GIS files might leave them.
    unchecked = STORED_ROWS.set(True)
    lon, lat = next(spot)
    x1, y1 = metres(lon, lat, 200, 200)
    plant("self-intersection", Hazard(hazard_kind="SHA", external_id="BAD-BOWTIE",
                                      dataset=DATASET, geometry=Polygon(
                                          [(lon, lat), (x1, y1), (x1, lat), (lon, y1)])))
    lon, lat = next(spot)
    shell = blob(rng, lon, lat)
    hole = blob(rng, *next(spot)).exterior.coords
    plant("invalid-polygon", Hazard(hazard_kind="SHA", external_id="BAD-HOLE",
                                    dataset=DATASET, geometry=Polygon(shell.exterior.coords,
                                                                      [hole])))
    lon, lat = next(spot)
    plant("too-few-vertices", ReleasedPart(
        activity_id=uuid.uuid4(), method="reduced", external_id="BAD-TWO", dataset=DATASET,
        geometry=Polygon([(lon, lat), metres(lon, lat, 50, 50), (lon, lat), (lon, lat)])))
    STORED_ROWS.reset(unchecked)
    # Checked like any record: repeated points and slivers are valid geometries.
    ring = list(blob(rng, *next(spot)).exterior.coords)
    plant("repeated-closing-point", Hazard(hazard_kind="CHA", external_id="BAD-CLOSE",
                                           dataset=DATASET,
                                           geometry=Polygon([*ring, ring[0], ring[0]])),
          checked=True)
    ring = list(blob(rng, *next(spot)).exterior.coords)
    plant("duplicate-point", ReleasedPart(activity_id=uuid.uuid4(), method="cleared",
                                          external_id="BAD-DUP", dataset=DATASET,
                                          geometry=Polygon([*ring[:2], ring[1], *ring[2:]])),
          checked=True)
    lon, lat = next(spot)
    plant("sliver", Hazard(hazard_kind="SHA", external_id="BAD-SLIVER", dataset=DATASET,
                           geometry=Polygon([(lon, lat), metres(lon, lat, 1000, 0),
                                             metres(lon, lat, 1000, 2), metres(lon, lat, 0, 2)])),
          checked=True)
    # Away from the grid (south of it), 6 km legs.
    lon, lat = 47.2, 39.52
    plant("long-segment", Hazard(hazard_kind="SHA", external_id="BAD-LONG", dataset=DATASET,
                                 geometry=Polygon([(lon, lat), metres(lon, lat, 6000, 0),
                                                   metres(lon, lat, 3000, 5000)])),
          checked=True)
    lon, lat = next(spot)
    for name, dx in (("BAD-OVER-A", 0), ("BAD-OVER-B", 150)):
        plant("overlap", Hazard(hazard_kind="CHA", external_id=name, dataset=DATASET,
                                geometry=Polygon([metres(lon, lat, dx, 0),
                                                  metres(lon, lat, dx + 200, 0),
                                                  metres(lon, lat, dx + 200, 200),
                                                  metres(lon, lat, dx, 200)])),
              checked=True)
    p = point()
    for name in ("BAD-COPY-1", "BAD-COPY-2"):
        plant("duplicate-record", Find(geometry=p, device_category="ap_mine",
                                       find_date="2021-05-04", external_id=name,
                                       dataset=DATASET), checked=True)
    for name in ("ACC 77", "acc77"):
        plant("duplicate-id", Accident(geometry=point(), external_id=name, dataset=DATASET),
              checked=True)
    plant("id-spaces", Place(name="spaced", geometry=point(), external_id="BAD-SPACE",
                             dataset=DATASET), checked=True)
    # In AZ02, 20 km and more east of AZ01's border, but said to be in AZ01.
    plant("far-from-admin-area", Find(geometry=Point(47.8, 40.0), admin_area_pcode="AZ01",
                                      external_id="BAD-FAR", dataset=DATASET), checked=True)
    return clean, faulty, planted, {"BAD-SPACE": "  BAD-SPACE "}


def seed(store: Store) -> set[tuple[str, str]]:
    """Write the seeded records; the planted (external id, code) pairs."""
    clean, faulty, planted, spaced = build(random.Random(SEED))
    for record in [*clean, *faulty]:
        store.add(record)
    # Pydantic strips spaces from ids: the stray ones are put in behind its back.
    with store.engine.begin() as conn:
        for plain, stray in spaced.items():
            conn.execute(sa.text("UPDATE places SET external_id = :s WHERE external_id = :p"),
                         {"s": stray, "p": plain})
    assert faulty and len(clean) > 150
    return {(spaced.get(e, e), code) for e, code in planted}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[tuple[str, str]]]:
    path = tmp_path_factory.mktemp("qa") / "store.gpkg"
    with open_store(path) as store:
        planted = seed(store)
    return path, planted


def found(faults: list[Any]) -> set[tuple[str, str]]:
    return {(f.label, f.code) for f in faults}


def test_finds_every_planted_fault_and_nothing_else(seeded: Any) -> None:
    path, planted = seeded
    assert {code for _, code in planted} == set(geometry_qa.CODES)  # every code planted
    with open_store(path) as store:
        report = check_geometry(store, page_size=37)  # many pages
    assert found(report.faults) == planted
    assert len(report.faults) == len(planted)  # one fault per record and code
    assert report.checked["hazard"] > 40 and report.checked["find"] > 40
    by = {(f.label, f.code): f for f in report.faults}
    over = by[("BAD-OVER-A", "overlap")]
    # Two 200 m squares 150 m apart: a 50 m by 200 m overlap, 10,000 m² (±1%).
    area = float(over.message.split(" by ")[1].split(" m²")[0].replace(",", ""))
    assert area == pytest.approx(10_000, rel=0.01)
    assert "make_valid" in by[("BAD-BOWTIE", "self-intersection")].repair
    assert "'BAD-SPACE'" in by[("  BAD-SPACE ", "id-spaces")].repair
    far = by[("BAD-FAR", "far-from-admin-area")]
    assert far.where == (47.8, 40.0) and "AZ01" in far.message
    for f in report.faults:
        assert f.where is not None and f.repair and f.message


def test_one_kind_only(seeded: Any) -> None:
    path, planted = seeded
    with open_store(path) as store:
        report = check_geometry(store, ["accident"])
    assert found(report.faults) == {p for p in planted if p[0] in ("ACC 77", "acc77")}


def test_one_record_checked_in_its_neighbourhood_alone(seeded: Any) -> None:
    """A record's page checks the records around it only: the same faults as the whole
    store's check (duplicate ids aside: they may lie anywhere in a dataset)."""
    path, _ = seeded
    with open_store(path) as store:
        full = check_geometry(store).faults
        faulty = {(f.kind, f.record_id) for f in full}
        for kind, rid in faulty:
            want = {f.code for f in full if f.record_id == rid and f.code != "duplicate-id"}
            assert {f.code for f in geometry_qa.check_record(store, kind, rid)} == want
        for kind in ("hazard", "find", "released_part"):
            rows, _ = store.query_rows(geometry_qa.Query(kind=kind, limit=15))
            for row in rows:
                if (kind, row["id"]) not in faulty:
                    assert geometry_qa.check_record(store, kind, row["id"]) == []


# -- the command line -------------------------------------------------------------------------
def cli(*args: str) -> tuple[int, str]:
    from mineaction.cli import app

    result = CliRunner().invoke(app, ["check-geometry", *args], env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_cli_reports_by_fault_and_exits_1(seeded: Any) -> None:
    path, planted = seeded
    code, out = cli("--store", str(path), "--format", "json")
    assert code == 1, out
    body = json.loads(out)
    assert {(f["label"], f["code"]) for f in body["faults"]} == planted
    assert body["counts"]["overlap"] == 2 and body["thresholds"]["max_segment_m"] == 5000
    code, out = cli("--store", str(path), "--kind", "hazards")
    assert code == 1
    assert "overlap: overlapping hazards (2)" in out and "repair: shapely.make_valid" in out
    assert "BAD-FAR" not in out  # a find
    code, out = cli("--store", str(path), "--kind", "accidents", "--format", "csv")
    assert code == 1 and out.splitlines()[0].startswith("code,kind,record_id")
    assert len(out.splitlines()) == 3


def test_cli_clean_store_and_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "clean.gpkg"
    with open_store(path) as store:
        store.add(Hazard(hazard_kind="SHA", geometry=blob(random.Random(1), 47.0, 40.0)))
    code, out = cli("--store", str(path))
    assert code == 0 and "No faults found." in out
    assert cli("--store", str(path), "--kind", "victims")[0] == 2
    assert cli("--store", str(path), "--format", "xml")[0] == 2
    assert cli("--store", str(tmp_path / "none.gpkg"))[0] == 2


# -- the API and the web: who sees which faults ------------------------------------------------
APPROVED = ("BAD-SLIVER", "BAD-OVER-A", "ACC 77", "acc77", "BAD-FAR")
# The public reads approved records only: not the draft BAD-OVER-B, so not the overlap
# (it names both); never an accident's external id, so not the duplicate ids.
PUBLIC_SEES = {("BAD-SLIVER", "sliver"), ("BAD-FAR", "far-from-admin-area")}


@pytest.fixture
def app_store(seeded: Any, tmp_path: Path) -> Iterator[Any]:
    import shutil

    from mineaction.app import create_app
    from mineaction.services.settings import load_settings
    from mineaction.web import mount_web

    path = tmp_path / "store.gpkg"
    shutil.copy(seeded[0], path)
    with open_store(path) as store, store.engine.begin() as conn:
        for table in ("hazards", "accidents", "finds"):
            conn.execute(sa.text(f"UPDATE {table} SET status = 'approved' "  # noqa: S608
                                 "WHERE external_id IN :ids").bindparams(
                                     sa.bindparam("ids", expanding=True)),
                         {"ids": list(APPROVED)})
    settings = load_settings(store=str(path), argon2_time_cost=1, argon2_memory_kib=64,
                             upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)
    app.state.services.users.add("vera", "correct horse battery", "viewer", None)
    try:
        yield app
    finally:
        app.state.services.close()


def run_client(app: Any, body: Any) -> None:
    import anyio
    import httpx

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            await body(c)

    anyio.run(run)


async def sign_in(c: Any) -> None:
    r = await c.post("/api/v1/auth/login", json={"username": "vera",
                                                 "password": "correct horse battery"})
    assert r.status_code == 200, r.text


def test_api_viewer_sees_every_fault_the_public_only_its_own(app_store: Any,
                                                             seeded: Any) -> None:
    planted = seeded[1]

    async def body(c: Any) -> None:
        r = await c.get("/api/v1/checks/geometry")
        assert r.status_code == 200, r.text
        public = r.json()
        assert {(f["label"], f["code"]) for f in public["faults"]} == PUBLIC_SEES
        assert public["counts"] == {"far-from-admin-area": 1, "sliver": 1}
        assert public["checked_at"] and public["thresholds"]["sliver_ratio"] == 0.001
        sliver = next(f for f in public["faults"] if f["code"] == "sliver")
        assert sliver["record"] == f"/api/v1/hazards/{sliver['record_id']}"
        assert (await c.get(sliver["record"])).status_code == 200  # readable by the public
        r = await c.get("/api/v1/checks/geometry", params={"kind": "accidents"})
        assert r.json()["faults"] == [] and set(r.json()["checked"]) == {"accident"}
        assert (await c.get("/api/v1/checks/geometry",
                            params={"kind": "victims"})).status_code == 422
        await sign_in(c)
        viewer = (await c.get("/api/v1/checks/geometry")).json()
        assert {(f["label"], f["code"]) for f in viewer["faults"]} == planted

    run_client(app_store, body)


def test_web_lists_faults_per_record_and_on_the_record_page(app_store: Any) -> None:
    import re

    async def body(c: Any) -> None:
        page = (await c.get("/checks/geometry")).text
        assert sorted(re.findall(r'<tr data-record="[0-9a-f-]{36}" data-code="([a-z-]+)"',
                                 page)) == sorted(code for _, code in PUBLIC_SEES)
        assert "BAD-OVER-A" not in page and "BAD-SLIVER" in page
        link = re.search(r'href="(/records/hazards/[0-9a-f-]{36})">hazard BAD-SLIVER', page)
        assert link
        record = (await c.get(link.group(1))).text
        assert "Geometry faults" in record and 'data-code="sliver"' in record
        assert "<script>" not in page  # no inline script
        await sign_in(c)
        page = (await c.get("/checks/geometry", params={"kind": "hazards"})).text
        codes = re.findall(r'<tr data-record="[0-9a-f-]{36}" data-code="([a-z-]+)"', page)
        assert sorted(codes) == sorted(["invalid-polygon", "self-intersection", "sliver",
                                        "long-segment", "overlap", "overlap",
                                        "repeated-closing-point"])
        over = re.search(r'href="(/records/hazards/[0-9a-f-]{36})">hazard BAD-OVER-A', page)
        assert over
        assert 'data-code="overlap"' in (await c.get(over.group(1))).text
        hazards = (await c.get("/api/v1/hazards", params={"limit": 100})).json()
        clean = next(h["id"] for h in hazards["features" if "features" in hazards
                                              else "items"]
                     if (h.get("properties", h)["external_id"] or "").startswith("HZ-"))
        assert "Geometry faults" not in (await c.get(f"/records/hazards/{clean}")).text
        assert (await c.get("/checks/geometry", params={"kind": "victims"})).status_code == 404

    run_client(app_store, body)
