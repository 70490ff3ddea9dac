"""The Store interface's contract, run on the GeoPackage and the PostGIS store alike."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
import shapely
from shapely.geometry import Point, box

from mineaction.domain.models import Accident, Hazard, Source, Victim
from mineaction.store import Near, NotFound, Query, Store, VersionConflict, open_store
from mineaction.store.errors import DuplicateKey

BOGOTA = (-74.0817, 4.6097)


def _accident(lon: float, lat: float, **kw: object) -> Accident:
    return Accident(geometry=Point(lon, lat), **kw)


def test_add_and_get_round_trip(store: Store) -> None:
    source = store.add(Source(source_kind="media", title="El Tiempo, 3 May 2006", reliability="C",
                              credibility=3))
    hazard = store.add(Hazard(
        hazard_kind="CHA", geometry=box(-75.01, 6.0, -75.0, 6.01), contamination={"ap_mine", "uxo"},
        blockages={"agriculture"}, beneficiaries=120, date_reported=date(2019, 5, 2),
        source_ids=[source.id], admin_area_pcode="05313",
    ), by="ana")
    got = store.get("hazard", hazard.id)
    assert got.id == hazard.id
    assert got.contamination == {"ap_mine", "uxo"}
    assert got.blockages == {"agriculture"}
    assert got.source_ids == [source.id]
    assert got.created_by == "ana" and got.version == 1
    assert got.geometry.equals_exact(hazard.geometry, 1e-9)
    # About 1.1 km x 1.1 km at 6 degrees north, computed on the ellipsoid.
    assert got.area_m2 == pytest.approx(1_226_000, rel=0.01)
    assert got.date_reported == date(2019, 5, 2)


def test_get_missing_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get("accident", uuid.uuid4())


def test_duplicate_external_key_is_refused(store: Store) -> None:
    store.add(_accident(*BOGOTA, dataset="d", external_id="A-1"))
    with pytest.raises(DuplicateKey):
        store.add(_accident(*BOGOTA, dataset="d", external_id="A-1"))


def test_update_with_stale_version_conflicts_and_loses_nothing(store: Store) -> None:
    a = store.add(_accident(*BOGOTA, narrative="first"))
    first = store.update(a.model_copy(update={"narrative": "editor one"}), expected_version=1)
    assert first.version == 2
    with pytest.raises(VersionConflict) as exc:
        store.update(a.model_copy(update={"narrative": "editor two"}), expected_version=1)
    assert exc.value.current == 2
    assert store.get("accident", a.id).narrative == "editor one"


def test_concurrent_editors_exactly_one_wins(store: Store) -> None:
    a = store.add(_accident(*BOGOTA))
    outcomes: list[str] = []

    def edit(text: str) -> None:
        try:
            store.update(a.model_copy(update={"narrative": text}), expected_version=1)
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(f"editor {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert store.get("accident", a.id).version == 2


def test_delete_leaves_the_table_and_is_kept_in_history(store: Store) -> None:
    a = store.add(_accident(*BOGOTA, narrative="reported"))
    store.delete("accident", a.id, by="ana")
    with pytest.raises(NotFound):
        store.get("accident", a.id)
    with pytest.raises(NotFound):
        store.delete("accident", a.id)
    assert store.count(Query(kind="accident")) == 0
    # The feature table holds current records only (GIS clients count its rows); the
    # deletion is a tombstone beside it.
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM accidents").scalar() == 0
        assert conn.exec_driver_sql(
            "SELECT record_id, version, deleted_by, reason FROM deleted_records").all() == [
            (str(a.id), 2, "ana", "edit")]
    assert store.deletions() == {"accident": {"edit": 1}}
    # A stale editor cannot bring it back.
    with pytest.raises(VersionConflict):
        store.update(a.model_copy(update={"narrative": "edited"}), expected_version=1)
    versions = store.history("accident", a.id)
    assert [(v["version"], v["action"]) for v in versions] == [(1, "delete"), (2, "deleted")]
    assert versions[0]["data"]["narrative"] == "reported"
    assert versions[1]["data"]["deleted_by"] == "ana"


def test_history_keeps_every_version(store: Store) -> None:
    a = store.add(_accident(*BOGOTA, narrative="v1"))
    b = store.update(a.model_copy(update={"narrative": "v2"}), expected_version=1, by="ana")
    store.update(b.model_copy(update={"narrative": "v3"}), expected_version=2, by="ben")
    versions = store.history("accident", a.id)
    assert [v["data"]["narrative"] for v in versions] == ["v1", "v2", "v3"]
    assert [v["superseded_by"] for v in versions] == ["ana", "ben", None]


def test_write_listeners_see_every_write_in_its_transaction(store: Store) -> None:
    seen = []
    store.write_listeners.append(lambda conn, event: seen.append((event.action, event.version)))
    a = store.add(_accident(*BOGOTA))
    store.update(a, expected_version=1)
    store.delete("accident", a.id)
    assert seen == [("create", 1), ("update", 2), ("delete", 3)]


@pytest.fixture
def grid(store: Store) -> Store:
    """100 accidents on a 0.01-degree grid near Bogota, dated by month of 2020-2021,
    half approved, in two admin areas; two victims on the first one."""
    for i in range(100):
        lon, lat = BOGOTA[0] + (i % 10) * 0.01, BOGOTA[1] + (i // 10) * 0.01
        store.add(_accident(
            lon, lat, accident_date=date(2020 + i // 50, 1 + i % 12, 1),
            admin_area_pcode="11001" if i < 60 else "25754",
            status="approved" if i % 2 == 0 else "submitted", dataset="grid", external_id=str(i),
        ))
    first = store.query(Query(kind="accident", where={"external_id": "0"})).items[0]
    store.add(Victim(accident_id=first.id, outcome="killed"))
    store.add(Victim(accident_id=first.id, outcome="injured"))
    return store


def test_query_by_bbox(grid: Store) -> None:
    # Columns 0-2 and rows 0-1 of the grid: 3 x 2 points.
    bbox = (BOGOTA[0] - 0.001, BOGOTA[1] - 0.001, BOGOTA[0] + 0.021, BOGOTA[1] + 0.011)
    page = grid.query(Query(kind="accident", bbox=bbox, limit=None))
    assert sorted(int(a.external_id) for a in page.items) == [0, 1, 2, 10, 11, 12]


def test_query_within_distance_is_geodesic(grid: Store) -> None:
    # 0.01 degrees of longitude at 4.6 N is about 1,109 m; of latitude about 1,106 m.
    centre = Point(*BOGOTA)
    near = grid.query(Query(kind="accident", near=Near(centre, 1_120), limit=None))
    assert sorted(int(a.external_id) for a in near.items) == [0, 1, 10]
    closer = grid.query(Query(kind="accident", near=Near(centre, 1_000), limit=None))
    assert [int(a.external_id) for a in closer.items] == [0]
    # Distance to a polygon: the points within 500 m of a square around point 55.
    square = box(BOGOTA[0] + 0.049, BOGOTA[1] + 0.049, BOGOTA[0] + 0.051, BOGOTA[1] + 0.051)
    around = grid.query(Query(kind="accident", near=Near(square, 500), limit=None))
    assert [int(a.external_id) for a in around.items] == [55]


def test_query_by_admin_area_matches_the_area_and_below(grid: Store) -> None:
    assert grid.count(Query(kind="accident", admin_area="11001")) == 60
    assert grid.count(Query(kind="accident", admin_area="25")) == 40
    assert grid.count(Query(kind="accident", admin_area="2575")) == 40
    assert grid.count(Query(kind="accident", admin_area="99")) == 0


def test_query_by_date_range_and_status(grid: Store) -> None:
    in_2021 = Query(kind="accident", date_from=date(2021, 1, 1), date_to=date(2021, 12, 31))
    assert grid.count(in_2021) == 50
    approved_2021 = Query(kind="accident", date_from=date(2021, 1, 1), status=("approved",))
    assert grid.count(approved_2021) == 25


def test_victims_are_filtered_through_their_accident(grid: Store) -> None:
    assert grid.count(Query(kind="victim", admin_area="11001")) == 2
    assert grid.count(Query(kind="victim", admin_area="25754")) == 0
    assert grid.count(Query(kind="victim", near=Near(Point(*BOGOTA), 10))) == 2
    assert grid.count(Query(kind="victim", bbox=(0, 0, 1, 1))) == 0


def test_paging_by_offset_and_by_key(grid: Store) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = grid.query(Query(kind="accident", limit=30, after_fid=after))
        seen += [a.external_id for a in page.items]
        if page.next_after_fid is None:
            break
        after = page.next_after_fid
    assert len(seen) == 100 and len(set(seen)) == 100
    by_offset = grid.query(Query(kind="accident", limit=30, offset=90))
    assert len(by_offset.items) == 10 and by_offset.next_after_fid is None


def test_schema_version_is_recorded_and_reopen_keeps_data(store: Store) -> None:
    a = store.add(_accident(*BOGOTA))
    assert store.schema_version() >= 1
    again = open_store(store.location)
    try:
        assert again.get("accident", a.id).id == a.id
    finally:
        again.close()


def test_spot_hazard_point_and_invalid_polygon(store: Store) -> None:
    spot = store.add(Hazard(hazard_kind="SHA", geometry=Point(-75.5, 6.2)))
    assert store.get("hazard", spot.id).geometry.geom_type == "Point"
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    with pytest.raises(ValueError, match="invalid geometry"):
        Hazard(hazard_kind="SHA", geometry=bowtie)
