"""store/prepared.py: SQL compiled once per query shape must answer exactly what the
general path (a SQLAlchemy statement per query) answers, on both stores, and must never
serve one shape's SQL to a query of another (other filters, IN-list lengths, value types
or store)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from mineaction.domain.models import Accident, Source, Victim
from mineaction.store import Near, Query, Store
from mineaction.store import prepared as P
from mineaction.store import rows as rowplan
from mineaction.store.query import AnyOf, Match
from mineaction.store.schema import METADATA

BOX = (-75.05, 5.95, -74.95, 6.05)


def _fill(store: Store) -> None:
    src = store.add(Source(source_kind="media", title="El Tiempo"))
    for i in range(12):
        acc = store.add(Accident(
            geometry=Point(-75 + (i - 6) * 0.01, 6 + (i % 3) * 0.01), dataset=f"ds{i % 2}",
            external_id=f"e{i}", status=("approved", "draft", "submitted")[i % 3],
            accident_kind="mine" if i % 4 else "erw", source_ids=[src.id] if i % 5 == 0 else [],
            narrative=f"n{i}"), by=("ana", "ben")[i % 2])
        if i % 3 == 0:
            store.add(Victim(accident_id=acc.id, outcome="injured", name=f"v{i}"))
    far = store.add(Accident(geometry=Point(-70, 2), status="approved"))
    store.delete("accident", far.id)
    # the first two accidents reported as one (record linkage): the second represented
    first, second = store.query_rows(Query(kind="accident", limit=2))[0]
    with store.transaction() as conn:
        conn.execute(METADATA.tables["canonical_members"].insert(), [
            {"kind": "accident", "record_id": str(r["id"]), "canonical_id": "c-1",
             "representative": n == 0} for n, r in enumerate((first, second))])


def _queries(store: Store) -> list[tuple[Query, frozenset[str]]]:
    some = store.query_rows(Query(kind="accident", limit=3))[0]
    ids = tuple(r["id"] for r in some)
    none: frozenset[str] = frozenset()
    public = frozenset({"narrative", "created_by", "updated_by"})
    return [
        (Query(kind="accident", bbox=BOX, status=("approved",), limit=100), public),
        (Query(kind="accident", bbox=BOX, status=("approved", "draft"), limit=100), public),
        (Query(kind="accident", bbox=BOX, status=("approved",), limit=2), none),
        (Query(kind="accident", bbox=BOX, limit=3, after_fid=4), none),
        (Query(kind="accident", bbox=(-76, 5, -74, 7), limit=None), none),
        (Query(kind="accident", bbox=(-76, 5.0, -74, 7), limit=None), none),  # ints
        (Query(kind="accident", ids=ids[:1], limit=1), frozenset({"geometry"})),
        (Query(kind="accident", ids=ids, limit=10), none),
        (Query(kind="accident", ids=(), limit=10), none),
        (Query(kind="accident", dataset="ds1", limit=100), none),
        (Query(kind="accident", dataset="ds1", status=("draft",), limit=100), none),
        (Query(kind="accident", where={"created_by": "ana"}, limit=100), none),
        (Query(kind="accident", where={"created_by": ["ana", "ben"]}, limit=100), none),
        (Query(kind="accident", where={"created_by": ["ben"]}, limit=100), none),
        (Query(kind="accident", where={"device_model": None}, limit=100), none),
        (Query(kind="accident", where={"version": 1}, limit=100), none),
        (Query(kind="accident", status=(), limit=100), none),
        (Query(kind="victim", bbox=BOX, limit=100), none),
        (Query(kind="source", limit=100), none),
    ]


def _general(store: Store, q: Query, omit: frozenset[str],
             monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        m.setattr(store, "_prepared_rows", lambda q, plan: None)
        return store.query_rows(q, omit)


def test_prepared_rows_equal_the_general_path(store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(store)
    queries = _queries(store)
    taken = []
    lookup = store._prepared.lookup

    def spy(*args: Any) -> Any:
        found = lookup(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(store._prepared, "lookup", spy)
    # Twice: the first run compiles each shape, the second reuses it; shapes alternate,
    # so a key that confused two of them would answer one with the other's SQL.
    for _ in range(2):
        for q, omit in queries:
            taken.clear()
            want = _general(store, q, omit, monkeypatch)
            got = store.query_rows(q, omit)
            assert got == want, q
            assert taken == [True], q
    assert any(rows for (rows, _) in (store.query_rows(q, o) for q, o in queries))


def test_unsupported_shapes_keep_the_general_path(store: Store) -> None:
    _fill(store)
    plan = rowplan.row_plan("accident", frozenset(), store._geojson)
    for q in (Query(kind="accident", near=Near(Point(-75, 6), 500)),
              Query(kind="accident", where={"created_by": {"ana"}}),  # a set: no order
              Query(kind="accident", date_from=date(2020, 1, 1))):
        assert store._prepared_rows(q, plan) is None, q


def test_shape_separates_filters_lengths_and_types() -> None:
    base = Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",))
    variants = [
        base,
        Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved", "draft")),
        Query(kind="accident", bbox=(1, 2, 3, 4), status=("approved",)),
        Query(kind="accident", status=("approved",)),
        Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",), dataset="d"),
        Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",), after_fid=3),
        Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",), limit=None),
        Query(kind="hazard", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",)),
        Query(kind="accident", ids=("a",)),
        Query(kind="accident", ids=("a", "b")),
        Query(kind="accident", where={"x": "a"}),
        Query(kind="accident", where={"x": ["a"]}),
        Query(kind="accident", where={"x": None}),
        Query(kind="accident", where={"y": "a"}),
    ]
    shapes = [P.flatten(q) for q in variants]
    assert all(s is not None for s in shapes)
    keys = [s[0] for s in shapes if s is not None]
    assert len(set(keys)) == len(keys)
    # The same shape with other values: one key, the values in flatten's order.
    other = P.flatten(Query(kind="accident", bbox=(5.0, 6.0, 7.0, 8.0), status=("draft",)))
    assert other == (keys[0], [5.0, 6.0, 7.0, 8.0, "draft", 101])


def test_each_store_compiles_its_own_sql(tmp_path: Any) -> None:
    """The cache belongs to a store: SQLite and psycopg differ in SQL and paramstyle."""
    from sqlalchemy.dialects.postgresql import psycopg

    from mineaction.store import open_store

    gpkg = open_store(str(tmp_path / "s.gpkg"))
    try:
        plan = rowplan.row_plan("accident", frozenset(), gpkg._geojson)
        q = Query(kind="accident", bbox=(1.0, 2.0, 3.0, 4.0), status=("approved",))
        found = gpkg._prepared.lookup(q, plan, lambda fake, limit: gpkg._rows_statement(
            gpkg._select(fake)[0], fake.kind, plan, limit))
        assert found is not None and found[0].positional and "?" in found[0].sql
        assert found[0].parameters(found[1])[-2:] == (101, 0)  # LIMIT, OFFSET
        pg = P.PreparedCache(psycopg.dialect())
        stmt = sa.select(sa.table("t", sa.column("a"))).where(sa.column("a") == "x")
        marks = P.sentinels(["x"])
        prepared = P.prepare(stmt.where(sa.column("a") == marks[0]), pg.dialect, marks)
        assert prepared is not None and not prepared.positional and "%(" in prepared.sql
    finally:
        gpkg.close()


def test_a_value_rendered_into_the_sql_makes_the_shape_unsupported() -> None:
    from sqlalchemy.dialects import sqlite

    marks = P.sentinels(["x", 5])
    col = sa.column("a")
    stmt = sa.select(col).where(col == sa.literal(marks[0], literal_execute=True),
                                col == marks[1])
    assert P.prepare(stmt, sqlite.dialect(), marks) is None


def test_driver_errors_are_raised_as_the_general_path_raises_them(store: Store) -> None:
    # PostgreSQL refuses NUL in text (a 422 through api/errors.py); SQLite stores it.
    q = Query(kind="accident", dataset="a\x00b")
    if store.dialect == "postgis":
        with pytest.raises(sa.exc.DataError):
            store.query_rows(q)
    else:
        assert store.query_rows(q) == ([], None)


# One value per Query field that filters differently from the default. A field added to
# Query without an example here fails `test_every_query_field_reaches_the_prepared_sql`,
# so nobody adds a filter the cached SQL silently drops (issue 14: `dataset=A` once
# answered with dataset B's rows).
FIELD_EXAMPLES: dict[str, Any] = {
    "kind": "victim",
    "ids": ("no-such-id",),
    "bbox": BOX,
    "near": Near(Point(-75, 6), 500),
    "admin_area": "05",
    "date_from": date(2020, 1, 1),
    "date_to": date(2000, 1, 1),
    "status": ("draft",),
    "dataset": "ds1",
    "where": {"created_by": "ben"},
    "limit": 2,
    "offset": 1,
    "after_fid": 4,
    "visible": (AnyOf((Match("status", ("approved",)), Match("created_by", ("ben",)))),
                AnyOf((Match("dataset", (None, "ds1")),))),
    "condition": sa.column("accident_kind") == "erw",  # an OGC API filter (issue 23)
    # the public's rounded places (issue 23): a box then selects by them; with the box
    "place_decimals": 0,  # every point rounds to (-75, 6): in BOX, those just outside too
    "unrepresented": True,  # the accident another represents (`_fill`) left out
}
# A field that acts only beside another: the other, and the query to compare with.
TOGETHER = {"place_decimals": {"bbox": BOX}}


def test_every_query_field_reaches_the_prepared_sql(store: Store,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(store)
    names = {f.name for f in fields(Query)}
    assert names == set(FIELD_EXAMPLES), "give every Query field an example value"
    base = Query(kind="accident", limit=100)
    for name, example in FIELD_EXAMPLES.items():
        reference = replace(base, **TOGETHER.get(name, {}))
        q = replace(reference, **{name: example})
        flat, plain = P.flatten(q), P.flatten(reference)
        # Either the field changes the shape or the values, or the query takes the
        # general path: never the default query's cached SQL.
        assert flat is None or flat != plain, name
        if name == "offset":
            continue  # query_rows pages by after_fid
        want = _general(store, q, frozenset(), monkeypatch)
        assert store.query_rows(q) == want, name
        assert want != _general(store, reference, frozenset(), monkeypatch), (
            f"the example of {name} filters nothing: choose one that does")
