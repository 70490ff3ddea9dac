# SPDX-License-Identifier: GPL-3.0-or-later
"""The site check's faster reads (issue 20) answer as the slower ones did: geometries
decoded all at once (geo/gpkg_binary.decode_many, the stores' `_shapes`) are those a
BLOB at a time gives, the driver-cursor `represented_ids` finds what SQLAlchemy's IN
list finds, on both stores, and the generalised places measured once each give the
distances measuring every row gives."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, Point, Polygon, box

from mineaction.access.roles import PUBLIC
from mineaction.access.visibility import Access
from mineaction.analysis import site_check as sc
from mineaction.geo import gpkg_binary
from mineaction.services.site_check import _gaps_of_places
from mineaction.store import open_store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA


def _same(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            assert x is y
        else:
            assert x.geom_type == y.geom_type
            assert shapely.to_wkb(x) == shapely.to_wkb(y)  # the same coordinates, bit for bit


def test_decode_many_gives_what_decode_gives_for_any_mix() -> None:
    geoms = [Point(-75.1, 6.2), box(-75, 6, -74.9, 6.1), None, Point(), Polygon(),
             LineString([(0, 0), (1, 1)]), Point(1e-9, -89.999999)]
    blobs = [None if g is None else gpkg_binary.encode(g) for g in geoms]
    _same(gpkg_binary.decode_many(blobs), [gpkg_binary.decode(b) for b in blobs])
    assert gpkg_binary.decode_many([]) == []


def test_decode_many_reads_plain_points_at_once_and_leaves_the_rest_to_wkb() -> None:
    rng = np.random.default_rng(20)
    x, y = rng.uniform(-180, 180, 300), rng.uniform(-90, 90, 300)
    blobs = gpkg_binary.encode_points(x, y)
    _same(gpkg_binary.decode_many(blobs), [gpkg_binary.decode(b) for b in blobs])
    # an empty point among them is POINT EMPTY, as decode makes it
    with_empty = gpkg_binary.encode_points(np.array([1.0, np.nan]), np.array([2.0, np.nan]))
    got = gpkg_binary.decode_many(with_empty)
    assert got[1] is not None and got[1].is_empty and not got[0].is_empty
    _same(got, [gpkg_binary.decode(b) for b in with_empty])
    # a BLOB that is not a GeoPackage geometry is refused as decode refuses it
    with pytest.raises(ValueError, match="does not start with 'GP'"):
        gpkg_binary.decode_many([b"XX" + blobs[0][2:]])


def _finds(store: Any, n: int, rng: np.random.Generator, statuses: list[str],
           area: tuple[float, float, float, float] = (-75.2, 6.0, -75.0, 6.2)
           ) -> tuple[Any, Any]:
    """`n` finds at random points in `area` (near Granada), with these statuses; their x
    and y."""
    from mineaction.domain.models import new_ids

    x, y = rng.uniform(area[0], area[2], n), rng.uniform(area[1], area[3], n)
    with store.transaction() as conn:
        store.bulk_insert(conn, "find", ["id", "external_id", "status", "find_date",
                                         "device_category", "quantity", "geometry"],
                          list(zip(new_ids(n), [f"f{i}" for i in range(n)], statuses,
                                   ["2020-01-01"] * n, ["ap_mine"] * n, [1] * n,
                                   store.encode_points(x, y), strict=True)),
                          {"dataset": "d", "version": 1, "created_at": "2024-01-01T00:00:00Z",
                           "updated_at": "2024-01-01T00:00:00Z"})
    return x, y


def _accidents(store: Any, n: int, rng: np.random.Generator, statuses: list[str],
               area: tuple[float, float, float, float]) -> None:
    """`n` accidents at random points in `area`, with these statuses."""
    from mineaction.domain.models import new_ids

    x, y = rng.uniform(area[0], area[2], n), rng.uniform(area[1], area[3], n)
    with store.transaction() as conn:
        store.bulk_insert(conn, "accident", ["id", "external_id", "status", "accident_date",
                                             "geometry"],
                          list(zip(new_ids(n), [f"a{i}" for i in range(n)], statuses,
                                   rng.choice(["2014-05-01", "2019-02-01"], n).tolist(),
                                   store.encode_points(x, y), strict=True)),
                          {"dataset": "d", "version": 1, "created_at": "2024-01-01T00:00:00Z",
                           "updated_at": "2024-01-01T00:00:00Z"})


def test_prepared_reads_decode_the_stored_geometries(store_location: str) -> None:
    store = open_store(store_location)
    try:
        n = 40
        x, y = _finds(store, n, np.random.default_rng(3), ["approved"] * n)
        q = Query(kind="find", bbox=(-76, 5, -74, 7), limit=None)
        fast = store.read_dicts(q, columns=("id", "geometry"))
        slow = store.read_dicts(Query(kind="find", bbox=(-76, 5, -74, 7), limit=10_000),
                                columns=("id", "geometry"))  # a limit: the general path
        assert len(fast) == n
        by_id = {str(r["id"]): r["geometry"] for r in slow}
        _same([r["geometry"] for r in fast], [by_id[str(r["id"])] for r in fast])
        assert sorted(round(g.x, 9) for g in by_id.values()) == sorted(round(v, 9) for v in x)
    finally:
        store.close()


def test_read_dicts_in_boxes_reads_what_read_dicts_reads_a_box(store_location: str) -> None:
    """The boxes of a batch's chunk of sites read at once (one statement on PostGIS) give
    each box's rows as read_dicts gives them, in the same order, with the same values."""
    from dataclasses import replace

    store = open_store(store_location)
    try:
        rng = np.random.default_rng(5)
        n = 60
        statuses = rng.choice(["approved", "draft"], n).tolist()
        statuses[0] = "approved"  # the last box is the first find's point: the public's too
        x, y = _finds(store, n, rng, statuses)
        boxes = [(-75.2, 6.0, -75.1, 6.1), (-75.15, 6.05, -75.0, 6.2), (-70.0, 1.0, -69.9, 1.1),
                 (-75.2, 6.0, -75.1, 6.1), (float(x[0]), float(y[0]), float(x[0]), float(y[0]))]
        cols = ("id", "geometry", "find_date", "updated_at")
        for visible in ((), Access(PUBLIC).rows("find")):
            q = Query(kind="find", limit=None, visible=visible)
            together = store.read_dicts_in_boxes(q, boxes, cols)
            alone = [store.read_dicts(replace(q, bbox=b), cols) for b in boxes]
            assert [len(r) for r in together] == [len(r) for r in alone]
            assert sum(map(len, together)) > 0 and together[2] == [] and len(together[4]) == 1
            for a, b in zip(together, alone, strict=True):
                assert [{k: v for k, v in r.items() if k != "geometry"} for r in a] == \
                    [{k: v for k, v in r.items() if k != "geometry"} for r in b]
                _same([r["geometry"] for r in a], [r["geometry"] for r in b])
        assert store.read_dicts_in_boxes(Query(kind="find", limit=None), [], cols) == []
    finally:
        store.close()


