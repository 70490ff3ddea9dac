"""What an import may use (issue 15, items 1 and 11): XLSX streamed a chunk at a time
instead of held whole; geometries capped in vertices with an error naming file, row and
field; GeoPackage layers that run SQL when read refused; limits and cancelling stop an
import before it writes anything."""

from __future__ import annotations

import math
import sqlite3
import tracemalloc
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyogrio import raw

from mineaction.io.errors import ReadError
from mineaction.io.pipeline import (
    DEFAULT_MAX_VERTICES,
    ImportCancelled,
    ImportLimitExceeded,
    ImportLimits,
    ImportRejected,
    import_file,
)
from mineaction.io.readers import iter_table_chunks, read_table
from mineaction.store import Query, open_store

ROWS = 6_000


def _workbook(path: Path, rows: int = ROWS) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("datos")
    sheet.append(["external_id", "accident_date", "accident_kind", "longitude", "latitude",
                  "narrative"])
    for i in range(rows):
        sheet.append([f"x{i}", f"2020-01-{1 + i % 28:02d}", "mine", -75.1, 6.1,
                      f"row {i} " + "texto " * 10])
    book.save(path)
    return path


def test_xlsx_is_read_a_chunk_at_a_time(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "big.xlsx")
    chunks = list(iter_table_chunks(path, chunksize=1_000))
    assert [len(c) for c in chunks] == [1_000] * 6
    whole = read_table(path)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    assert chunks[-1]["__row__"].iloc[-1] == ROWS + 1  # the sheet's own row numbers

    def peak(read: object) -> int:
        tracemalloc.start()
        try:
            if callable(read):
                read()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed = peak(lambda: [len(c) for c in iter_table_chunks(path, chunksize=500)])
    held = peak(lambda: read_table(path))
    # Held whole, memory grows with the rows (0.43 KB a row at 1,000,000); streamed, with
    # the chunk.
    assert streamed < held / 2, (streamed, held)


def test_xlsx_column_without_header_first_filled_late(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["a", "b"])
    for i in range(5):
        sheet.append([str(i), "x"])
    sheet["D6"] = "late"
    book.save(tmp_path / "late.xlsx")
    whole = read_table(tmp_path / "late.xlsx")
    assert whole["column_D"].tolist() == [None, None, None, None, "late"]
    chunks = list(iter_table_chunks(tmp_path / "late.xlsx", chunksize=2))
    assert "column_D" in chunks[-1].columns


def _polygon_wkt(n: int) -> str:
    ring = [(-75 + 0.01 * math.cos(2 * math.pi * i / n), 6 + 0.01 * math.sin(2 * math.pi * i / n))
            for i in range(n)]
    return shapely.Polygon(ring).wkt


def test_a_geometry_of_too_many_vertices_is_an_error_naming_file_row_and_field(
        tmp_path: Path) -> None:
    csv = tmp_path / "areas.csv"
    csv.write_text("hazard_kind,wkt\nSHA,\"" + _polygon_wkt(20) + "\"\nSHA,\""
                   + _polygon_wkt(DEFAULT_MAX_VERTICES + 10) + "\"\n")
    with open_store(tmp_path / "s.gpkg") as store:
        with pytest.raises(ImportRejected) as caught:
            import_file(store, csv, kind="hazard")
        assert store.query(Query(kind="hazard")).items == []
    [line] = caught.value.report.error_lines()
    assert line.startswith("areas.csv, row 3, field geometry (column 'wkt'): has 100,011 "
                           "vertices; at most 100,000"), line
    # A caller may lower the cap, not lift the domain's (domain/rules.py MAX_VERTICES).
    small = tmp_path / "small.csv"
    small.write_text("hazard_kind,wkt\nSHA,\"" + _polygon_wkt(20) + "\"\n")
    with open_store(tmp_path / "t.gpkg") as store:
        with pytest.raises(ImportRejected):
            import_file(store, small, kind="hazard", limits=ImportLimits(max_vertices=10))
        with pytest.raises(ImportRejected):
            import_file(store, csv, kind="hazard", limits=ImportLimits(max_vertices=None))
        report = import_file(store, small, kind="hazard", limits=ImportLimits(max_vertices=None))
        assert report.kinds["hazard"].added == 1


def _gpkg(path: Path) -> Path:
    points = shapely.points(np.array([[-75.1, 6.1]]))
    raw.write(str(path), shapely.to_wkb(points), [np.array(["mine"], dtype=object)],
              ["accident_kind"], driver="GPKG", geometry_type="Point", crs="EPSG:4326",
              layer="acc")
    return path


def test_geopackage_layer_with_computed_columns_is_refused(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "c.gpkg")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE acc ADD COLUMN slow TEXT "
                   "GENERATED ALWAYS AS (hex(zeroblob(1000000))) VIRTUAL")
    with pytest.raises(ReadError, match="computed columns"):
        next(iter_table_chunks(path))


def test_limits_and_cancelling_stop_before_anything_is_written(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("accident_date,accident_kind,longitude,latitude\n"
                   + "2020-01-02,mine,-75.1,6.1\n" * 30)
    with open_store(tmp_path / "s.gpkg") as store:
        with pytest.raises(ImportLimitExceeded, match="more than 20 rows"):
            import_file(store, csv, kind="accident", chunksize=10,
                        limits=ImportLimits(max_rows=20))
        calls = []

        def cancelled() -> bool:
            calls.append(1)
            return len(calls) > 2

        with pytest.raises(ImportCancelled):
            import_file(store, csv, kind="accident", chunksize=10, cancelled=cancelled)
        assert store.query(Query(kind="accident")).items == []
        assert import_file(store, csv, kind="accident").kinds["accident"].added == 30
