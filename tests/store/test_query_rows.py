"""Store.query_rows: JSON-ready rows without a pydantic record per row must say exactly
what the validated record says (`model_dump(mode="json")`), on both stores, for every
kind of column: dates and timestamps, booleans, floats, sets, lists, points, polygons,
multipolygons, NULLs and sources."""

from __future__ import annotations

import json
from datetime import UTC, date

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from mineaction.domain.models import (
    Accident,
    AdminArea,
    Hazard,
    Organisation,
    Place,
    Record,
    Source,
    Victim,
)
from mineaction.store import Near, Query, Store


def _same(store: Store, record: Record) -> None:
    (row,), nxt = store.query_rows(Query(kind=record.kind, ids=(str(record.id),)))
    want = store.get(record.kind, record.id).model_dump(mode="json")
    # Beside the record's fields, a row carries its code (domain/codes.py), which the
    # store makes from the row: the same a single read gives.
    assert row.pop("code", None) == store.record_code(record.kind, record.id)
    for key in ("contamination", "blockages"):  # sets: stored sorted, dumped in any order
        if key in want:
            want[key], row[key] = sorted(want[key]), sorted(row[key])
    # Compared as JSON text: a tuple and a list of coordinates are the same answer.
    assert json.loads(json.dumps(row)) == json.loads(json.dumps(want)), record.kind
    assert nxt is None


def test_rows_equal_validated_records_for_every_column_kind(store: Store) -> None:
    src = store.add(Source(source_kind="media", title="El Tiempo", source_date=date(2020, 1, 2),
                           reliability="B", credibility=2))
    org = store.add(Organisation(name="HALO", acronym="HT", organisation_kind="ngo"))
    hz = store.add(Hazard(
        hazard_kind="CHA", contamination={"ap_mine", "uxo"}, blockages={"roads"},
        source_ids=[src.id], date_reported=date(2020, 5, 6), beneficiaries=30,
        organisation_id=org.id,
        geometry=Polygon([(-75, 6), (-75, 6.01), (-74.99, 6.01), (-75, 6)])), by="ana")
    acc = store.add(Accident(geometry=Point(-74.123456789, 4.987654321), narrative="ñandú",
                             accident_date=date(2021, 3, 4), hazard_id=hz.id,
                             source_ids=[src.id]), by="ana")
    vic = store.add(Victim(accident_id=acc.id, outcome="killed", age=12, name="Ana Pérez",
                           date_of_birth=date(2009, 1, 1)))
    empty = store.add(Accident())  # NULL geometry, defaults everywhere
    place = store.add(Place(name="La Cabaña", alternative_names=["A", "B"],
                            geometry=Point(-75.5, 6.25)))
    area = store.add(AdminArea(pcode="05", name="Antioquia", level=1, geometry=MultiPolygon(
        [box(-76, 6, -75, 7), box(-74, 6, -73.5, 6.5)])))
    for record in (src, org, hz, acc, vic, empty, place, area):
        _same(store, record)


def test_omitted_fields_are_not_returned_and_paging_matches_query(store: Store) -> None:
    for i in range(7):
        store.add(Accident(geometry=Point(-75 + i * 0.01, 6), narrative=f"n{i}",
                           status="approved" if i % 2 == 0 else "draft"))
    rows, nxt = store.query_rows(Query(kind="accident", limit=3),
                                 omit=frozenset({"narrative", "geometry", "source_ids"}))
    assert len(rows) == 3 and nxt is not None
    assert not {"narrative", "geometry", "source_ids"} & set(rows[0]) and "status" in rows[0]
    page = store.query(Query(kind="accident", limit=3))
    assert [r["id"] for r in rows] == [str(a.id) for a in page.items]
    assert nxt == page.next_after_fid
    rest, last = store.query_rows(Query(kind="accident", limit=10, after_fid=nxt))
    assert len(rest) == 4 and last is None
    approved, _ = store.query_rows(Query(kind="accident", status=("approved",),
                                         bbox=(-75.001, 5.9, -74.965, 6.1)))
    assert [r["narrative"] for r in approved] == ["n0", "n2"]


def test_near_post_filter_reads_the_geometry_even_when_omitted(store: Store) -> None:
    store.add(Accident(geometry=Point(-75, 6)))
    store.add(Accident(geometry=Point(-75.009, 6)))  # ~995 m west
    store.add(Accident(geometry=Point(-75.011, 6)))  # ~1,216 m west: inside the box only
    rows, _ = store.query_rows(Query(kind="accident", near=Near(Point(-75, 6), 1000)),
                               omit=frozenset({"geometry"}))
    assert len(rows) == 2 and all("geometry" not in r for r in rows)