def test_represented_ids_on_the_driver_cursor_finds_what_the_in_list_finds(
        store_location: str) -> None:
    store = open_store(store_location)
    try:
        members = METADATA.tables["canonical_members"]
        ids = [str(uuid.uuid4()) for _ in range(12)]
        with store.transaction() as conn:
            conn.execute(members.insert(), [
                {"kind": "accident", "record_id": ids[0], "canonical_id": "a",
                 "representative": True},
                {"kind": "accident", "record_id": ids[1], "canonical_id": "a",
                 "representative": False},
                {"kind": "accident", "record_id": ids[2], "canonical_id": "a",
                 "representative": False},
                {"kind": "victim", "record_id": ids[3], "canonical_id": "v",
                 "representative": False}])
        asked = [*ids, "not-an-id", "'); DROP TABLE hazards; --"]
        fast = store.represented_ids("accident", asked)
        assert fast == {ids[1], ids[2]}
        assert store.represented_ids("victim", asked) == {ids[3]}
        assert store.represented_ids("accident", []) == set()
        many = [*(str(uuid.uuid4()) for _ in range(1200)), ids[2]]  # more than one IN list
        assert store.represented_ids("accident", many) == {ids[2]}
        store._represented_sql = None  # the general path, for this store only
        assert store.represented_ids("accident", asked) == fast
        assert store.represented_ids("accident", many) == {ids[2]}
    finally:
        store.close()


