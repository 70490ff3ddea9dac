"""`Store.optimise` (`mineaction optimise`): the store reorganised for reads after big
imports, with every record and every answer as before."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import psycopg
from shapely.geometry import Point
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Accident, Source
from mineaction.store import Query, Store, open_store


def _scattered(store: Store, n: int = 300) -> None:
    """Accidents written in no spatial order (as an import of a register by date is),
    some with sources."""
    source = store.add(Source(source_kind="media", title="a field report"))
    for i in range(n):
        # A stride through a 20 x 15 grid: neighbours on the map are far apart in writes.
        cell = (i * 7919) % n
        store.add(Accident(geometry=Point(-75 + (cell % 20) * 0.01, 4 + (cell // 20) * 0.01),
                           external_id=str(i), dataset="scattered",
                           source_ids=[source.id] if i % 3 == 0 else []))


def _answers(store: Store) -> list[object]:
    boxes = [(-75.0, 4.0, -74.9, 4.05), (-74.95, 4.02, -74.8, 4.2), (-80, 0, -70, 10)]
    return [store.query_rows(Query(kind="accident", bbox=b, limit=50)) for b in boxes]


def test_optimise_changes_no_answer(store: Store) -> None:
    _scattered(store)
    before = _answers(store)
    steps = store.optimise()
    assert steps
    assert _answers(store) == before
    assert len(store.query(Query(kind="accident", limit=None)).items) == 300


def _bulk_scattered(store: Store, n: int) -> None:
    """n accidents on a grid, written in an order that scatters neighbours."""
    from mineaction.domain.models import new_ids

    order = (np.arange(n) * 7919) % n
    lon, lat = -75 + (order % 200) * 0.001, 4 + (order // 200) * 0.001
    constants = {"status": "approved", "version": 1, "created_at": "2026-01-01T00:00:00Z",
                 "updated_at": "2026-01-01T00:00:00Z", "dataset": "bulk"}
    rows = list(zip(new_ids(n), [str(i) for i in range(n)], store.encode_points(lon, lat),
                    strict=True))
    with store.transaction() as conn:
        store.bulk_insert(conn, "accident", ["id", "external_id", "geometry"], rows,
                          constants)
        store.refresh_spatial_metadata(conn, ["accident"])


def _pages_read_for_a_box(url: str) -> int:
    """Distinct table pages holding the accidents of one small box."""
    with psycopg.connect(url) as conn:
        return int(conn.execute(
            "SELECT count(DISTINCT (ctid::text::point)[0]) FROM accidents "
            "WHERE geometry && ST_MakeEnvelope(-74.95, 4.02, -74.93, 4.04, 4326)"
        ).fetchone()[0])


def test_postgis_rows_follow_the_spatial_index_after_optimise(
        fresh_postgis_url: str) -> None:
    with open_store(fresh_postgis_url) as s:
        _bulk_scattered(s, 20_000)
        box = (-74.95, 4.02, -74.93, 4.04)
        before = s.query_rows(Query(kind="accident", bbox=box, limit=None))
        scattered = _pages_read_for_a_box(fresh_postgis_url)
        done: list[tuple[str, float]] = []
        steps = s.optimise(lambda step, seconds: done.append((step, seconds)))
        assert [step for step, _ in done] == steps
        assert "accidents: rows in the order of geometry" in steps
        assert s.query_rows(Query(kind="accident", bbox=box, limit=None)) == before
    # The 441 accidents of the box lay on ~170 pages in the order of writing; in spatial
    # order on ~30.
    clustered = _pages_read_for_a_box(fresh_postgis_url)
    assert len(before[0]) == 441
    assert clustered * 3 < scattered, (clustered, scattered)
    with psycopg.connect(fresh_postgis_url) as conn:
        indexes = conn.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indisclustered").fetchall()
        assert ("gix_accidents_geometry",) in indexes
        # Vacuumed: every page of the table marked all-visible. VACUUM writes this into
        # pg_class itself, so it is there as soon as optimise returns.
        pages, visible = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'accidents'"
        ).fetchone()
        assert pages > 0 and visible == pages, (pages, visible)
        # Every table has planner statistics, the record_sources links included, and the
        # accidents were vacuumed. PostgreSQL publishes its activity statistics
        # asynchronously, so these are read until they arrive, for 15 s at most. (The
        # count of rows inserted since the vacuum is not asserted: the loader's own
        # insert counts may be flushed after the vacuum, issue 16, 14.)
        unanalysed, vacuumed = _settled_stats(conn)
        assert unanalysed == [] and vacuumed, (unanalysed, vacuumed)


def test_bulk_loads_analyse_the_sources_links_too(fresh_postgis_url: str) -> None:
    """Never analysed, record_sources is planned as ten pages whatever it holds, and
    every list page pays for it (store/postgis.py)."""
    with open_store(fresh_postgis_url) as s, s.transaction() as conn:
        s.refresh_spatial_metadata(conn, ["accident"])
    with psycopg.connect(fresh_postgis_url) as conn:
        tuples = conn.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'record_sources'").fetchone()[0]
    assert tuples == 0  # analysed: known empty, where never analysed reads -1


def test_geopackage_is_rewritten_compactly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "store.gpkg"
    with open_store(str(path)) as s:
        _scattered(s, 50)
    with sqlite3.connect(path) as raw:  # free pages, as removed rows leave them
        raw.execute("CREATE TABLE scratch AS SELECT randomblob(1000000) AS b")
        raw.execute("DROP TABLE scratch")
        assert raw.execute("PRAGMA freelist_count").fetchone()[0] > 0
    with open_store(str(path)) as s:
        before = _answers(s)
        assert s.optimise() == ["the file rewritten compactly"]
        assert _answers(s) == before
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_cli_optimise_reports_each_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "store.gpkg"
    with open_store(str(path)) as s:
        _scattered(s, 20)
    result = CliRunner().invoke(app, ["optimise", "--store", str(path)])
    assert result.exit_code == 0, result.output
    assert "the file rewritten compactly (" in result.output
    missing = CliRunner().invoke(app, ["optimise", "--store", str(tmp_path / "no.gpkg")])
    assert missing.exit_code == 2 and "no store at" in missing.output


def _settled_stats(conn: Any) -> tuple[list[Any], bool]:
    """(tables not yet analysed, whether the accidents were vacuumed), once the
    statistics say what optimise did, or as they stand after 15 s."""
    import time

    deadline = time.monotonic() + 15
    while True:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        unanalysed = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL "
            "AND relname IN ('accidents', 'record_sources', 'victims')").fetchall()
        vacuumed = conn.execute("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                                "WHERE relname = 'accidents'").fetchone()[0]
        if (unanalysed == [] and vacuumed) or time.monotonic() > deadline:
            return unanalysed, bool(vacuumed)
        time.sleep(0.2)