def test_offset_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="after_fid"):
        store.query_rows(Query(kind="accident", offset=5))


@pytest.mark.parametrize("text", ["2026-11-26T08:05:00.123Z", "2026-11-26T08:05:00.000Z",
                                  "2026-11-26T08:05:00Z", "2026-11-26T08:05:00.123456Z",
                                  "2026-11-26T08:05:00.100+00:00"])
def test_timestamps_read_as_pydantic_writes_them(text: str) -> None:
    from datetime import datetime

    from pydantic import TypeAdapter

    from mineaction.store.rows import _datetime

    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert _datetime(text) == TypeAdapter(datetime).dump_python(parsed, mode="json")
    assert _datetime(parsed) == TypeAdapter(datetime).dump_python(parsed, mode="json")
    assert _datetime(text) == TypeAdapter(datetime).dump_python(parsed, mode="json")  # recalled


def test_bbox_edges_are_exact_despite_float32_index_boxes(store: Store) -> None:
    """The R-tree (GeoPackage) and && (PostGIS) compare float32-rounded boxes; points
    within that rounding of an edge must still be decided by their exact coordinates."""
    edge = -74.12345678
    on_edge = store.add(Accident(geometry=Point(edge, 4.5)))
    store.add(Accident(geometry=Point(edge - 2e-7, 4.5)))  # outside by ~2 cm
    inside = store.add(Accident(geometry=Point(edge + 0.01, 4.5)))
    bbox = (edge, 4.4, edge + 0.02, 4.6)
    rows, _ = store.query_rows(Query(kind="accident", bbox=bbox))
    assert {r["id"] for r in rows} == {str(on_edge.id), str(inside.id)}
    assert {str(a.id) for a in store.query(Query(kind="accident", bbox=bbox)).items} == {
        str(on_edge.id), str(inside.id)}


def test_datetimes_formatted_once_keep_their_zone() -> None:
    """PostgreSQL's datetimes are formatted through a cache: equal instants in two zones
    are equal datetimes, and must still come out with their own offsets."""
    from datetime import datetime, timedelta, timezone

    from mineaction.store import rows

    utc = datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    plus_one = datetime(2026, 1, 1, 11, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    assert utc == plus_one
    assert rows._datetime(utc) == "2026-01-01T10:00:00.123000Z"
    assert rows._datetime(plus_one) == "2026-01-01T11:00:00.123000+01:00"
    assert rows._datetime(utc) == "2026-01-01T10:00:00.123000Z"
    for minute in range(rows._FORMATTED_MAX + 10):  # bounded, whatever comes
        rows._datetime(utc + timedelta(minutes=minute))
    assert len(rows._FORMATTED) <= rows._FORMATTED_MAX


def test_row_builders_recall_formatted_timestamps(store: Store) -> None:
    """A second page with the same timestamps reads them from the formatted cache and
    gives the same dicts as the first, converted ones."""
    from mineaction.store import rows

    for i in range(3):
        store.add(Accident(geometry=Point(-74 + i / 100, 4.5)))
    first, _ = store.query_rows(Query(kind="accident"))
    assert all(r["created_at"] in rows._FORMATTED.values() for r in first)
    again, _ = store.query_rows(Query(kind="accident"))
    assert again == first
    rows._FORMATTED.clear()
    assert store.query_rows(Query(kind="accident"))[0] == first


def test_sources_appear_once_a_kind_has_any(store: Store) -> None:
    """Rows look their sources up only when some record of their kind has one (the
    lookup is skipped for a kind without links): both states give the right lists."""
    first = store.add(Accident(geometry=Point(-74.1, 4.6)))
    store.add(Accident(geometry=Point(-74.2, 4.6)))
    rows, _ = store.query_rows(Query(kind="accident"))
    assert [r["source_ids"] for r in rows] == [[], []]
    src = store.add(Source(source_kind="media", title="El Tiempo"))
    store.update(first.model_copy(update={"source_ids": [src.id]}),
                 expected_version=first.version)
    rows, _ = store.query_rows(Query(kind="accident"))
    assert [r["source_ids"] for r in rows] == [[str(src.id)], []]
    hazards, _ = store.query_rows(Query(kind="hazard"))
    assert hazards == []
