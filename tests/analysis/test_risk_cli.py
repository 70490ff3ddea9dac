# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction risk` (issue 19): train, evaluate, predict and score on a real store (the
AICMA events of a 45 x 45 km box east of Medellín, imported with the shipped mapping),
and the outputs read back as GIS tools read them: the GeoPackage with GDAL (pyogrio), the
GeoTIFF with rasterio. Also: the model directory round-trip, a bad CSV row, who the model
learns from (a field user never from other users' drafts), and that `score` and `predict`
agree at a point. Small LightGBM settings: the module runs in about 30 s."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from aicma_box import events_in
from pyogrio.raw import read
from typer.testing import CliRunner

from mineaction.access.roles import Policy, Principal, Role
from mineaction.analysis.risk import artifact, features, grid, model, registry
from mineaction.cli import app
from mineaction.domain.models import Accident, AdminArea
from mineaction.services.risk import Risk, TrainParams, far_events, projection_of
from mineaction.store import open_store

REPO = Path(__file__).parents[2]
BOX = (-75.3, 6.0, -74.9, 6.4)
AREA = (-75.25, 6.15, -75.1, 6.3)  # an admin area of the test store, about 16 x 17 km
SMALL = ["--rounds", "40", "--num-leaves", "7", "--min-child", "20",
         "--negative-ratio", "1"]
PARAMS = TrainParams(rounds=40, num_leaves=7, min_child=20, negative_ratio=1.0)
ADMIN = Principal(username="cli:test", role=Role.admin, user_id="cli:test")
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "120"})
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,070 AICMA events (accidents, finds, suspected minefields) of 1990-2014."""
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file

    folder = tmp_path_factory.mktemp("risk")
    sliced = events_in(BOX, folder)
    path = folder / "store.gpkg"
    with open_store(path) as store:
        report = import_file(store, sliced, mapping=load_mapping("aicma-events"))
        assert report.committed and not report.errors
        store.add(AdminArea(pcode="05999", name="Vereda Prueba", level=2,
                            geometry=shapely.box(*AREA)))
    return path


@pytest.fixture(scope="module")
def model_dir(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model `risk train` makes by default: with kernel densities beside the event
    history, the rank mix of a model on every feature and one on the history alone."""
    folder = tmp_path_factory.mktemp("model")
    config = folder / "features.yaml"
    config.write_text("kde_bandwidths_km: [2, 5]\n")
    out = folder / "model"
    code, text = cli("risk", "train", "--store", str(store_path), "--within-km", "10",
                     "--config", str(config), "--out", str(out), *SMALL)
    assert code == 0, text
    assert "features before 2010, labels 2010 to 2015" in text
    assert "baseline: distance to nearest past event" in text
    return out


@pytest.fixture(scope="module")
def predicted(store_path: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("predict")
    gpkg, tif = folder / "grid.gpkg", folder / "grid.tif"
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     "--near-events", "5", "--out", str(gpkg), "--tif", str(tif))
    assert code == 0, text
    return gpkg, tif


def cells(gpkg: Path) -> dict[str, np.ndarray]:
    meta, _, wkb, values = read(str(gpkg), layer="risk_cells")
    out = {str(name): col for name, col in zip(meta["fields"], values, strict=True)}
    out["geometry"] = shapely.from_wkb(wkb)
    return out


