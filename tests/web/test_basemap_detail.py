# SPDX-License-Identifier: GPL-3.0-or-later
"""The detail basemap's tiles (issue 21), read back with GDAL's MVT driver: Natural Earth
places by rank (fewer, larger places zoomed out), rivers as lines, lakes and land; tile
cutting of lines and points across tile edges; the store's admin areas with their names
for who may see them; and a user's MBTiles file served with its rows flipped (TMS),
vector or raster, a bad file or a tile outside it answered 404, never 500."""

from __future__ import annotations

import gzip
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio.raw
import pytest
import shapely
from anyio.from_thread import start_blocking_portal
from shapely.geometry import LineString, Point, box

from mineaction.app import create_app
from mineaction.domain.models import AdminArea
from mineaction.geo import mvt
from mineaction.services.basemap_file import BasemapFileError, PMTiles, open_basemap_file
from mineaction.services.settings import load_settings
from mineaction.web import mount_web
from mineaction.web.basemap import basemap
from mineaction.web.basemap_layers import Feature, TileLayer


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def read_layer(data: bytes, layer: str, z: int, x: int, y: int, tmp: Path
               ) -> tuple[list[str], list[Any]]:
    """The names and geometries (Web Mercator) of one layer of a tile, read by GDAL."""
    if not data:  # an empty tile: no layer at all
        return [], []
    path = tmp / f"{layer}-{z}-{x}-{y}.mvt"
    path.write_bytes(data)
    if layer not in {name for name, _ in pyogrio.list_layers(path)}:
        return [], []
    meta, _, geoms, fields = pyogrio.raw.read(path, layer=layer, X=x, Y=y, Z=z)
    names = list(fields[list(meta["fields"]).index("name")]) if "name" in meta["fields"] else []
    return names, list(shapely.from_wkb(geoms))


def test_places_appear_by_rank(tmp_path: Path) -> None:
    b = basemap()
    # Zoom 4 over Colombia: the capital and the large cities, not a town such as
    # Barrancabermeja (Natural Earth's min_zoom 7).
    x, y = tile_xy(-74.08, 4.6, 4)
    names4, _ = read_layer(b.tile(4, x, y), "places", 4, x, y, tmp_path)
    assert {"Bogota", "Medellín", "Cali"} <= set(names4)
    assert "Barrancabermeja" not in names4
    x, y = tile_xy(-73.85, 7.09, 6)
    assert "Barrancabermeja" not in read_layer(b.tile(6, x, y), "places", 6, x, y, tmp_path)[0]
    x, y = tile_xy(-73.85, 7.09, 7)
    names6, points = read_layer(b.tile(7, x, y), "places", 7, x, y, tmp_path)
    assert "Barrancabermeja" in names6
    assert all(p.geom_type == "Point" for p in points)
    assert len(names6) > 2


def test_rivers_lakes_and_land(tmp_path: Path) -> None:
    b = basemap()
    x, y = tile_xy(-74.42, 6.48, 8)  # Puerto Berrío on the Magdalena
    data = b.tile(8, x, y)
    names, lines = read_layer(data, "rivers", 8, x, y, tmp_path)
    assert "Magdalena" in names
    assert all(g.geom_type in ("LineString", "MultiLineString") for g in lines)
    _, land = read_layer(data, "land", 8, x, y, tmp_path)
    assert land and all(g.is_valid and g.area > 0 for g in land)
    # Lake Titicaca (Natural Earth's min_zoom 1.7): a polygon with its name at zoom 5.
    x, y = tile_xy(-69.4, -15.8, 5)
    names, lakes = read_layer(b.tile(5, x, y), "lakes", 5, x, y, tmp_path)
    assert "Lago Titicaca" in names
    assert all(g.area > 0 for g in lakes)
    # Open sea far from any coast: land and places are absent.
    x, y = tile_xy(-140.0, -30.0, 8)
    assert read_layer(b.tile(8, x, y), "land", 8, x, y, tmp_path) == ([], [])


