"""`Store.read_dicts_together`: the reads a site check makes of the kinds around a site,
together. Each gives the rows `read_dicts` gives, as the same dicts, in order, on both
stores; the PostGIS store sends them in one pipeline (store/postgis.py `_pipelined`), on a
pooled connection, on `one_connection`'s, or on the held one of quick reads, and a lost
connection or a refused value costs no answer and no connection."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box

from mineaction.domain.models import Accident, Find, Hazard
from mineaction.store import Query, Store, open_store
from mineaction.store.held import quick_reads
from mineaction.store.query import Near

BOX = (-75.1, 5.9, -74.9, 6.1)
APPROVED = ("approved",)
READS: list[tuple[Query, tuple[str, ...]]] = [
    (Query(kind="hazard", bbox=BOX, status=APPROVED, limit=None),
     ("id", "geometry", "name", "hazard_status", "updated_at")),
    (Query(kind="accident", bbox=BOX, status=APPROVED, limit=None),
     ("id", "geometry", "accident_date")),
    (Query(kind="find", bbox=(-75.0, 6.0, -74.95, 6.05), status=APPROVED, limit=None),
     ("id", "geometry", "find_date")),
    (Query(kind="accident", bbox=(10.0, 10.0, 11.0, 11.0), limit=None),  # none there
     ("id", "geometry")),
]


def _fill(store: Store) -> None:
    for i in range(6):
        x = -75.05 + 0.02 * i
        store.add(Hazard(geometry=box(x, 5.95, x + 0.01, 5.96), name=f"H{i}", hazard_kind="CHA",
                         status="approved" if i % 3 else "draft"))
        store.add(Accident(geometry=Point(x, 6.0), accident_date=f"2019-0{i + 1}-02",
                           status="approved"))
        store.add(Find(geometry=Point(x, 6.01), find_date="2020-03-04", status="approved"))


def _one_by_one(store: Store, reads: list[tuple[Query, tuple[str, ...]]]) -> list[Any]:
    return [store.read_dicts(q, columns) for q, columns in reads]


def _shown(rows: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    # shapely geometries compare by identity: by their text instead
    return [[{k: (v.wkt if k == "geometry" and v is not None else v) for k, v in r.items()}
             for r in part] for part in rows]


def test_the_same_rows_as_one_read_at_a_time(store: Store) -> None:
    _fill(store)
    expected = _shown(_one_by_one(store, READS))
    assert [len(part) for part in expected] == [4, 6, 3, 0]
    assert _shown(store.read_dicts_together(READS)) == expected
    with store.one_connection():
        assert _shown(store.read_dicts_together(READS)) == expected
    with quick_reads(), store.one_connection():
        assert _shown(store.read_dicts_together(READS)) == expected
    assert store.read_dicts_together([]) == []
    assert _shown(store.read_dicts_together(READS[:1])) == expected[:1]


def test_reads_the_prepared_path_does_not_take_are_read_as_before(store: Store) -> None:
    """A read with an exact distance or a limit goes the general way, and the others with
    it: the answers are still those of `read_dicts`."""
    _fill(store)
    reads = [READS[0], (Query(kind="accident", near=Near(Point(-75.05, 6.0), 2500.0),
                              limit=None), ("id", "geometry")),
             (Query(kind="find", bbox=BOX, limit=2), ("id",))]
    together = store.read_dicts_together(reads)
    assert _shown(together) == _shown(_one_by_one(store, reads))
    assert [len(part) for part in together] == [4, 2, 2]


def test_a_refused_value_fails_as_read_dicts_fails_and_the_connection_serves_on(
        store: Store) -> None:
    _fill(store)
    bad = (Query(kind="accident", bbox=BOX, dataset="nul\x00", limit=None), ("id",))
    with store.one_connection():
        if store.dialect == "postgis":
            with pytest.raises(sa.exc.DataError):
                store.read_dicts_together([READS[0], bad])
        else:  # SQLite takes the text as it is
            assert store.read_dicts_together([READS[0], bad])[1] == []
        assert _shown(store.read_dicts_together(READS)) == _shown(_one_by_one(store, READS))


def test_reads_sent_together_survive_a_connection_the_database_dropped(
        fresh_postgis_url: str) -> None:
    with open_store(fresh_postgis_url, pool_size=2) as s:
        _fill(s)
        expected = _shown(_one_by_one(s, READS))
        with quick_reads():
            s.read_dicts_together(READS)
            held = s._held.cursor().connection
            pid = int(held.execute("SELECT pg_backend_pid()").fetchone()[0])
            with psycopg.connect(fresh_postgis_url, autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with s.one_connection():
                assert _shown(s.read_dicts_together(READS)) == expected
            assert s._held.cursor().connection is not held  # replaced for the next


def test_postgis_sends_them_in_one_round_trip(fresh_postgis_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """One pipeline, not one statement after another: the server store's read of the
    kinds around a site costs one round trip (issue 20)."""
    with open_store(fresh_postgis_url) as s:
        _fill(s)
        assert s.reads_go_together
        sent: list[int] = []
        real = psycopg.Connection.pipeline

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(1)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(psycopg.Connection, "pipeline", counting)
        with s.one_connection():
            assert len(s.read_dicts_together(READS)) == len(READS)
        assert sent == [1]
