# SPDX-License-Identifier: GPL-3.0-or-later
"""Vector tiles of every layer for GIS clients (issue 23, 2), read back by two decoders
that are not ours (mapbox-vector-tile's and GDAL's MVT driver, what QGIS uses): each
holds the records the asker may list and their fields as the records API shows them,
the public's places generalised and drafts left out; a TileJSON per collection."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pyogrio.raw
import pytest
import shapely
from api_helpers import Api, accident

from mineaction.geo import mvt
from mineaction.services import vector_tiles

LON, LAT, Z = -75.1834, 6.1412, 12


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    mx, my = mvt.mercator(lon, lat)
    return int(mx * (1 << z)), int(my * (1 << z))


def _approved(api: Api, n: int) -> list[str]:
    editor, approver = api.as_("editor"), api.as_("approver")
    ids = []
    for i in range(n):
        rec = editor.post("/api/v1/accidents", json=accident(
            geometry={"type": "Point", "coordinates": [LON + i / 1000, LAT]})).json()
        url = f"/api/v1/accidents/{rec['id']}"
        assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
        assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200
        ids.append(rec["id"])
    return ids


def _both(data: bytes, tmp_path: Path, z: int, x: int, y: int) -> tuple[dict[str, Any], Any]:
    """The tile as mapbox-vector-tile decodes it, and GDAL's (meta, geometry, fields)."""
    ours = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ours, path


def test_a_tile_holds_what_the_asker_may_list(api: Api, tmp_path: Path) -> None:
    ids = _approved(api, 3)
    api.as_("editor").post("/api/v1/accidents", json=accident())  # a draft
    x, y = tile_of(LON, LAT, Z)
    url = f"/api/v1/tiles/accidents/{Z}/{x}/{y}.mvt"

    editor = api.as_("editor").get(url)
    assert editor.status_code == 200
    assert editor.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded, path = _both(editor.content, tmp_path / "e", Z, x, y)
    features = decoded["accidents"]["features"]
    assert len(features) == 4  # the draft too: the editor's list shows it
    meta, _, geometry, fields = pyogrio.raw.read(path, layer="accidents", CLIP="NO")
    assert len(geometry) == 4  # GDAL reads the same
    names = [str(n) for n in meta["fields"]]
    assert "narrative" in names and "id" in names
    assert set(fields[names.index("id")]) >= set(ids)
    # the first accident lies where it was recorded, to the tile's resolution
    first = next(f for f in features if f["properties"]["id"] == ids[0])
    mx, my = mvt.mercator(LON, LAT)
    assert first["geometry"]["coordinates"] == [round((mx * (1 << Z) - x) * mvt.EXTENT),
                                                round((my * (1 << Z) - y) * mvt.EXTENT)]

    public = api.public.get(url)
    assert public.status_code == 200  # the generalised points may fall in another tile
    px, py = tile_of(round(LON, 1), round(LAT, 1), Z)
    public = api.public.get(f"/api/v1/tiles/accidents/{Z}/{px}/{py}.mvt")
    decoded = mapbox_vector_tile.decode(public.content, default_options={"y_coord_down": True})
    shown = decoded["accidents"]["features"]
    assert len(shown) == 3  # approved only, all at the generalised place
    assert all("narrative" not in f["properties"] and "external_id" not in f["properties"]
               for f in shown)
    assert {f["properties"]["location_precision"] for f in shown} == {"generalised"}


def test_polygons_are_cut_to_the_tile_and_read_by_gdal(api: Api, tmp_path: Path) -> None:
    side = 0.01
    ring = [[LON, LAT], [LON + side, LAT], [LON + side, LAT + side], [LON, LAT + side],
            [LON, LAT]]
    r = api.as_("editor").post("/api/v1/hazards", json={
        "hazard_kind": "CHA", "name": "Loma", "geometry": {"type": "Polygon",
                                                           "coordinates": [ring]}})
    assert r.status_code == 201
    x, y = tile_of(LON + side / 2, LAT + side / 2, 14)
    data = api.as_("editor").get(f"/api/v1/tiles/hazards/14/{x}/{y}.mvt").content
    decoded, path = _both(data, tmp_path, 14, x, y)
    (feature,) = decoded["hazards"]["features"]
    assert feature["properties"]["name"] == "Loma"
    assert feature["geometry"]["type"] == "Polygon"
    _, _, geometry, _ = pyogrio.raw.read(path, layer="hazards", CLIP="NO")
    # GDAL gives Web Mercator metres: the hazard's part in this tile, about right
    (wkb,) = geometry
    part = shapely.from_wkb(wkb)
    world = shapely.box(*[c * 2 * math.pi * 6378137 - math.pi * 6378137 for c in (0, 0, 1, 1)])
    assert part.is_valid and part.area > 0 and world.contains(part)
    metres = 40075016.686 / (1 << 14)  # a tile's side at zoom 14
    assert part.area <= (metres * (1 + 2 * mvt.BUFFER)) ** 2


def test_tilejson_bounds_and_refusals(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    public = api.public.get("/api/v1/tiles/accidents.json").json()
    assert public["tilejson"] == "3.0.0"
    assert public["tiles"][0].endswith("/api/v1/tiles/accidents/{z}/{x}/{y}.mvt")
    assert "narrative" not in public["vector_layers"][0]["fields"]
    assert "narrative" in api.as_("viewer").get("/api/v1/tiles/accidents.json").json()[
        "vector_layers"][0]["fields"]
    sets = {s["collection"] for s in api.public.get("/api/v1/tiles").json()["tilesets"]}
    assert "accidents" in sets and "minefield-records" not in sets
    assert "minefield-records" in {s["collection"] for s in api.as_("viewer").get(
        "/api/v1/tiles").json()["tilesets"]}
    assert api.public.get("/api/v1/tiles/minefield-records/0/0/0.mvt").status_code == 403
    assert api.public.get("/api/v1/tiles/organisations/0/0/0.mvt").status_code == 404
    assert api.public.get("/api/v1/tiles/accidents/3/8/0.mvt").status_code == 404
    assert api.public.get("/api/v1/tiles/accidents/23/0/0.mvt").status_code == 422
    # a tile of more records than it holds says so
    _approved(api, 3)
    monkeypatch.setattr(vector_tiles, "MAX_FEATURES", 2)
    x, y = tile_of(LON, LAT, Z)
    r = api.as_("viewer").get(f"/api/v1/tiles/accidents/{Z}/{x}/{y}.mvt")
    assert r.headers.get("x-tile-truncated") == "true"
    decoded = mapbox_vector_tile.decode(r.content)
    assert len(decoded["accidents"]["features"]) == 2