def test_tile_layer_cuts_lines_and_points_at_edges(tmp_path: Path) -> None:
    # A line across the four tiles of zoom 1 around (0, 0); a point in each quarter; a
    # point exactly on the prime meridian at the equator; one feature from zoom 2 only.
    line = Feature(LineString([(-90, -45), (90, 45)]), (("name", "diagonal"),))
    points = [Feature(Point(lon, lat), (("name", f"p{lon}{lat}"),))
              for lon, lat in ((-90, 45), (90, 45), (-90, -45), (90, -45), (0, 0))]
    late = Feature(Point(10, 10), (("name", "late"),), min_zoom=2)
    lines, pts = TileLayer("l", [line]), TileLayer("p", [*points, late])
    seen: list[str] = []
    for x in (0, 1):
        for y in (0, 1):
            names, geoms = read_layer(pts.encode(1, x, y), "p", 1, x, y, tmp_path)
            seen += names
            _, cut = read_layer(lines.encode(1, x, y), "l", 1, x, y, tmp_path)
            if (x, y) in ((0, 1), (1, 0)):  # the diagonal's two quarters
                assert len(cut) == 1 and cut[0].geom_type == "LineString"
    # Each point once over the four tiles (the one on the corner too); not "late".
    assert sorted(seen) == sorted(f.props[0][1] for f in points)
    assert "late" in read_layer(pts.encode(2, 2, 1), "p", 2, 2, 1, tmp_path)[0]
    # Line encoding: a feature of type 2.
    enc = mvt.LayerEncoder()
    assert enc.line([], [[(0, 0)]]) is None
    assert enc.line([], [[(0, 0), (10, 10)]]) is not None


