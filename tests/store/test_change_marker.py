"""Store.change_marker: still while nothing is written, moved by any write, whether
through the store or straight to the database by another program (QGIS, psql)."""

from __future__ import annotations

import sqlite3
import time

import psycopg
from shapely.geometry import Point

from mineaction.domain.models import Accident
from mineaction.store import Store


def _write_behind_the_stores_back(store: Store) -> None:
    if store.dialect == "gpkg":
        from mineaction.store.gpkg import register_functions

        with sqlite3.connect(store.location) as conn:
            register_functions(conn)  # the GeoPackage functions QGIS (GDAL) brings too
            conn.execute("UPDATE accidents SET narrative = 'edited in QGIS'")
    else:
        with psycopg.connect(store.location, autocommit=True) as conn:
            conn.execute("UPDATE accidents SET narrative = 'edited in psql'")


def test_change_marker_moves_with_every_write_and_only_then(store: Store) -> None:
    from mineaction.store.query import Query

    store.add(Accident(geometry=Point(-75.1, 6.2)))
    # A first read after a write may itself write (PostgreSQL prunes pages as it reads):
    # stillness is promised from then on.
    assert len(store.query_rows(Query(kind="accident"))[0]) == 1

    def still_over_three_reads() -> bool:
        marker = store.change_marker()
        assert marker is not None
        for _ in range(3):
            assert len(store.query_rows(Query(kind="accident"))[0]) == 1
            if store.change_marker() != marker:
                return False
        return True

    # PostgreSQL's marker is the cluster's WAL position, which other databases' writes
    # move too (the test workers' beside this one): reads must leave it still in some
    # quiet moment within half a minute; reads that moved it would never find one.
    deadline = time.monotonic() + (30 if store.dialect != "gpkg" else 0)
    while not still_over_three_reads():
        assert time.monotonic() < deadline, "every read moved the change marker"
        time.sleep(0.05)
    first = store.change_marker()
    store.add(Accident(geometry=Point(-75.2, 6.3)))
    second = store.change_marker()
    assert second != first
    _write_behind_the_stores_back(store)
    assert store.change_marker() != second