def test_one_connection_lends_one_connection_and_reads_what_the_pool_reads(
        store_location: str) -> None:
    """A site check's reads on one borrowed connection (Store.one_connection) give what
    each read on its own pooled connection gives, see writes committed meanwhile, and
    borrow from the pool once; a lost connection sends the reads to the pool."""
    from mineaction.domain.models import new_ids

    store = open_store(store_location)
    try:
        stamp = {"dataset": "d", "version": 1, "created_at": "2024-01-01T00:00:00Z",
                 "updated_at": "2024-01-01T00:00:00Z"}

        def add(n: int) -> None:
            with store.transaction() as conn:
                store.bulk_insert(conn, "find", ["id", "external_id", "status", "find_date",
                                                 "device_category", "quantity", "geometry"],
                                  [(i, f"f-{i}", "approved", "2020-01-01", "ap_mine", 1, g)
                                   for i, g in zip(new_ids(n), store.encode_points(
                                       np.full(n, -75.1), np.full(n, 6.1)), strict=True)],
                                  stamp)

        add(3)
        q = Query(kind="find", bbox=(-76, 5, -74, 7), limit=None)
        cols = ("id", "geometry", "find_date")
        alone = store.read_dicts(q, columns=cols)
        checkouts: list[int] = []
        sa.event.listen(store.engine, "checkout", lambda *a: checkouts.append(1))
        with store.one_connection():
            inside = store.read_dicts(q, columns=cols)
            with store.one_connection():  # nested: the same connection
                again = store.read_dicts(q, columns=cols)
            assert store.represented_ids("find", [str(r["id"]) for r in inside]) == set()
            add(2)  # committed on another connection: the next read sees it
            after = store.read_dicts(q, columns=cols)
        assert len(checkouts) == 2  # one for the reads, one for the write
        assert [(r["id"], r["find_date"]) for r in inside] == \
            [(r["id"], r["find_date"]) for r in alone] == [(r["id"], r["find_date"]) for r in again]
        _same([r["geometry"] for r in inside], [r["geometry"] for r in alone])
        assert len(after) == 5
        with store.one_connection():
            from mineaction.store.reading import _ONE_CONNECTION

            pinned = _ONE_CONNECTION.get()
            assert pinned is not None and pinned[0] is store
            pinned[2](None)  # drops the connection, as a lost one is dropped
            assert len(store.read_dicts(q, columns=cols)) == 5  # through the pool
        # Quick reads (a check the API runs on its loop): the held connection, no borrowing
        from mineaction.store.held import quick_reads

        with quick_reads():
            held = store._held.cursor()  # opened once (taken from the pool for good)
            checkouts.clear()
            with store.one_connection():
                assert _ONE_CONNECTION.get()[1] is held  # type: ignore[index]
                assert len(store.read_dicts(q, columns=cols)) == 5
                assert store.represented_ids("find", [str(r["id"]) for r in alone]) == set()
        assert checkouts == []
    finally:
        store.close()


@pytest.mark.parametrize("site", [Point(-75.0, 6.0), box(-75.01, 5.99, -74.99, 6.01),
                                  LineString([(-75.02, 6.0), (-74.98, 6.01)])])
def test_generalised_places_measured_once_each_give_every_rows_distance(site: Any) -> None:
    rng = np.random.default_rng(7)
    places = [Point(round(float(a), 1), round(float(b), 1))
              for a, b in zip(rng.uniform(-75.3, -74.7, 200), rng.uniform(5.7, 6.3, 200),
                              strict=True)]
    assert _gaps_of_places(site, places) == sc.gaps_m(site, places)
    distinct = [Point(-75.05, 6.05), Point(-74.9, 6.1)]
    assert _gaps_of_places(site, distinct) == sc.gaps_m(site, distinct)
    assert _gaps_of_places(site, []) == []


@pytest.mark.parametrize("site", [Point(-75.0, 6.0), Point(179.99, -60.0),
                                  box(-75.01, 5.99, -74.99, 6.01),
                                  LineString([(-75.02, 6.0), (-74.98, 6.01), (-74.9, 6.1)]),
                                  box(30.0, 60.0, 30.3, 60.1)])