# -- train --------------------------------------------------------------------------------
def test_train_writes_a_model_directory(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["format"] == artifact.FORMAT == 2 and manifest["kind"] == artifact.KIND
    # the rank mix: every feature, then the event history alone, a booster each
    every, history = manifest["members"]
    assert every["features"] == manifest["features"] and "kde_any_2km" in every["features"]
    assert history["features"] == registry.event_history(every["features"])
    assert not any(f.startswith("kde_") for f in history["features"])
    assert (model_dir / "booster_1.txt").read_text().startswith("tree")
    assert (model_dir / "references.npz").is_file()
    assert (manifest["trained_until"], manifest["horizon_years"],
            manifest["feature_cutoff"]) == (2015.0, 5.0, 2010.0)
    assert "+proj=laea" in manifest["crs_proj"] and manifest["crs"].startswith("PROJCRS")
    assert manifest["calibrated"] and (model_dir / "calibrator.npz").is_file()
    assert "dist_any_km" in manifest["features"]
    held = manifest["metrics"]["held_out"]
    assert set(held) == {"LightGBM", "baseline: distance to nearest past event",
                         "baseline: past events within 5 km"}
    assert 0.5 < held["LightGBM"]["roc_auc"] <= 1.0
    assert (model_dir / "booster.txt").read_text().startswith("tree")
    config = features.load_config(model_dir / "features.yaml")
    assert config.radii_km == (1.0, 5.0, 10.0) and config.kde_bandwidths_km == (2.0, 5.0)


def test_train_past_the_data_uses_the_latest_complete_window(
        store_path: Path, tmp_path: Path) -> None:
    code, text = cli("risk", "train", "--store", str(store_path), "--until", "2030",
                     "--within-km", "5", "--out", str(tmp_path / "m"), *SMALL)
    assert code == 0, text
    assert "note: the data end with 2014" in text
    assert "latest complete window, events of 2010 to 2014" in text
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["trained_until"] \
        == 2015.0


@pytest.mark.parametrize("config, kind, fmt", [
    (features.FeatureConfig(), model.RiskModel, 1),  # history alone: one model, format 1
    (features.FeatureConfig(kde_bandwidths_km=(2.0,)), model.RankMix, 2)])
def test_artifact_round_trip_predicts_the_same(store_path: Path, tmp_path: Path,
                                               config: features.FeatureConfig,
                                               kind: type, fmt: int) -> None:
    with open_store(store_path) as store:
        service = Risk(store, Policy())
        total: list[int] = []
        done: list[int] = []
        trained = service.train(ADMIN, config, within_km=5, params=PARAMS,
                                rounds_total=total.append, rounds_done=done.append)
        assert isinstance(trained.model, kind)
        # the progress bar's total: each model's rounds, announced before the first
        models = len(getattr(trained.model, "members", [trained.model]))
        assert models == (2 if kind is model.RankMix else 1)
        assert total == [PARAMS.rounds * models] and len(done) == total[0]
        artifact.save(trained.model, tmp_path / "m", trained.meta)
        assert json.loads((tmp_path / "m" / "manifest.json").read_text())["format"] == fmt
        loaded, meta = artifact.load(tmp_path / "m")
        assert isinstance(loaded, kind)
        ev = service.events(ADMIN)
    projection = projection_of(meta)
    ctx = features.Context.build(projection, ev, meta["config"])
    g = grid.over_bbox(*BOX, 2000.0, projection)
    X = features.compute(ctx, g.x, g.y, 2015.0)
    assert np.array_equal(trained.model.predict(X), loaded.predict(X))
    assert np.array_equal(trained.model.raw(X), loaded.raw(X))
    assert np.array_equal(trained.model.contributions(X).to_numpy(),
                          loaded.contributions(X).to_numpy())
    assert loaded.features == trained.model.features


def test_loading_what_is_not_a_model_names_the_file(model_dir: Path, tmp_path: Path,
                                                    store_path: Path) -> None:
    with pytest.raises(artifact.ArtifactError, match=r"manifest\.json: missing"):
        artifact.load(tmp_path)
    newer = tmp_path / "newer"
    shutil.copytree(model_dir, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(artifact.ArtifactError,
                       match=rf"{newer / 'manifest.json'}: model format 99 is newer"):
        artifact.load(newer)
    incomplete = tmp_path / "incomplete"
    shutil.copytree(model_dir, incomplete)
    (incomplete / "references.npz").unlink()
    with pytest.raises(artifact.ArtifactError,
                       match=rf"{incomplete / 'references.npz'}: missing"):
        artifact.load(incomplete)
    code, text = cli("risk", "predict", "--model", str(tmp_path), "--store", str(store_path),
                     "--bbox", "-75.2,6.1,-75.1,6.2", "--out", str(tmp_path / "g.gpkg"))
    assert code == 2 and "manifest.json: missing" in text
    assert not (tmp_path / "g.gpkg").exists()


# -- predict ------------------------------------------------------------------------------
def test_geopackage_reads_as_qgis_reads_it(predicted: tuple[Path, Path],
                                           model_dir: Path) -> None:
    import pyogrio

    gpkg, _ = predicted
    layers = {str(name): kind for name, kind in pyogrio.list_layers(gpkg)}
    assert layers == {"risk_cells": "Polygon", "risk_model": None}
    info = pyogrio.read_info(gpkg, layer="risk_cells")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Polygon"
    assert list(info["fields"]) == ["cell_id", "probability", "raw_score", "percentile",
                                    "why", "lon", "lat"]
    assert list(info["dtypes"]) == ["int64", "float64", "float64", "float64", "object",
                                    "float64", "float64"]
    c = cells(gpkg)
    n = info["features"]
    assert n == len(c["cell_id"]) > 1000 and len(np.unique(c["cell_id"])) == n
    assert ((c["probability"] >= 0) & (c["probability"] <= 1)).all()
    assert c["percentile"].min() == 0.0 and c["percentile"].max() < 100.0
    # percentile: the share of cells with a lower raw score
    i = int(np.argmax(c["raw_score"]))
    assert c["percentile"][i] == pytest.approx(100 * np.mean(c["raw_score"] <
                                                             c["raw_score"][i]))
    # each square holds its centre, four corners and the ring's close
    assert shapely.contains_xy(c["geometry"], c["lon"], c["lat"]).all()
    assert (shapely.get_num_coordinates(c["geometry"]) == 5).all()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    why = json.loads(c["why"][i])
    assert len(why) == 5 and set(why) <= set(manifest["features"])
    assert list(why.values()) == sorted(why.values(), key=abs, reverse=True)
    meta, _, _, values = read(str(gpkg), layer="risk_model", read_geometry=False)
    row = {str(k): v[0] for k, v in zip(meta["fields"], values, strict=True)}
    assert list(row) == ["trained_until", "horizon_years", "cutoff", "cell_m", "created",
                         "features", "metrics", "model_format", "report"]
    assert (row["trained_until"], row["horizon_years"], row["cutoff"], row["cell_m"]) == \
        (2015.0, 5.0, 2015.0, 1000.0)
    assert json.loads(row["features"]) == manifest["features"]
    assert 0.5 < json.loads(row["metrics"])["roc_auc"] <= 1.0
    assert row["model_format"] == artifact.FORMAT
    assert row["created"] == manifest["created"]
    # what the annual report's risk section reads of the model (reports/risk_section.py)
    assert json.loads(row["report"])["metrics"]["held_out"] == manifest["metrics"]["held_out"]


def test_geotiff_matches_the_geopackage(predicted: tuple[Path, Path],
                                        model_dir: Path) -> None:
    import rasterio

    gpkg, tif = predicted
    c = cells(gpkg)
    _, meta = artifact.load(model_dir)
    projection = projection_of(meta)
    with rasterio.open(tif) as src:
        # the grid's own projection (GDAL writes its WKT1 flavour: compare what it does)
        assert "Lambert_Azimuthal_Equal_Area" in src.crs.to_wkt()
        tif_proj = grid.Projection(pyproj.CRS.from_wkt(src.crs.to_wkt()))
        assert np.allclose(tif_proj.forward(c["lon"], c["lat"]),
                           projection.forward(c["lon"], c["lat"]), atol=1e-6)
        assert src.nodata == -9999.0 and src.dtypes == ("float32",)
        assert src.profile["compress"] == "lzw"
        assert src.res == (1000.0, 1000.0)
        band = src.read(1)
        x, y = projection.forward(c["lon"], c["lat"])
        values = np.array([v[0] for v in src.sample(zip(x, y, strict=True))])
        # one pixel a cell, holding the cell's probability; the rest is nodata
        assert np.array_equal(values, c["probability"].astype(np.float32))
        assert int((band != -9999.0).sum()) == len(c["cell_id"])
        assert (band == -9999.0).any()


def test_predict_over_a_box_and_per_hazard(store_path: Path, model_dir: Path,
                                           tmp_path: Path) -> None:
    import pyogrio

    out, hz = tmp_path / "box.gpkg", tmp_path / "hazards.csv"
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     "--bbox", "-75.2,6.1,-75.1,6.2", "--cell-m", "2000", "--at", "2012",
                     "--out", str(out), "--hazards", str(hz))
    assert code == 0, text
    info = pyogrio.read_info(out, layer="risk_cells")
    c = cells(out)
    # the box's corners are inside the covered cells
    covered = shapely.union_all(c["geometry"])
    assert covered.contains(shapely.box(-75.2, 6.1, -75.1, 6.2).buffer(-1e-6))
    assert 25 <= info["features"] <= 60  # 11 x 11 km in 2 km cells
    meta, _, _, values = read(str(out), layer="risk_model", read_geometry=False)
    assert dict(zip(meta["fields"], (v[0] for v in values), strict=True))["cutoff"] == 2012.0
    with hz.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["hazard_id", "score", "percentile"]
    assert len(rows) == 312  # the suspected minefields of the box
    scores = np.array([float(r["score"]) for r in rows])
    assert ((scores >= 0) & (scores <= 1)).all() and scores.std() > 0


def test_predict_over_an_admin_area_by_name(store_path: Path, model_dir: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "area.gpkg"
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     "--admin-area", "vereda prueba", "--out", str(out))
    assert code == 0, text
    c = cells(out)
    # cells whose centre is inside the area: all of them inside, about its km2 of them
    assert shapely.contains_xy(shapely.box(*AREA), c["lon"], c["lat"]).all()
    assert 250 < len(c["cell_id"]) < 300
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     "--admin-area", "05000", "--out", str(tmp_path / "none.gpkg"))
    assert code == 2 and "no admin area has the code or name '05000'" in text
    assert not (tmp_path / "none.gpkg").exists()