def make_mbtiles(path: Path, fmt: str, tiles: dict[tuple[int, int, int], bytes],
                 **meta: str) -> Path:
    """An MBTiles file: tiles keyed by XYZ (z, x, y), stored with TMS rows."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                     "tile_row INTEGER, tile_data BLOB)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)",
                         [("format", fmt), *meta.items()])
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                         [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    conn.close()
    return path


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[Any]:
    """A function (basemap_file setting) -> GET of the app built with it."""
    made: list[Any] = []

    with start_blocking_portal() as portal:
        def build(basemap_file: str | None) -> Any:
            settings = load_settings(store=str(tmp_path / f"s{len(made)}.gpkg"),
                                     argon2_time_cost=1, argon2_memory_kib=64,
                                     upload_dir=tmp_path / "up", basemap_file=basemap_file)
            app = create_app(settings)
            mount_web(app, settings)
            made.append(app)
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver")

            def get(url: str) -> httpx.Response:
                return portal.call(lambda: http.get(url))

            get.app = app  # type: ignore[attr-defined]
            return get

        yield build
    for app in made:
        app.state.services.close()


def test_a_raster_mbtiles_is_served_with_rows_flipped(tmp_path: Path, client_for: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"z2x1y1"
    path = make_mbtiles(tmp_path / "osm.mbtiles", "png", {(2, 1, 1): png},
                        attribution="© OpenStreetMap contributors", minzoom="0",
                        maxzoom="2", bounds="-80,-5,-66,13", name="Colombia")
    get = client_for(str(path))
    info = get("/web/api/basemap/user/info").json()
    assert info["format"] == "png" and not info["vector"] and info["maxzoom"] == 2
    assert info["attribution"] == "© OpenStreetMap contributors"
    assert info["bounds"] == [-80.0, -5.0, -66.0, 13.0]
    r = get("/web/api/basemap/user/2/1/1")
    assert r.status_code == 200 and r.content == png
    assert r.headers["content-type"] == "image/png"
    # The same tile's TMS row asked as XYZ is another tile: not there.
    assert get("/web/api/basemap/user/2/1/2").status_code == 404
    # Outside the pyramid, or past any zoom: 404 (or 422 from the route's bounds).
    for url in ("/web/api/basemap/user/2/4/0", "/web/api/basemap/user/2/-1/0",
                "/web/api/basemap/user/25/0/0", "/web/api/basemap/user/9/0/0"):
        assert get(url).status_code == 404, url
    assert get("/web/api/basemap/user/31/0/0").status_code == 422
    assert get("/web/api/basemap/user/a/0/0").status_code == 422


def test_a_vector_mbtiles_says_its_layers_and_is_sent_gzipped(tmp_path: Path,
                                                              client_for: Any) -> None:
    enc = mvt.LayerEncoder()
    tile = enc.tile("roads", [enc.line([("name", "Ruta 60")], [[(0, 0), (4096, 4096)]])
                              or b""])
    path = make_mbtiles(tmp_path / "v.mbtiles", "pbf", {(0, 0, 0): gzip.compress(tile)},
                        json='{"vector_layers": [{"id": "roads"}, {"id": "water"}]}')
    get = client_for(str(path))
    info = get("/web/api/basemap/user/info").json()
    assert info["vector"] and info["vector_layers"] == ["roads", "water"]
    r = get("/web/api/basemap/user/0/0/0")
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == tile  # httpx undoes the gzip, as a browser does
    names, _ = read_layer(r.content, "roads", 0, 0, 0, tmp_path)
    assert names == ["Ruta 60"]


def test_a_bad_basemap_file_is_404_not_500(tmp_path: Path, client_for: Any) -> None:
    not_sqlite = tmp_path / "bad.mbtiles"
    not_sqlite.write_bytes(b"this is not a database" * 100)
    no_tiles = tmp_path / "empty.mbtiles"
    with sqlite3.connect(no_tiles) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.close()
    odd_format = make_mbtiles(tmp_path / "odd.mbtiles", "tiff", {})
    for setting, why in ((str(tmp_path / "missing.mbtiles"), "no such file"),
                         (str(not_sqlite), "not an MBTiles"), (str(no_tiles), "not an MBTiles"),
                         (str(odd_format), "format 'tiff'"), (None, "no basemap file")):
        get = client_for(setting)
        r = get("/web/api/basemap/user/info")
        assert r.status_code == 404 and why in r.json()["message"], (setting, r.text)
        assert get("/web/api/basemap/user/0/0/0").status_code == 404
    truncated = tmp_path / "cut.pmtiles"
    truncated.write_bytes(b"PMTiles\x03" + b"\x00" * 20)  # its header cut short
    brotli = make_pmtiles(tmp_path / "br.pmtiles", "mvt", {(0, 0, 0): b"x"},
                          tile_compression=3)
    for setting, why in ((truncated, "not a PMTiles file"), (brotli, "compressed with brotli")):
        with pytest.raises(BasemapFileError, match=why):
            open_basemap_file(str(setting))
        r = client_for(str(setting))("/web/api/basemap/user/info")
        assert r.status_code == 404 and why in r.json()["message"]


def make_pmtiles(path: Path, tile_type: str, tiles: dict[tuple[int, int, int], bytes],
                 tile_compression: int = 1, leaf_size: int | None = None,
                 **metadata: Any) -> Path:
    """A PMTiles v3 file written by the pmtiles library (Protomaps' own writer); with
    `leaf_size`, its directory split into leaves of that many entries under the root, as
    the writer does for a big extract (a country's root directory would not fit 16 KiB)."""
    from unittest import mock

    from pmtiles import writer as pmtiles_writer
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    def leaves(entries: Any, _target: int) -> Any:
        return pmtiles_writer.build_roots_leaves(entries, leaf_size)

    with path.open("wb") as f, mock.patch.object(
            pmtiles_writer, "optimize_directories",
            leaves if leaf_size else pmtiles_writer.optimize_directories):
        writer = Writer(f)
        for (z, x, y), data in sorted(tiles.items(), key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        zooms = [z for z, _, _ in tiles] or [0]
        writer.finalize({
            "tile_type": TileType[tile_type.upper()],
            "tile_compression": Compression(tile_compression),
            "min_zoom": min(zooms), "max_zoom": max(zooms),
            "min_lon_e7": -800_000_000, "min_lat_e7": -50_000_000,
            "max_lon_e7": -660_000_000, "max_lat_e7": 130_000_000,
            "center_zoom": 0, "center_lon_e7": 0, "center_lat_e7": 0}, metadata)
    return path


def test_a_pmtiles_file_serves_its_tiles_by_xyz(tmp_path: Path, client_for: Any) -> None:
    """A PMTiles basemap (issue 21, 1) is served like an MBTiles one: its tiles by z/x/y
    (PMTiles counts rows from the north, as the map asks), gzipped vector tiles sent as
    gzip, the layers and attribution from its metadata; its directory in leaves under the
    root, as a country extract's is."""
    enc = mvt.LayerEncoder()
    tiles: dict[tuple[int, int, int], bytes] = {}
    for z in range(8):
        for x in range(min(1 << z, 24)):
            for y in range(min(1 << z, 24)):
                tile = enc.tile("places", [enc.point([("name", f"{z}/{x}/{y}")], 0.5, 0.5)
                                           or b""])
                tiles[(z, x, y)] = gzip.compress(tile, mtime=0)
    path = make_pmtiles(tmp_path / "co.pmtiles", "mvt", tiles, tile_compression=2,
                        leaf_size=64, attribution="© OpenStreetMap contributors", name="Colombia",
                        vector_layers=[{"id": "places"}, {"id": "water"}])
    opened = open_basemap_file(str(path))
    assert isinstance(opened, PMTiles) and opened.header["leaf_directory_length"] > 0
    opened.close()
    get = client_for(str(path))
    info = get("/web/api/basemap/user/info").json()
    assert info["format"] == "pbf" and info["vector"]
    assert info["vector_layers"] == ["places", "water"] and info["name"] == "Colombia"
    assert info["attribution"] == "© OpenStreetMap contributors"
    assert (info["minzoom"], info["maxzoom"]) == (0, 7)
    assert info["bounds"] == [-80.0, -5.0, -66.0, 13.0]
    for z, x, y in ((0, 0, 0), (5, 3, 17), (7, 23, 1), (7, 1, 23), (6, 20, 12), (7, 22, 3)):
        r = get(f"/web/api/basemap/user/{z}/{x}/{y}")
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        names, _ = read_layer(r.content, "places", z, x, y, tmp_path)
        assert names == [f"{z}/{x}/{y}"], (z, x, y)
    for url in ("/web/api/basemap/user/7/24/0", "/web/api/basemap/user/8/0/0",
                "/web/api/basemap/user/1/2/0"):
        assert get(url).status_code == 404, url


def test_admin_area_tiles_carry_names_for_who_may_see_them(tmp_path: Path,
                                                           client_for: Any) -> None:
    get = client_for(None)
    store = get.app.state.services.store
    store.add(AdminArea(pcode="05", name="Antioquia", level=1, status="approved",
                        geometry=box(-77.0, 5.4, -73.9, 8.9)))
    store.add(AdminArea(pcode="05313", name="Granada", level=2, status="approved",
                        geometry=box(-75.25, 6.05, -75.05, 6.25)))
    store.add(AdminArea(pcode="05999", name="Borrador", level=2, status="submitted",
                        geometry=box(-75.45, 6.05, -75.3, 6.25)))
    x, y = tile_xy(-75.15, 6.15, 9)
    data = get(f"/web/api/basemap/admin/9/{x}/{y}.mvt").content
    names, outlines = read_layer(data, "admin", 9, x, y, tmp_path)
    labels, points = read_layer(data, "admin_labels", 9, x, y, tmp_path)
    # The public sees approved admin areas only.
    assert set(names) == {"Antioquia", "Granada"} and set(labels) >= {"Granada"}
    assert all(p.geom_type == "Point" for p in points)
    # Zoomed out, municipalities wait (zoom 6): the department alone.
    x, y = tile_xy(-75.15, 6.15, 4)
    names4, _ = read_layer(get(f"/web/api/basemap/admin/4/{x}/{y}.mvt").content, "admin",
                           4, x, y, tmp_path)
    assert names4 == ["Antioquia"]
    # A new area shows at once (the cache follows the data version).
    store.add(AdminArea(pcode="05314", name="Nueva", level=1, status="approved",
                        geometry=box(-75.2, 6.1, -75.1, 6.2)))
    names4, _ = read_layer(get(f"/web/api/basemap/admin/4/{x}/{y}.mvt").content, "admin",
                           4, x, y, tmp_path)
    assert sorted(names4) == ["Antioquia", "Nueva"]
    assert get("/web/api/basemap/admin/2/4/0.mvt").status_code == 404
    assert get("/web/api/basemap/admin/13/0/0.mvt").status_code == 422
    # The shipped basemap's tiles now reach zoom 10.
    assert get("/web/api/basemap/10/300/490.mvt").status_code == 200
    assert get("/web/api/basemap/11/0/0.mvt").status_code == 422
