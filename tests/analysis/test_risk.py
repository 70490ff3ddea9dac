# SPDX-License-Identifier: GPL-3.0-or-later
"""The contamination-risk model (issue 19): grid, features on hand-made cases with
hand-computed values, the time cut-off, validation splits, metrics, baselines, and a model
that finds a covariate the baselines cannot see. Small and seeded: a few seconds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from mineaction.analysis.risk import (
    events,
    features,
    grid,
    metrics,
    model,
    registry,
    validate,
)

REPO = Path(__file__).parents[2]
PROJ = grid.Projection(grid.laea_crs(0.0, 0.0))
CFG = features.FeatureConfig(kinds=("accident", "find"), radii_km=(1.0, 5.0),
                             half_life_years=3.0, recent_years=2.0)


# -- grid ---------------------------------------------------------------------------------
def test_rectangle_has_the_right_cells_and_centres() -> None:
    g = grid.rectangle(PROJ, (0.0, 0.0, 10_000.0, 5_000.0), 1_000.0)
    assert (g.nrows, g.ncols, len(g)) == (5, 10, 50)
    assert g.x[0] == 500.0 and g.y[0] == 500.0 and g.x[-1] == 9_500.0 and g.y[-1] == 4_500.0
    lon, lat = g.lonlat()
    x, y = PROJ.forward(lon, lat)
    assert np.allclose(x, g.x, atol=1e-6) and np.allclose(y, g.y, atol=1e-6)
    assert g.cell_area_km2 == 1.0


def test_near_points_keeps_exactly_the_cells_within_reach() -> None:
    lon, lat = np.array([0.0, 0.2]), np.array([0.0, 0.05])
    g = grid.near_points(lon, lat, 1_000.0, 5_000.0, projection=PROJ)
    px, py = PROJ.forward(lon, lat)
    # brute force over the whole rectangle: centre within 5 km of either point
    full = grid.rectangle(PROJ, (g.x0, g.y0, g.x0 + g.ncols * 1e3, g.y0 + g.nrows * 1e3), 1e3)
    d = np.min(np.hypot(full.x[:, None] - px, full.y[:, None] - py), axis=1)
    assert np.array_equal(g.cell_id, full.cell_id[d <= 5_000.0])
    assert 2 * 70 < len(g) < 2 * 90  # two disks of pi * 25 km2, apart
    # every point well inside the reach falls in a kept cell, and ids locate back
    rng = np.random.default_rng(1)
    r, a = rng.uniform(0, 5_000 - 1_500, 500), rng.uniform(0, 2 * np.pi, 500)
    cells = g.locate(px[0] + r * np.cos(a), py[0] + r * np.sin(a))
    assert (cells >= 0).all()
    assert np.array_equal(g.locate(g.x, g.y), g.cell_id)
    assert g.locate(np.array([1e9]), np.array([0.0]))[0] == -1


# -- history features ---------------------------------------------------------------------
# one cell at the origin; events in projected metres, t in decimal years, cut-off 2010
CELL_X, CELL_Y = np.array([0.0]), np.array([0.0])
EV = pd.DataFrame({
    "kind": ["accident", "find", "accident", "find"],
    "x": [3_000.0, 0.0, 0.0, 100.0],
    "y": [4_000.0, 500.0, 800.0, 0.0],
    "t": [2008.0, 2009.5, 2012.0, 2010.0],  # the last two are not before the cut-off
})


def hist(ev: pd.DataFrame, cutoff: float = 2010.0) -> pd.DataFrame:
    return features.history(CELL_X, CELL_Y, ev["x"].to_numpy(), ev["y"].to_numpy(),
                            ev["kind"].to_numpy(), ev["t"].to_numpy(), cutoff, CFG)


def test_history_features_equal_hand_computed_values() -> None:
    f = hist(EV).iloc[0]
    assert f["dist_accident_km"] == pytest.approx(5.0)  # 3-4-5; the 2012 one is unknown
    assert f["dist_find_km"] == pytest.approx(0.5)
    assert f["dist_any_km"] == pytest.approx(0.5)
    assert f["count_find_1km"] == 1 and f["count_accident_1km"] == 0
    assert f["count_any_1km"] == 1
    assert f["count_any_5km"] == 2  # 5 km exactly is within 5 km
    w_acc, w_find = 0.5 ** (2.0 / 3.0), 0.5 ** (0.5 / 3.0)  # ages 2 and 0.5 years
    assert f["wcount_accident_5km"] == pytest.approx(w_acc)
    assert f["wcount_any_5km"] == pytest.approx(w_acc + w_find)
    assert f["wcount_any_1km"] == pytest.approx(w_find)
    assert f["recent_any_5km"] == 2 and f["recent_any_1km"] == 1
    assert f["years_since_any_1km"] == pytest.approx(0.5)
    assert f["years_since_any_5km"] == pytest.approx(0.5)


def test_no_event_known_gives_the_caps() -> None:
    f = hist(EV, cutoff=2000.0).iloc[0]
    assert f["dist_any_km"] == CFG.max_distance_km
    assert f["count_any_5km"] == 0 and f["years_since_any_5km"] == CFG.max_age_years


def test_the_cut_off_never_leaks_future_events() -> None:
    before = hist(EV)
    # pile future events onto the cell: nothing may change
    future = pd.DataFrame({"kind": ["accident"] * 50 + ["find"] * 50,
                           "x": np.linspace(-900, 900, 100), "y": np.zeros(100),
                           "t": np.linspace(2010.0, 2014.9, 100)})
    after = hist(pd.concat([EV, future], ignore_index=True))
    pd.testing.assert_frame_equal(before, after)
    # and through the whole pipeline (lon/lat events, Context, compute)
    lon, lat = PROJ.inverse(EV["x"].to_numpy(), EV["y"].to_numpy())
    flon, flat = PROJ.inverse(future["x"].to_numpy(), future["y"].to_numpy())
    base = pd.DataFrame({"kind": EV["kind"], "lon": lon, "lat": lat, "t": EV["t"]})
    more = pd.concat([base, pd.DataFrame({"kind": future["kind"], "lon": flon, "lat": flat,
                                          "t": future["t"]})], ignore_index=True)
    a = features.compute(features.Context.build(PROJ, base, CFG), CELL_X, CELL_Y, 2010.0)
    b = features.compute(features.Context.build(PROJ, more, CFG), CELL_X, CELL_Y, 2010.0)
    pd.testing.assert_frame_equal(a, b)
    assert a["dist_any_km"].iloc[0] == pytest.approx(0.5, abs=1e-6)


def test_every_feature_column_is_in_the_registry() -> None:
    for name in hist(EV).columns:
        assert registry.spec_for(name) is not None, name
    for name in ("admin_code", "admin_wdensity", "admin_recent_density", "cov_road_km",
                 "cov_town_count_5km"):
        assert registry.spec_for(name) is not None, name
    assert "`dist_{kind}_km`" in registry.describe()


# -- admin areas and covariate layers by configuration -------------------------------------
def test_admin_features_are_densities_before_the_cut_off() -> None:
    a = shapely.box(0, 0, 2_000, 2_000)  # 4 km2
    b = shapely.box(2_000, 0, 4_000, 1_000)  # 2 km2
    admin = features.AdminAreas(np.array([a, b], dtype=object), np.array(["05001", "08001"]),
                                np.array(["05", "08"]), np.array([4.0, 2.0]))
    cells = admin.locate(np.array([500.0, 3_000.0, 9_000.0]), np.array([500.0] * 3))
    assert cells.tolist() == [0, 1, -1]
    ev_area = np.array([0, 0, 1, 0])
    t = np.array([2007.0, 2009.0, 2004.0, 2011.0])  # the 2011 event is after the cut-off
    f = features.admin_features(cells, ev_area, t, 2010.0, admin, CFG)
    assert f["admin_code"].tolist() == [0, 1, 2]  # outside: a code of its own
    assert f["admin_wdensity"].iloc[0] == pytest.approx((0.5 + 0.5 ** (1 / 3)) / 4.0)
    assert f["admin_wdensity"].iloc[1] == pytest.approx(0.5 ** 2 / 2.0)
    assert f["admin_recent_density"].tolist() == pytest.approx([1 / 4.0, 0.0, 0.0])


def test_covariates_come_from_yaml_not_code(tmp_path) -> None:
    road = {"type": "Feature", "properties": {"kind": "road"},
            "geometry": {"type": "LineString", "coordinates": [[-1.0, 0.0], [1.0, 0.0]]}}
    towns = [{"type": "Feature", "properties": {"pop": p},
              "geometry": {"type": "Point", "coordinates": [0.0, lat]}}
             for p, lat in ((500, 0.01), (50_000, 0.03))]
    (tmp_path / "roads.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [road]}))
    (tmp_path / "towns.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": towns}))
    (tmp_path / "risk.yaml").write_text(
        "kinds: [accident]\nradii_km: [5]\ncovariates:\n"
        "  - {name: road, path: roads.geojson}\n"
        "  - {name: town, path: towns.geojson, where: \"pop >= 10000\"}\n"
        "  - {name: place, path: towns.geojson, measure: count}\n")
    cfg = features.load_config(tmp_path / "risk.yaml")
    assert [c.name for c in cfg.covariates] == ["road", "town", "place"]
    ev = pd.DataFrame({"kind": ["accident"], "lon": [0.5], "lat": [0.5], "t": [2000.0]})
    ctx = features.Context.build(PROJ, ev, cfg)
    cx, cy = PROJ.forward(np.array([0.0]), np.array([0.05]))
    f = features.compute(ctx, cx, cy, 2010.0).iloc[0]
    _, town_y = PROJ.forward(np.array([0.0]), np.array([0.03]))
    assert f["cov_road_km"] == pytest.approx(cy[0] / 1000.0, abs=0.01)  # the equator is y=0
    assert f["cov_town_km"] == pytest.approx((cy[0] - town_y[0]) / 1000.0, abs=1e-6)
    assert f["cov_place_count_5km"] == 2  # 4.4 and 2.2 km away


def test_boundary_measure_gzip_and_a_wide_layer_cut_to_the_events(tmp_path) -> None:
    import gzip

    # "land" from 20 S to 0.5 N: its only outline near the events is the coast at 0.5 N
    # (a vertex every 0.1 degree, as a real coast has: vertices are projected, not edges)
    coast = [[round(lon, 1), 0.5] for lon in np.linspace(20, -20, 401)]
    land = {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[-20, -20], [20, -20], *coast, [-20, -20]]]}}
    with gzip.open(tmp_path / "land.geojson.gz", "wt") as fh:
        fh.write(json.dumps({"type": "FeatureCollection", "features": [land]}))
    (tmp_path / "risk.yaml").write_text(
        "kinds: [accident]\nradii_km: [5]\ncovariates:\n"
        "  - {name: coast, path: land.geojson.gz, measure: boundary}\n"
        "  - {name: land, path: land.geojson.gz}\n")
    cfg = features.load_config(tmp_path / "risk.yaml")
    ev = pd.DataFrame({"kind": ["accident"], "lon": [0.0], "lat": [0.0], "t": [2000.0]})
    ctx = features.Context.build(PROJ, ev, cfg)
    cx, cy = PROJ.forward(np.array([0.0, 0.0]), np.array([0.0, 0.6]))
    _, coast_y = PROJ.forward(np.array([0.0]), np.array([0.5]))
    f = features.compute(ctx, cx, cy, 2010.0)
    # inside the land: the distance to its outline, not 0 (measure: distance says 0)
    assert f["cov_coast_km"].tolist() == pytest.approx(
        [coast_y[0] / 1000.0, (cy[1] - coast_y[0]) / 1000.0], abs=0.2)
    assert f["cov_land_km"].iloc[0] == 0.0
    # a box cut across the land adds no outline: 0.2 degrees from the cut, the coast at
    # 2.3 degrees is still the nearest outline
    layer = features.CovariateLayer.load(cfg.covariates[0], PROJ, 250.0, (-2, -2, 2, 2))
    px, py = PROJ.forward(np.array([0.0]), np.array([-1.8]))
    d = layer.features(px, py, (5.0,), 1000.0)["cov_coast_km"].iloc[0]
    assert d == pytest.approx((coast_y[0] - py[0]) / 1000.0, abs=0.2)
    # counts of a sparse layer over its own radii
    cov = features.Covariate("place", "x.geojson", measure="count", radii_km=(25.0, 50.0))
    pts = features.CovariateLayer(cov, np.array([[0.0, 30_000.0]]), None)
    got = pts.features(np.array([0.0]), np.array([0.0]), (5.0,), 300.0)
    assert got.to_dict("records") == [{"cov_place_count_25km": 0.0,
                                       "cov_place_count_50km": 1.0}]
    for name in got.columns:
        assert registry.spec_for(name) is not None
    with pytest.raises(ValueError, match="measure"):
        features.Covariate("x", "x.geojson", measure="area")


# -- reading events ------------------------------------------------------------------------
def test_events_from_a_frame_and_from_the_store_api() -> None:
    f = events.from_frame(pd.DataFrame({"kind": ["accident", "find"], "lon": [1, None],
                                        "lat": [2, 3], "t": [date(2009, 7, 2), 2001]}))
    assert len(f) == 1 and f["t"].iloc[0] == pytest.approx(2009.5, abs=0.01)

    class FakeStore:  # the read API only: read_frame(Query) -> a table with geometry
        def read_frame(self, q):
            if q.kind == "hazard":
                return pd.DataFrame({"geometry": [shapely.box(0, 0, 2, 2)],
                                     "date_reported": [date(2005, 1, 1)],
                                     "admin_area_pcode": ["05"]})
            return pd.DataFrame()

    got = events.from_store(FakeStore(), kinds=("hazard", "accident"))
    assert got["kind"].tolist() == ["hazard"] and got["t"].iloc[0] == 2005.0
    assert shapely.contains_xy(shapely.box(0, 0, 2, 2), got["lon"][0], got["lat"][0])


# -- splits, metrics, baselines ------------------------------------------------------------
def test_out_of_time_windows_never_touch_the_test_years() -> None:
    train, test = validate.out_of_time(2010.0, 2015.0)
    assert (train.cutoff, train.end) == (2005.0, 2010.0)
    assert (test.cutoff, test.end) == (2010.0, 2015.0)
    assert train.end <= test.cutoff


def test_spatial_blocks_and_leave_one_area_out_keep_sides_apart() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 100_000, 2_000), rng.uniform(0, 100_000, 2_000)
    fold = validate.spatial_blocks(x, y, 20_000.0, 5, seed=3)
    block = np.floor(x / 20_000).astype(int) * 100 + np.floor(y / 20_000).astype(int)
    for _, train, test in validate.folds(fold):
        assert not set(train) & set(test)
        assert not set(block[train]) & set(block[test])  # no block on both sides
    areas = np.array(["A", "B", "C", -1] * 500, dtype=object)
    seen = []
    for value, train, test in validate.folds(areas):
        seen.append(value)
        assert set(areas[test]) == {value} and value not in set(areas[train])
        assert -1 not in set(areas[train]) | set(areas[test])
    assert sorted(seen) == ["A", "B", "C"]


def test_metrics_against_hand_values() -> None:
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.1])
    assert metrics.roc_auc(y, s) == pytest.approx(5 / 6)  # 5 of 6 pairs in order
    assert metrics.average_precision(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # 4 cells, 10 events; top 25% = the best cell; top 50% half-takes a two-cell tie
    cap = metrics.capture(np.array([3.0, 2.0, 2.0, 0.0]), np.array([4.0, 2.0, 4.0, 0.0]),
                          (0.25, 0.5, 1.0))
    assert cap == pytest.approx({0.25: 0.4, 0.5: 0.4 + 0.5 * 0.6, 1.0: 1.0})
    rel = metrics.reliability(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), bins=2)
    assert rel[0]["observed"] == 0 and rel[1]["observed"] == 1


def test_baselines_are_distance_and_count_within_5_km() -> None:
    f = hist(EV)
    assert validate.baseline_distance(f)[0] == pytest.approx(-0.5)
    assert validate.baseline_count(f)[0] == 2
    t = validate.targets({"average_precision": 0.3, "top_5pct_events": 0.6},
                         [{"average_precision": 0.2, "top_5pct_events": 0.45},
                          {"average_precision": 0.1, "top_5pct_events": 0.55}])
    assert t["ap"] == "PASS" and t["top5"] == "MISS"  # 1.5x; +5 points over the better


# -- the model -----------------------------------------------------------------------------
def test_model_finds_a_covariate_the_baselines_cannot_see() -> None:
    rng = np.random.default_rng(42)
    n = 6_000
    X = pd.DataFrame({
        "dist_any_km": rng.exponential(10.0, n),  # history unrelated to the outcome here
        "count_any_5km": rng.poisson(2.0, n).astype(float),
        "cov_road_km": rng.uniform(0.0, 20.0, n),
    })
    p = 1.0 / (1.0 + np.exp(-(1.5 - 0.6 * X["cov_road_km"])))  # risk near roads
    label = rng.random(n) < p
    train, test = np.arange(n) < 4_000, np.arange(n) >= 4_000
    held = train & (rng.random(n) < 0.25)
    m = model.train(X[train], label[train], calibrate=held[train], rounds=60, seed=0,
                    params={"num_threads": 1})
    Xt, yt = X[test], label[test]
    auc = metrics.roc_auc(yt, m.raw(Xt))
    assert auc > 0.8
    for fn in validate.BASELINES.values():
        assert metrics.roc_auc(yt, fn(Xt)) < 0.6
    prob = m.predict(Xt)
    assert ((prob >= 0) & (prob <= 1)).all()
    assert abs(prob.mean() - yt.mean()) < 0.05  # calibrated on the held-out part
    contrib = m.contributions(Xt.iloc[:50])
    margin = m.booster.predict(Xt.iloc[:50], raw_score=True)
    assert np.allclose(contrib.sum(axis=1), margin)
    assert contrib.drop(columns="bias").abs().mean().idxmax() == "cov_road_km"
    lr = model.train_logistic(X[train], label[train])
    assert metrics.roc_auc(yt, lr.predict(Xt)) > 0.7


def test_rank_mix_ranks_each_member_among_its_training_cells() -> None:
    """train_mix: a member on every column and one on the event history alone (registry),
    each score read as its mid-rank among the fitted cells' scores, the two averaged; the
    mix calibrated on the held-out cells; contributions the members' mean."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(7)
    n = 6_000
    X = pd.DataFrame({"dist_any_km": rng.exponential(10.0, n),
                      "count_any_5km": rng.poisson(2.0, n).astype(float),
                      "cov_road_km": rng.uniform(0.0, 20.0, n)})
    p = 1.0 / (1.0 + np.exp(-(1.0 - 0.3 * X["dist_any_km"] - 0.2 * X["cov_road_km"])))
    label = rng.random(n) < p
    held = rng.random(n) < 0.2
    history = registry.event_history(list(X.columns))
    assert history == ["dist_any_km", "count_any_5km"]
    assert set(registry.EVENT_HISTORY) <= {spec.pattern for spec in registry.REGISTRY}
    mix = model.train_mix(X, label, [list(X.columns), history], calibrate=held, rounds=40,
                          seed=0, params={"num_threads": 1})
    assert [m.features for m in mix.members] == [list(X.columns), history]
    assert mix.features == list(X.columns)
    # on the fitted cells the mix is the mean of the members' mid-ranks (scipy "average")
    fitted = X[~held]
    k = len(fitted)
    expected = np.mean([(rankdata(m.raw(fitted)) - 0.5) / k for m in mix.members], axis=0)
    assert np.allclose(mix.raw(fitted), expected)
    # a cell ranks the same scored alone as in the whole grid
    assert mix.raw(X.iloc[[5]])[0] == mix.raw(X)[5]
    assert 0.0 <= mix.raw(X).min() and mix.raw(X).max() <= 1.0
    prob = mix.predict(X)
    assert abs(prob[held].mean() - label[held].mean()) < 0.02  # calibrated on held-out
    auc = [metrics.roc_auc(label[held], m.raw(X[held])) for m in mix.members]
    assert metrics.roc_auc(label[held], mix.raw(X[held])) > min(auc) > 0.7
    contrib = mix.contributions(X.iloc[:20])
    assert list(contrib.columns) == [*X.columns, "bias"]
    full, hist = (m.contributions(X.iloc[:20]) for m in mix.members)
    assert np.allclose(contrib["cov_road_km"], full["cov_road_km"] / 2)  # history: 0
    assert np.allclose(contrib["dist_any_km"], (full["dist_any_km"] + hist["dist_any_km"]) / 2)