def test_events_far_from_the_rest_are_coordinate_errors() -> None:
    frame = pd.DataFrame({"lon": [-75.0, -75.2, -74.9, 74.2, -75.1],
                          "lat": [6.0, 6.2, 6.1, 4.2, 6.3]})
    assert far_events(frame).tolist() == [False, False, False, True, False]


def test_predict_needs_one_area(store_path: Path, model_dir: Path, tmp_path: Path) -> None:
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     "--bbox", "-75.2,6.1,-75.1,6.2", "--near-events", "3",
                     "--out", str(tmp_path / "g.gpkg"))
    assert code == 2 and "exactly one of --bbox, --admin-area, --near-events" in text
    assert not (tmp_path / "g.gpkg").exists()


# -- score --------------------------------------------------------------------------------
def test_score_equals_predict_at_the_cell_centres(predicted: tuple[Path, Path],
                                                  store_path: Path, model_dir: Path,
                                                  tmp_path: Path) -> None:
    c = cells(predicted[0])
    pick = np.r_[np.argsort(-c["raw_score"])[:3], [0, len(c["cell_id"]) // 2]]
    points = tmp_path / "points.csv"
    with points.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["site_id", "Longitude", "Latitude", "note"])
        for i in pick:
            w.writerow([f"S{i}", repr(float(c["lon"][i])), repr(float(c["lat"][i])), "x"])
    out = tmp_path / "scores.csv"
    code, text = cli("risk", "score", str(points), "--model", str(model_dir),
                     "--store", str(store_path), "--out", str(out))
    assert code == 0, text
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["site_id", "lon", "lat", "score"]
    assert [r["site_id"] for r in rows] == [f"S{i}" for i in pick]
    got = np.array([float(r["score"]) for r in rows])
    assert got == pytest.approx(c["probability"][pick], abs=1e-12)


def test_score_to_stdout(store_path: Path, model_dir: Path, tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text("x,y\n-75.1,6.2\n-75.0,6.3\n")
    result = runner.invoke(app, ["risk", "score", str(points), "--model", str(model_dir),
                                 "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "lon,lat,score" and len(lines) == 3
    assert 0 <= float(lines[1].split(",")[2]) <= 1


@pytest.mark.parametrize(("body", "message"), [
    ("lon,lat\n-75.1,6.2\n-75.0,abc\n", "row 2: field lat: 'abc' is not a number"),
    ("id,longitude,latitude\n1,-75.1,6.2\n2,,6.3\n", "row 2: field longitude: is empty"),
    ("lon,lat\n-75.1,6.2\n-75.0,6.3\n-75.0,96\n", "row 3: field lat: 96 is outside -90 to 90"),
    ("easting,northing\n1,2\n", "no coordinate columns"),
    ("lon,lat\n-75.1,6.2,7\n", "row 1 (line 2): 3 fields where the header has 2"),
])
def test_a_bad_points_file_is_named_and_nothing_written(
        store_path: Path, model_dir: Path, tmp_path: Path, body: str, message: str) -> None:
    points, out = tmp_path / "points.csv", tmp_path / "scores.csv"
    points.write_text(body)
    code, text = cli("risk", "score", str(points), "--model", str(model_dir),
                     "--store", str(store_path), "--out", str(out))
    assert code == 2
    assert f"{points}: {message}" in " ".join(text.split())
    assert not out.exists() and list(tmp_path.iterdir()) == [points]


# -- evaluate -----------------------------------------------------------------------------
def test_evaluate_json_and_report(store_path: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    code, text = cli("risk", "evaluate", "--store", str(store_path), "--until", "2010",
                     "--test-until", "2015", "--within-km", "3", "--folds", "blocks",
                     "--json", "--report", str(png), *SMALL)
    assert code == 0, text
    out = json.loads(text)
    oot = out["out_of_time"]
    assert set(oot) == {"LightGBM", "baseline: distance to nearest past event",
                        "baseline: past events within 5 km"}
    for r in oot.values():
        assert {"roc_auc", "average_precision", "top_1pct_events", "top_5pct_events",
                "top_10pct_events"} <= set(r)
    assert len(oot["LightGBM"]["reliability"]) == 10
    assert out["setup"]["train"]["labels"] == [2005.0, 2010.0]
    assert out["setup"]["test"]["labels"] == [2010.0, 2015.0]
    assert out["targets"]["ap"] in ("PASS", "MISS")
    assert out["blocks"]["cells_tested"] == out["setup"]["cells"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_evaluate_admin_folds_need_admin_areas(store_path: Path) -> None:
    code, text = cli("risk", "evaluate", "--store", str(store_path), "--until", "2010",
                     "--test-until", "2015", "--within-km", "3", "--folds", "admin", *SMALL)
    assert code == 2 and "--folds admin needs admin areas" in text


# -- who the model learns from ------------------------------------------------------------
def test_a_field_user_does_not_learn_from_other_users_drafts(store_path: Path,
                                                             tmp_path: Path) -> None:
    """Another user's draft accidents (a cluster in 2011-2013, the training labels' years)
    change an administrator's model but not a field user's: the field user's model is the
    one trained without them, exactly; the field user's own draft does count."""
    from shapely.geometry import Point

    path = tmp_path / "store.gpkg"
    shutil.copy(store_path, path)
    field = Principal(username="field1", role=Role.field, user_id="field1")
    rng = np.random.default_rng(0)
    with open_store(path) as store:
        service = Risk(store, Policy())
        before = service.train(ADMIN, features.FeatureConfig(), within_km=5, params=PARAMS)
        n_before = len(service.events(ADMIN))
        for _ in range(40):
            store.add(Accident(accident_date=date(2011 + int(rng.integers(0, 3)), 6, 1),
                               geometry=Point(-75.05 + rng.normal(0, 0.01),
                                              6.25 + rng.normal(0, 0.01))), by="other")
        own = store.add(Accident(accident_date=date(2012, 3, 1),
                                 geometry=Point(-75.2, 6.1)), by="field1")
        assert own.status.value == "draft"
        as_admin = service.events(ADMIN)
        as_field = service.events(field)
        assert len(as_admin) == n_before + 41 and len(as_field) == n_before + 1
        assert ((as_field["lon"] == -75.2) & (as_field["lat"] == 6.1)).sum() == 1
        store.delete("accident", own.id, by="field1")
        admin_model = service.train(ADMIN, features.FeatureConfig(), within_km=5,
                                    params=PARAMS)
        field_model = service.train(field, features.FeatureConfig(), within_km=5,
                                    params=PARAMS)
    assert field_model.meta["events"] == before.meta["events"]
    assert field_model.model.booster.model_to_string() == \
        before.model.booster.model_to_string()
    assert admin_model.meta["events"] == before.meta["events"] + 40
    assert admin_model.model.booster.model_to_string() != \
        before.model.booster.model_to_string()


def test_predict_with_dask_writes_the_same_probabilities_as_the_geopackage(
        store_path: Path, model_dir: Path, tmp_path: Path) -> None:
    """--dask threads (the chunked path a nationwide grid takes, in this process) gives
    each cell the probability the GeoPackage path gives it."""
    import rasterio

    area = ["--bbox", "-75.2,6.1,-75.1,6.2", "--cell-m", "2000", "--at", "2012"]
    gpkg, plain, chunked = tmp_path / "a.gpkg", tmp_path / "a.tif", tmp_path / "d.tif"
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     *area, "--out", str(gpkg), "--tif", str(plain))
    assert code == 0, text
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     *area, "--dask", "threads", "--tif", str(chunked))
    assert code == 0, text
    assert "scored with Dask (threads)" in text
    with rasterio.open(plain) as a, rasterio.open(chunked) as b:
        assert a.crs == b.crs and a.transform == b.transform and a.nodata == b.nodata
        pa, pb = a.read(1), b.read(1)
        kept = (pa != a.nodata) & (pb != b.nodata)
        assert kept.sum() == (pa != a.nodata).sum() > 20
        assert np.allclose(pa[kept], pb[kept], atol=1e-6)
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     *area, "--dask", "threads", "--out", str(gpkg))
    assert code == 2 and "give --tif, not --out" in text
    code, text = cli("risk", "predict", "--model", str(model_dir), "--store", str(store_path),
                     *area, "--dask", "tcp://127.0.0.1:9", "--tif", str(chunked))
    assert code == 2 and "no Dask scheduler answered" in text


def test_train_and_score_with_the_more_history_views(store_path: Path,
                                                      tmp_path: Path) -> None:
    # the views issue 19's bench turns on, through the command line and the model directory
    cfg = tmp_path / "features.yaml"
    cfg.write_text("radii_km: [1, 5]\nactivity_years: [1, 3]\n"
                   "decay_half_lives_years: [1, 10]\nevent_years: true\n"
                   "recent_distance: true\n")
    model_path = tmp_path / "m"
    code, text = cli("risk", "train", "--store", str(store_path), "--within-km", "5",
                     "--config", str(cfg), "--out", str(model_path), *SMALL)
    assert code == 0, text
    names = json.loads((model_path / "manifest.json").read_text())["features"]
    assert {"active_1y_any_5km", "decay_10y_any_1km", "years_with_events_any_5km",
            "dist_recent_any_km"} <= set(names)
    assert features.load_config(model_path / "features.yaml").activity_years == (1.0, 3.0)
    points = tmp_path / "points.csv"
    points.write_text("lon,lat\n-75.1,6.2\n-75.0,6.3\n")
    out = tmp_path / "scores.csv"
    code, text = cli("risk", "score", str(points), "--model", str(model_path),
                     "--store", str(store_path), "--out", str(out))
    assert code == 0, text
    rows = out.read_text().strip().splitlines()
    assert rows[0] == "lon,lat,score" and len(rows) == 3
    assert all(0 <= float(r.split(",")[2]) <= 1 for r in rows[1:])
