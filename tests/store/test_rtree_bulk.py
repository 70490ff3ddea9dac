"""The packed R-tree of a bulk import is a valid SQLite R*Tree that finds what the
trigger-built one finds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pyogrio
import pytest

from mineaction.domain.models import new_ids
from mineaction.store import Query, open_store
from mineaction.store.gpkg import GeoPackageStore


def _load(store: GeoPackageStore, lon: np.ndarray, lat: np.ndarray) -> None:
    with store.transaction() as conn:
        ids = new_ids(len(lon))
        blobs = store.encode_points(lon, lat)
        store.bulk_insert(conn, "accident", ["id", "geometry"], list(zip(ids, blobs, strict=True)),
                          {"status": "approved", "version": 1})
        store.refresh_spatial_metadata(conn, ["accident"])


@pytest.mark.parametrize("n", [20_000, 150_000])
def test_packed_rtree_is_valid_and_answers_like_the_triggers(tmp_path: Path, n: int,
                                                             gdal_validator) -> None:
    rng = np.random.default_rng(n)
    lon, lat = rng.uniform(-79, -67, n), rng.uniform(-4, 13, n)
    bulk = open_store(tmp_path / "bulk.gpkg")
    assert isinstance(bulk, GeoPackageStore)
    _load(bulk, lon, lat)  # empty table: packed at the end of the transaction
    _load(bulk, lon[:200] + 0.001, lat[:200])  # then appended to the packed tree
    with sqlite3.connect(bulk.path) as conn:
        assert conn.execute("SELECT rtreecheck('rtree_accidents_geometry')").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM rtree_accidents_geometry").fetchone()[0] \
            == n + 200
    with sqlite3.connect(bulk.path) as conn:  # GeoPackage 1.3, which GDAL 3.6 accepts (#16)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert conn.execute("PRAGMA user_version").fetchone()[0] in (10200, 10300)
    gdal_validator(bulk.path)
    rng_q = np.random.default_rng(1)
    for _ in range(50):
        x, y = rng_q.uniform(-79, -67), rng_q.uniform(-4, 13)
        box = (x, y, x + 0.3, y + 0.3)
        inside = ((lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])).sum()
        extra = ((lon[:200] + 0.001 >= box[0]) & (lon[:200] + 0.001 <= box[2])
                 & (lat[:200] >= box[1]) & (lat[:200] <= box[3])).sum()
        assert bulk.count(Query(kind="accident", bbox=box)) == inside + extra
        # GDAL uses the same index for its spatial filter, as QGIS would.
        meta, _, geoms, _ = pyogrio.raw.read(bulk.path, layer="accidents", bbox=box,
                                             columns=[])
        assert len(geoms) == inside + extra
    bulk.close()
