"""Server-clustered vector tiles of the map's point layers (web/tiles.py, issue 4).

The tiles are read back with GDAL's MVT driver, an implementation of the spec that is not
ours, so an encoding mistake fails here rather than only in the browser."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio.raw
import pytest
import shapely
import sqlalchemy as sa
from anyio.from_thread import start_blocking_portal
from shapely.geometry import Point

from mineaction.access import Access
from mineaction.access.roles import PUBLIC, Policy, Principal, Role
from mineaction.app import create_app
from mineaction.domain.models import ENTITIES, Accident, Victim
from mineaction.geo import mvt
from mineaction.services import maps
from mineaction.services.settings import load_settings
from mineaction.store import open_store
from mineaction.store.base import Store
from mineaction.store.schema import entity_table
from mineaction.web import mount_web, tiles

ADMIN = Principal(username="admin", role=Role.admin)
# Three groups of accidents: a town, a village 30 km away, and one far off.
GROUPS = [((-75.57, 6.25), 60), ((-75.30, 6.20), 25), ((-72.50, 7.90), 1)]


def add_accidents(store: Store, status: str = "approved", n_scale: int = 1) -> list[Accident]:
    rng = np.random.default_rng(4)
    out = []
    for (lon, lat), n in GROUPS:
        for _ in range(n * n_scale):
            geom = Point(lon + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01))
            out.append(store.add(Accident(accident_date=date(2020, 3, 1), geometry=geom,
                                          accident_kind="mine", device_category="ap_mine",
                                          status=status), by="editor"))
    return out


@pytest.fixture(params=["gpkg", "postgis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "gpkg":
        location = str(tmp_path / "store.gpkg")
    else:
        location = str(request.getfixturevalue("fresh_postgis_url"))
    with open_store(location) as s:
        yield s


def read_tile(data: bytes, z: int, x: int, y: int, tmp_path: Path) -> list[dict[str, Any]]:
    """The features of a tile as GDAL reads them, with lon/lat from its Web Mercator."""
    if not data:
        return []
    path = tmp_path / f"{z}-{x}-{y}.mvt"
    path.write_bytes(data)
    meta, _, geoms, fields = pyogrio.raw.read(path, X=x, Y=y, Z=z)
    out = []
    for i, g in enumerate(shapely.from_wkb(geoms)):
        row = {name: fields[j][i] for j, name in enumerate(meta["fields"])}
        row["lon"] = g.x / 6378137.0 * 180 / math.pi
        row["lat"] = math.degrees(2 * math.atan(math.exp(g.y / 6378137.0)) - math.pi / 2)
        out.append({k: v for k, v in row.items() if v is not None and v == v})  # no NaN
    return out


def tiles_with_points(index: tiles.PointIndex, z: int) -> set[tuple[int, int]]:
    n = 1 << z
    return set(zip((index.mx * n).astype(int).tolist(), (index.my * n).astype(int).tolist(),
                   strict=True))


def test_every_point_counted_once_at_every_zoom(store: Store, tmp_path: Path) -> None:
    add_accidents(store)
    index = tiles.LayerCache().get(store, Access(ADMIN, Policy(), 1), "accidents",
                                   maps.MapFilters())
    assert index.count == 86
    for z in (0, 3, 6, 9, 11, 12):
        clusters: dict[int, int] = {}
        points: set[int] = set()
        for x, y in tiles_with_points(index, z):
            for f in read_tile(tiles.tile(index, z, x, y), z, x, y, tmp_path):
                if "point_count" in f:
                    # A cluster drawn in two tiles (near their border) is one cell.
                    assert clusters.setdefault(f["cid"], f["point_count"]) == f["point_count"]
                else:
                    points.add(f["fid"])
        assert sum(clusters.values()) + len(points) == 86, z
        if z <= 3:
            assert clusters and max(clusters.values()) >= 60  # the town is one cluster
        if z == 12:
            assert not clusters  # past CLUSTER_MAX_ZOOM every point is itself


def test_points_carry_their_casualties_and_place(store: Store, tmp_path: Path) -> None:
    acc = store.add(Accident(accident_date=date(2021, 5, 2), geometry=Point(-75.5612, 6.2518),
                             accident_kind="mine", status="approved"), by="editor")
    for outcome in ("killed", "injured", "injured"):
        store.add(Victim(accident_id=acc.id, outcome=outcome, status="approved"), by="editor")
    index = tiles.LayerCache().get(store, Access(ADMIN, Policy(), 1), "accidents",
                                   maps.MapFilters())
    (x, y), = tiles_with_points(index, 12)
    (f,) = read_tile(tiles.tile(index, 12, x, y), 12, x, y, tmp_path)
    assert (f["killed"], f["injured"], f["casualties"]) == (1, 2, 3)
    assert f["date"] == "2021-05-02" and f["status"] == "approved"
    assert f["accident_kind"] == "mine"
    # MVT's 4096 steps a tile: 2e-5 degrees at zoom 12.
    assert abs(f["lon"] + 75.5612) < 5e-5 and abs(f["lat"] - 6.2518) < 5e-5
    # At zoom 5 the lone accident is a point too, not a cluster of one.
    (x, y), = tiles_with_points(index, 5)
    (f,) = read_tile(tiles.tile(index, 5, x, y), 5, x, y, tmp_path)
    assert "point_count" not in f and f["casualties"] == 3


def test_public_tiles_hold_approved_generalised_points(store: Store, tmp_path: Path) -> None:
    approved = add_accidents(store)
    submitted = add_accidents(store, status="submitted")
    table = entity_table(ENTITIES["accident"])
    with store.engine.connect() as conn:
        status = dict(conn.execute(sa.select(table.c.fid, table.c.status)).all())
    index = tiles.LayerCache().get(store, Access(PUBLIC, Policy(), 1), "accidents",
                                   maps.MapFilters())
    assert index.count == len(approved)
    seen = []
    for x, y in tiles_with_points(index, 12):
        seen += read_tile(tiles.tile(index, 12, x, y), 12, x, y, tmp_path)
    assert len(seen) == len(approved)
    assert {status[int(f["fid"])] for f in seen} == {"approved"}
    for f in seen:
        # Generalised to 0.1 degree as the API does for the public (within tile precision).
        assert abs(f["lon"] * 10 - round(f["lon"] * 10)) < 1e-3
        assert abs(f["lat"] * 10 - round(f["lat"] * 10)) < 1e-3
    allowed = {"fid", "killed", "injured", "casualties", "status", "accident_kind",
               "device_category", "date", "mvt_id", "lon", "lat"}
    assert set().union(*seen) <= allowed
    # A signed-in reviewer sees both.
    index = tiles.LayerCache().get(store, Access(ADMIN, Policy(), 1), "accidents",
                                   maps.MapFilters())
    assert index.count == len(approved) + len(submitted)


def test_summary_tiles_and_cache_over_http(tmp_path: Path) -> None:
    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)
    store = app.state.services.store
    add_accidents(store)

    # The event loop runs in a thread of its own (a blocking portal): Playwright's
    # session-wide loop (the browser fixture) would refuse an anyio.run in this one.
    with start_blocking_portal() as portal:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver")

        def get(url: str, **kw: Any) -> httpx.Response:
            return portal.call(lambda: http.get(url, **kw))

        s1 = get("/web/api/layers/accidents/summary").json()
        assert s1["count"] == 86 and s1["maxzoom"] == tiles.MAX_ZOOM
        # The public's bounds are of generalised points (0.1 degree).
        assert s1["bounds"] == [-75.6, 6.2, -72.5, 7.9]
        url = s1["tiles"].replace("{z}/{x}/{y}", "0/0/0")
        r = get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert r.headers["cache-control"].startswith("private, max-age=")
        feats = read_tile(r.content, 0, 0, 0, tmp_path)
        assert sum(f.get("point_count", 1) for f in feats) == 86
        # A new approved accident: the summary names new data, the old tile URL is
        # answered with the new data and must not be kept by the browser.
        store.add(Accident(geometry=Point(-74.0, 4.6), status="approved"), by="editor")
        s2 = get("/web/api/layers/accidents/summary").json()
        assert s2["count"] == 87 and s2["tiles"] != s1["tiles"]
        r = get(url)
        assert r.headers["cache-control"] == "no-store"
        assert sum(f.get("point_count", 1)
                   for f in read_tile(r.content, 0, 0, 0, tmp_path)) == 87
        # Filters travel in the tile URL.
        s3 = get("/web/api/layers/accidents/summary",
                   params={"date_from": "2021-01-01"}).json()
        assert s3["count"] == 0 and "date_from=2021-01-01" in s3["tiles"]
        r = get(s3["tiles"].replace("{z}/{x}/{y}", "0/0/0"))
        assert read_tile(r.content, 0, 0, 0, tmp_path) == []
        assert get("/web/api/tiles/accidents/2/4/0.mvt").status_code == 404
        assert get("/web/api/tiles/accidents/13/0/0.mvt").status_code == 422
        assert get("/web/api/layers/hazards/summary").status_code == 404
        # The basemap's tiles, for everyone.
        r = get("/web/api/basemap/5/9/15.mvt")
        assert r.status_code == 200 and len(r.content) > 500
        assert r.headers["cache-control"] == "public, max-age=86400"
        assert get("/web/api/basemap/11/0/0.mvt").status_code == 422  # detail to 10 (#21)
        assert get("/web/api/basemap/1/2/0.mvt").status_code == 404
        portal.call(http.aclose)
    app.state.services.close()


def test_mercator_matches_pyproj() -> None:
    from pyproj import Transformer

    lon = np.array([-180.0, -75.57, 0.0, 120.5])
    lat = np.array([-60.0, 6.25, 0.0, 85.0])
    mx, my = mvt.mercator(lon, lat)
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    half = math.pi * 6378137.0
    np.testing.assert_allclose(mx, (np.asarray(x) + half) / (2 * half), atol=1e-12)
    np.testing.assert_allclose(my, (half - np.asarray(y)) / (2 * half), atol=1e-12)


def test_basemap_tiles_hold_the_countries_they_touch(tmp_path: Path) -> None:
    from mineaction.web.basemap import basemap

    b = basemap()
    # Tile 5/9/15 holds most of Colombia; its polygons, read back by GDAL in Web Mercator,
    # cover what the GeoJSON's Colombia covers inside the tile (within the simplification).
    data = b.tile(5, 9, 15)
    path = tmp_path / "b.mvt"
    path.write_bytes(data)
    meta, _, geoms, fields = pyogrio.raw.read(path, layer="countries", X=9, Y=15, Z=5)
    names = list(fields[list(meta["fields"]).index("name")])
    assert {"Colombia", "Venezuela", "Panama"} <= set(names)
    polys = shapely.from_wkb(geoms)
    assert all(p.is_valid and p.area > 0 for p in polys)
    colombia = polys[names.index("Colombia")]

    from pyproj import Transformer

    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    feats = [f for f in json.loads(b.geojson)["features"]
             if f["properties"]["name"] == "Colombia"]
    expected = shapely.transform(shapely.geometry.shape(feats[0]["geometry"]),
                                 lambda c: np.column_stack(to_3857.transform(c[:, 0], c[:, 1])))
    half = math.pi * 6378137.0
    size = 2 * half / 32
    tile_box = shapely.box(-half + 9 * size, half - 16 * size, -half + 10 * size, half - 15 * size)
    want = expected.intersection(tile_box)
    got = colombia.intersection(tile_box)
    assert abs(got.area - want.area) / want.area < 0.01
    assert got.symmetric_difference(want).area / want.area < 0.02
    # Open sea: an empty tile.
    assert b.tile(6, 10, 40) == b""


def test_neighbouring_clusters_never_overlap() -> None:
    # 20,000 points crowded into a town and its surroundings: many adjacent busy cells.
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.normal(-75.57, 0.05, 15_000), rng.uniform(-76.5, -74.5, 5_000)])
    lat = np.concatenate([rng.normal(6.25, 0.05, 15_000), rng.uniform(5.5, 7.0, 5_000)])
    mx, my = mvt.mercator(lon, lat)
    order = np.argsort(mx)
    n = len(lon)
    index = tiles.PointIndex(layer="accidents", token="t", count=n, bounds=None,
                             mx=mx[order], my=my[order], fid=np.arange(n),
                             killed=np.zeros(n, dtype=np.int64),
                             injured=np.ones(n, dtype=np.int64), coded={})
    for z in range(4, tiles.CLUSTER_MAX_ZOOM + 1):
        level = tiles._level(index, z)
        assert level.count.sum() == n
        many = level.count > 1
        x = level.mx[many] * 512 * (1 << z)
        y = level.my[many] * 512 * (1 << z)
        count = level.count[many]
        radius = np.select([count < 50, count < 500, count < 5000], [12, 16, 21], 27) + 2
        gap = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        reach = radius[:, None] + radius[None, :]
        np.fill_diagonal(gap, np.inf)
        assert (gap >= reach - 1e-6).all(), z
        # Each cluster is still drawn inside its own cell.
        cells = (1 << z) * tiles.GRID
        assert (np.floor(level.mx * cells) == level.gx).all()
        assert (np.floor(level.my * cells) == level.gy).all()


def test_layer_cache_recounts_only_after_a_write(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The data version (a count over the whole layer) is taken again only when the
    store's change marker moved: ~165 ms saved per map view at a million accidents."""
    add_accidents(store)
    counted: list[str] = []
    real = tiles.data_version

    def counting(s: Store, layer: str) -> str:
        counted.append(layer)
        return real(s, layer)

    monkeypatch.setattr(tiles, "data_version", counting)
    cache = tiles.LayerCache()

    def view() -> tiles.PointIndex:
        return cache.get(store, Access(PUBLIC, Policy(), 1), "accidents", maps.MapFilters())

    # The first read after writes may itself write (PostgreSQL prunes pages as it
    # reads), which moves the marker once; from then on views are not recounted.
    first = view()
    view()
    counted.clear()
    assert all(view() is first for _ in range(3)) and counted == []
    store.add(Accident(geometry=Point(-74.0, 4.6), status="approved"), by="editor")
    fresh = view()
    assert counted == ["accidents"] and fresh.count == first.count + 1