@pytest.mark.parametrize("reach", [0.0, 800.0, 9_900.0, 57_900.0])
def test_within_reach_decides_as_the_exact_distance(site: Any, reach: float) -> None:
    from mineaction.services.site_check import _within_reach

    rng = np.random.default_rng(int(reach) + 1)
    c = site.centroid
    # many places about the edge of the reach, some on the site, some across the world
    spread = (reach + 2_000) / 111_000 * 1.5
    lon = c.x + rng.uniform(-spread, spread, 3000)
    lat = np.clip(c.y + rng.uniform(-spread, spread, 3000) / 2, -90, 90)
    places = [Point(((a + 180) % 360) - 180, b) for a, b in zip(lon, lat, strict=True)]
    places += [Point(c.x, c.y), Point(c.x + 90, -c.y)]
    exact = [d <= reach for d in sc.gaps_m(site, places)]
    assert _within_reach(site, places, reach) == exact
    assert any(exact) or reach == 0.0
    assert not all(exact)
    # lines and areas among them: measured exactly, all of them
    mixed = [*places[:20], box(c.x, c.y, c.x + 0.01, c.y + 0.01)]
    assert _within_reach(site, mixed, reach) == [d <= reach for d in sc.gaps_m(site, mixed)]


def test_the_public_reads_only_the_cells_whose_rounded_place_can_count(
        store_location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The public sees accidents at places rounded to 0.1 degree: only the rows
    of the rounding cells whose grid point lies within the radius can count. Reading just
    those (`_read_box`) answers as reading the whole reach (7.9 km wider) did, for points,
    lines and areas, on a grid point, a cell's edge and between grid points, at radii from
    0 to 12 km, and reads far fewer rows."""
    from mineaction.access.roles import Principal, Role
    from mineaction.services import site_check as service

    store = open_store(store_location)
    try:
        rng = np.random.default_rng(11)
        n = 3000
        statuses = rng.choice(["approved", "approved", "draft"], n).tolist()
        _accidents(store, n, rng, statuses, (-75.6, 5.7, -74.6, 6.5))
        checks = service.SiteChecks(store)
        sites = [Point(-75.1, 6.1), Point(-75.1003, 6.0999), Point(-75.15, 6.15),
                 Point(-75.0499999, 6.05), Point(-75.137, 6.021),
                 LineString([(-75.19, 6.01), (-75.12, 6.08)]),
                 box(-75.11, 6.09, -75.08, 6.12), box(-75.06, 6.03, -75.04, 6.07)]
        read: list[int] = []
        real_read = store.read_dicts

        def counting(query: Query, *args: Any, **kwargs: Any) -> Any:
            rows = real_read(query, *args, **kwargs)
            if query.kind == "accident":
                read.append(len(rows))
            return rows

        real_together = store.read_dicts_together

        def counting_together(reads: Any) -> Any:  # PostGIS reads the kinds together
            found = real_together(reads)
            read.extend(len(rows) for (q, _), rows in zip(reads, found, strict=True)
                        if q.kind == "accident")
            return found

        monkeypatch.setattr(store, "read_dicts", counting)
        monkeypatch.setattr(store, "read_dicts_together", counting_together)
        wide = lambda access, kind, site, d: service._box(  # noqa: E731
            site, service._reach(access, kind, site, d))
        answers: dict[str, list[Any]] = {"cells": [], "reach": []}
        rows_read = {"cells": 0, "reach": 0}
        for how in ("cells", "reach"):
            if how == "reach":
                monkeypatch.setattr(service, "_read_box", wide)
            for site in sites:
                for nearby_m in (0.0, 300.0, 2_000.0, 5_000.0, 12_000.0):
                    for who in (Principal("public", Role.public),
                                Principal("v", Role.viewer)):
                        read.clear()
                        r = checks.check(who, shapely.geometry.mapping(site), buffer_m=0,
                                         nearby_m=nearby_m)
                        answers[how].append((r.accidents, r.records_used["accident"],
                                             r.findings, r.data_as_of))
                        if who.role is Role.public:
                            rows_read[how] += sum(read)
        assert answers["cells"] == answers["reach"]
        counted = [a[0].count for a in answers["cells"] if a[0] is not None]
        assert max(counted) > 0 and 0 in counted  # some sites count accidents, some none
        # the public's own reads: the cells near the site, not the 9.9 km around it
        assert rows_read["cells"] < rows_read["reach"] / 2
    finally:
        store.close()