def test_rank_reference_keeps_ties_and_bounds() -> None:
    ref = model.RankReference.of(np.array([1.0, 2.0, 2.0, 3.0]))
    assert ref(np.array([2.0]))[0] == pytest.approx(0.5)  # two of four tied: the middle
    assert ref(np.array([0.0, 1.0, 9.0])).tolist() == [0.0, 0.125, 1.0]
    many = model.RankReference.of(np.arange(100_000, dtype=float))
    assert len(many.score) <= model.REFERENCE_KNOTS
    assert abs(many(np.array([31_234.0]))[0] - 31_234.5 / 100_000) < 1e-4


def test_cross_validation_tests_every_cell_once_beside_the_baselines() -> None:
    rng = np.random.default_rng(5)
    n = 400
    X = pd.DataFrame({"dist_any_km": rng.uniform(0, 10, n),
                      "count_any_5km": rng.poisson(1.0, n).astype(float)})
    label = rng.random(n) < 1.0 / (1.0 + np.exp(X["dist_any_km"] - 3.0))
    groups = np.repeat(np.arange(4), n // 4)
    seen: list[set[int]] = []

    def fit_score(Xtr: pd.DataFrame, ytr: np.ndarray, Xte: pd.DataFrame) -> np.ndarray:
        assert not set(Xtr.index) & set(Xte.index)  # never a test cell in training
        seen.append(set(Xte.index))
        return -Xte["dist_any_km"].to_numpy()

    out = validate.cross_validate(X, label, label.astype(float), groups, fit_score)
    assert out["cells_tested"] == n and set().union(*seen) == set(range(n))
    base = out["baseline: distance to nearest past event"]
    assert out["model"]["roc_auc"] == pytest.approx(base["roc_auc"])


def test_events_through_a_real_store_match_the_file(tmp_path) -> None:
    """The AICMA events imported with the shipped mapping and read back through the store's
    read API give the same kinds, places and years as reading the file directly."""
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file
    from mineaction.store import open_store

    src = json.loads((REPO / "data/colombia/aicma_events_1990-2014.geojson").read_text())
    src["features"] = src["features"][::300]
    path = tmp_path / "events.geojson"
    path.write_text(json.dumps(src))
    with open_store(tmp_path / "s.gpkg") as store:
        assert import_file(store, path, mapping=load_mapping("aicma-events")).committed
        got = events.from_store(store)
    want = events.aicma_events(str(path))
    key = ["kind", "lon", "lat", "t"]
    a = got[key].sort_values(key).round(6).reset_index(drop=True)
    b = want[key].sort_values(key).round(6).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_monotone_constraints_follow_the_meaning_of_each_feature() -> None:
    cols = ["dist_any_km", "count_any_5km", "wcount_find_1km", "years_since_any_5km",
            "admin_wdensity", "admin_code", "cov_river_km"]
    assert model.monotone_constraints(cols) == [-1, 1, 1, -1, 1, 0, 0]


# -- kernel densities, trends, admin trend (configuration kde_bandwidths_km, admin_trend) ---
KCFG = features.FeatureConfig(kinds=("accident", "find"), radii_km=(1.0,),
                              half_life_years=3.0, kde_bandwidths_km=(2.0, 20.0),
                              trend_years=5.0, admin_trend=True)


def test_kernel_density_is_a_gaussian_of_the_bandwidth() -> None:
    # one event of weight 1 at the origin, bandwidth 2 km: peak 1 / (2 pi b^2) per km2,
    # exp(-d^2 / 2 b^2) of it at d km, and about 1 event in all over the plane
    px = np.array([0.0, 2_000.0, 4_000.0])
    d = features.kernel_density(px, np.zeros(3), np.array([0.0]), np.array([0.0]),
                                np.array([1.0]), 2.0)
    peak = 1.0 / (2 * np.pi * 4.0)
    assert d[0] == pytest.approx(peak, rel=0.05)
    assert d[1] == pytest.approx(peak * np.exp(-0.5), rel=0.25)
    assert d[2] == pytest.approx(peak * np.exp(-2.0), rel=0.35)
    gx, gy = np.meshgrid(np.arange(-12_000, 12_001, 500.0), np.arange(-12_000, 12_001, 500.0))
    total = features.kernel_density(gx.ravel(), gy.ravel(), np.array([0.0]), np.array([0.0]),
                                    np.array([1.0]), 2.0).sum() * 0.25  # 0.25 km2 a point
    assert total == pytest.approx(1.0, rel=0.05)


def test_kernel_densities_and_trends_never_see_future_events() -> None:
    x, y = np.array([0.0, 30_000.0]), np.array([0.0, 0.0])
    # two old events (2000-2004 window before the 2005-2009 one), one recent one
    ev = pd.DataFrame({"x": [0.0, 500.0, 30_000.0], "y": [0.0, 0.0, 0.0],
                       "t": [2001.0, 2002.0, 2008.0]})
    future = pd.DataFrame({"x": np.linspace(-900, 900, 50), "y": np.zeros(50),
                           "t": np.linspace(2010.0, 2014.9, 50)})

    def kde(frame: pd.DataFrame) -> pd.DataFrame:
        return features.kde_features(x, y, frame["x"].to_numpy(), frame["y"].to_numpy(),
                                     frame["t"].to_numpy(), 2010.0, KCFG)

    before = kde(ev)
    pd.testing.assert_frame_equal(before, kde(pd.concat([ev, future], ignore_index=True)))
    assert list(before.columns) == features.kde_names(KCFG)
    for name in before.columns:
        assert registry.spec_for(name) is not None, name
    # cooling down where only the older window had events, heating up where only the recent
    assert before["trend_any_2km"].iloc[0] < 0 < before["trend_any_2km"].iloc[1]
    assert before["kde_recent_any_2km"].iloc[0] == 0.0
    # recency weights: an event of 2 years ago weighs 0.5 ** (2/3)
    single = features.kde_features(x[1:], y[1:], np.array([30_000.0]), np.array([0.0]),
                                   np.array([2008.0]), 2010.0, KCFG)
    ref = features.kernel_density(x[1:], y[1:], np.array([30_000.0]), np.array([0.0]),
                                  np.array([1.0]), 2.0)
    assert single["kde_any_2km"].iloc[0] == pytest.approx(0.5 ** (2 / 3) * ref[0])


def test_admin_trend_compares_two_windows_before_the_cut_off() -> None:
    a = shapely.box(0, 0, 2_000, 2_000)
    b = shapely.box(2_000, 0, 4_000, 1_000)
    admin = features.AdminAreas(np.array([a, b], dtype=object), np.array(["05001", "08001"]),
                                np.array(["05", "08"]), np.array([4.0, 2.0]))
    cells = np.array([0, 1, -1])
    ev_area = np.array([0, 0, 0, 1, 1, 1])
    t = np.array([2006.0, 2008.0, 2001.0, 2002.0, 2003.0, 2009.0])
    f = features.admin_features(cells, ev_area, t, 2010.0, admin, KCFG)
    assert f["admin_trend"].tolist() == pytest.approx([np.log(3 / 2), np.log(2 / 3), 0.0])
    assert registry.spec_for("admin_trend") is not None
    # events from the cut-off on change nothing
    more = features.admin_features(cells, np.r_[ev_area, [0, 0, 1]],
                                   np.r_[t, [2010.0, 2012.0, 2014.0]], 2010.0, admin, KCFG)
    pd.testing.assert_frame_equal(f, more)
    # off by default: the columns others read stay as they were
    assert "admin_trend" not in features.admin_features(cells, ev_area, t, 2010.0, admin, CFG)


def test_kernel_density_at_a_point_does_not_depend_on_the_other_points() -> None:
    """`risk score` at one point and `risk predict` over a grid (or a chunk of it) read the
    same density there: the raster is anchored on a multiple of its cell size."""
    rng = np.random.default_rng(3)
    ex, ey = rng.uniform(0, 40_000, 300), rng.uniform(0, 40_000, 300)
    w = np.ones(300)
    gx, gy = np.meshgrid(np.arange(0.0, 40_000, 700.0), np.arange(0.0, 40_000, 900.0))
    gx, gy = gx.ravel(), gy.ravel()
    whole = features.kernel_density(gx, gy, ex, ey, w, 5.0)
    for i in (0, 17, len(gx) // 2, len(gx) - 1):
        alone = features.kernel_density(gx[i:i + 1], gy[i:i + 1], ex, ey, w, 5.0)
        assert alone[0] == whole[i]
    half = features.kernel_density(gx[1000:], gy[1000:], ex, ey, w, 5.0)
    assert np.array_equal(half, whole[1000:])


def test_kde_features_through_compute_and_yaml(tmp_path) -> None:
    (tmp_path / "risk.yaml").write_text("kinds: [accident]\nradii_km: [5]\n"
                                        "kde_bandwidths_km: [5, 50]\ntrend_years: 3\n")
    cfg = features.load_config(tmp_path / "risk.yaml")
    assert cfg.kde_bandwidths_km == (5, 50) and cfg.trend_years == 3
    ev = pd.DataFrame({"kind": ["accident"] * 2, "lon": [0.0, 0.01], "lat": [0.0, 0.0],
                       "t": [2008.0, 2011.0]})
    ctx = features.Context.build(PROJ, ev, cfg)
    f = features.compute(ctx, np.array([0.0]), np.array([0.0]), 2010.0)
    assert {"kde_any_5km", "kde_recent_any_50km", "trend_any_50km"} <= set(f.columns)
    alone = features.compute(features.Context.build(PROJ, ev.iloc[:1], cfg),
                             np.array([0.0]), np.array([0.0]), 2010.0)
    pd.testing.assert_frame_equal(f, alone)  # the 2011 event is not known in 2010
    assert model.monotone_constraints(["kde_any_5km", "kde_recent_any_5km",
                                       "trend_any_5km", "admin_trend"]) == [1, 1, 0, 0]


# -- more views of the history (activity windows, other half-lives, years, recent distance)
XCFG = features.FeatureConfig(kinds=("accident", "find"), radii_km=(1.0, 5.0),
                              half_life_years=3.0, recent_years=2.0, activity_years=(1.0, 3.0),
                              decay_half_lives_years=(1.0, 10.0), event_years=True,
                              recent_distance=True)
# events around the cell at the origin, cut-off 2010: two in 2009 at 0.3 and 4 km, one in
# 2007 at 0.6 km, two in 2001 at 0.2 km (the same year), one at 2 km in 2011 (future)
XEV = pd.DataFrame({
    "kind": ["find", "accident", "find", "accident", "accident", "find"],
    "x": [300.0, 0.0, 600.0, 200.0, 0.0, 2_000.0],
    "y": [0.0, 4_000.0, 0.0, 0.0, 200.0, 0.0],
    "t": [2009.0, 2009.0, 2007.0, 2001.0, 2001.0, 2011.0],
})


def xhist(ev: pd.DataFrame, cutoff: float = 2010.0) -> pd.DataFrame:
    return features.history(CELL_X, CELL_Y, ev["x"].to_numpy(), ev["y"].to_numpy(),
                            ev["kind"].to_numpy(), ev["t"].to_numpy(), cutoff, XCFG)


def test_activity_decay_years_and_recent_distance_equal_hand_values() -> None:
    f = xhist(XEV).iloc[0]
    assert list(xhist(XEV).columns) == features.history_names(XCFG)
    # last year (2009 only): 1 within 1 km, 2 within 5 km; last 3 years adds 2007's
    assert f["active_1y_any_1km"] == 1 and f["active_1y_any_5km"] == 2
    assert f["active_3y_any_1km"] == 2 and f["active_3y_any_5km"] == 3
    # ages 1, 1, 3, 9, 9 years
    assert f["decay_1y_any_1km"] == pytest.approx(0.5 + 0.5 ** 3 + 2 * 0.5 ** 9)
    assert f["decay_10y_any_5km"] == pytest.approx(2 * 0.5 ** 0.1 + 0.5 ** 0.3
                                                   + 2 * 0.5 ** 0.9)
    # calendar years with an event: 2009, 2007, 2001 (two events in 2001 are one year)
    assert f["years_with_events_any_1km"] == 3 and f["years_with_events_any_5km"] == 3
    # nearest event of the last two years: 0.3 km (2007's at 0.6 km is older)
    assert f["dist_recent_any_km"] == pytest.approx(0.3)
    # nothing recent: the cap
    assert xhist(XEV, cutoff=2005.0).iloc[0]["dist_recent_any_km"] == XCFG.max_distance_km
    assert xhist(XEV, cutoff=2005.0).iloc[0]["years_with_events_any_5km"] == 1


def test_more_history_views_never_see_future_events() -> None:
    before = xhist(XEV)
    future = pd.DataFrame({"kind": ["find"] * 30, "x": np.linspace(-500, 500, 30),
                           "y": np.zeros(30), "t": np.linspace(2010.0, 2014.0, 30)})
    pd.testing.assert_frame_equal(before, xhist(pd.concat([XEV, future], ignore_index=True)))


def test_more_history_views_are_in_the_registry_and_constrained() -> None:
    cols = features.history_names(XCFG)
    extra = [c for c in cols if c.startswith(("active_", "decay_", "years_with_events_",
                                              "dist_recent_"))]
    assert len(extra) == 2 * (2 + 2 + 1) + 1
    assert all(registry.spec_for(c) is not None for c in extra)
    cons = dict(zip(cols, model.monotone_constraints(cols), strict=True))
    assert cons["dist_recent_any_km"] == -1
    assert cons["active_1y_any_5km"] == cons["decay_10y_any_1km"] == 1
    assert cons["years_with_events_any_1km"] == 1


def test_training_within_a_distance_of_past_events_scores_every_cell() -> None:
    """services.risk.fit with `train_within_km`: the models learn from the cells within
    that distance of a past event only (their counts and held-out flags with them), and
    still score every cell; None, or a distance every cell is within, keeps all rows."""
    from mineaction.services.risk import TrainParams, fit, near_rows

    X = pd.DataFrame({"dist_any_km": [0.2, 5.0, 29.9, 30.0, 30.1, 45.0],
                      "count_any_5km": [4.0, 1.0, 0.0, 0.0, 0.0, 0.0]})
    counts = np.array([3.0, 1.0, 0.0, 1.0, 2.0, 0.0])
    held = np.array([False, True, False, False, True, False])
    Xn, cn, hn = near_rows(X, counts, held, 30.0)
    assert Xn["dist_any_km"].tolist() == [0.2, 5.0, 29.9, 30.0]
    assert cn.tolist() == [3.0, 1.0, 0.0, 1.0] and hn.tolist() == [False, True, False, False]
    assert near_rows(X, counts, held, None)[0] is X
    assert near_rows(X, counts, held, 50.0)[0] is X  # every row is near: all of them
    assert near_rows(X.drop(columns="dist_any_km"), counts, held, 30.0)[1] is counts
    # through fit: 2,000 cells, 1,000 of them beyond 30 km; only the near ones are fitted
    rng = np.random.default_rng(3)
    n = 2_000
    X = pd.DataFrame({"dist_any_km": np.r_[rng.uniform(0, 30, n // 2),
                                           rng.uniform(30.5, 50, n // 2)],
                      "count_any_5km": rng.poisson(1.0, n).astype(float)})
    counts = (rng.random(n) < 0.3 / (1.0 + X["dist_any_km"].to_numpy())).astype(float)
    held = rng.random(n) < 0.2
    params = TrainParams(rounds=10, num_leaves=4, min_child=20, mix_history=False)
    assert params.train_within_km is None  # the default: every cell
    every = fit(X, counts, held, params)
    near = fit(X, counts, held, TrainParams(rounds=10, num_leaves=4, min_child=20,
                                            mix_history=False, train_within_km=30.0))
    assert near.info["rows_fitted"] == int((~held[: n // 2]).sum())
    assert every.info["rows_fitted"] == int((~held).sum())
    assert len(near.predict(X)) == n and np.isfinite(near.predict(X)).all()


def test_fit_uses_extremely_randomised_trees_by_default() -> None:
    """services.risk.fit: every model of the rank mix is fitted with LightGBM's
    `extra_trees` (kept in the fifth round, docs/risk-model.md); `extra_trees=False` gives
    the earlier model, with other trees."""
    from mineaction.services.risk import TrainParams, fit

    rng = np.random.default_rng(5)
    n = 2_000
    X = pd.DataFrame({"dist_any_km": rng.uniform(0, 40, n),
                      "count_any_5km": rng.poisson(1.0, n).astype(float),
                      "cov_river_km": rng.uniform(0, 20, n)})
    counts = (rng.random(n) < 0.4 / (1.0 + X["dist_any_km"].to_numpy())).astype(float)
    held = rng.random(n) < 0.2
    assert TrainParams().extra_trees is True
    small = {"rounds": 10, "num_leaves": 4, "min_child": 20}
    mix = fit(X, counts, held, TrainParams(**small))
    assert len(mix.members) == 2
    assert all(m.info["params"]["extra_trees"] is True for m in mix.members)
    plain = fit(X, counts, held, TrainParams(**small, extra_trees=False))
    assert all(m.info["params"]["extra_trees"] is False for m in plain.members)
    assert not np.allclose(mix.raw(X), plain.raw(X))
