# SPDX-License-Identifier: GPL-3.0-or-later
"""Nationwide risk grids in chunks with Dask (issue 19): the chunked result equals the
whole grid's value for value, wherever the chunks run and wherever they are cut; a bad
scheduler address fails quickly and says so; clusters made for a call are closed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import shapely

from mineaction.analysis.risk import distributed as rd
from mineaction.analysis.risk import features, grid, model

PROJ = grid.Projection(grid.laea_crs(-74.0, 4.0))
CFG = features.FeatureConfig(kinds=("accident", "find", "hazard"), radii_km=(1.0, 5.0))
CUTOFF = 2010.0


def small_context(seed: int = 3) -> features.Context:
    """Clustered events over a 60 km square, 1995-2014; 4 admin areas in 2 departments;
    a point covariate layer. Built directly, without files."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(5_000, 55_000, (8, 2))
    which = rng.integers(0, 8, 1_500)
    xy = centres[which] + rng.normal(0, 2_500, (1_500, 2))
    lon, lat = PROJ.inverse(xy[:, 0], xy[:, 1])
    ev = pd.DataFrame({"kind": rng.choice(["accident", "find", "hazard"], 1_500),
                       "lon": lon, "lat": lat, "t": rng.uniform(1995, 2015, 1_500),
                       "x": xy[:, 0], "y": xy[:, 1]})
    boxes = np.array([shapely.box(x, y, x + 30_000, y + 30_000)
                      for x in (0, 30_000) for y in (0, 30_000)], dtype=object)
    admin = features.AdminAreas(boxes, np.array(["a", "b", "c", "d"]),
                                np.array(["1", "1", "2", "2"]), np.full(4, 900.0))
    ev["area"] = admin.locate(ev["x"].to_numpy(), ev["y"].to_numpy())
    places = features.CovariateLayer(features.Covariate("place", "-"),
                                     rng.uniform(0, 60_000, (40, 2)), None)
    return features.Context(PROJ, ev, CFG, admin, (places,))


@pytest.fixture(scope="module")
def case() -> tuple[features.Context, grid.Grid, model.RiskModel]:
    ctx = small_context()
    ev = ctx.events
    g = grid.near_points(ev["lon"].to_numpy(), ev["lat"].to_numpy(), 1_000.0, 4_000.0,
                         projection=PROJ)
    X = features.compute(ctx, g.x, g.y, 2005.0)
    t = ev["t"].to_numpy()
    later = g.locate(ev["x"].to_numpy()[(t >= 2005) & (t < 2010)],
                     ev["y"].to_numpy()[(t >= 2005) & (t < 2010)])
    label = np.isin(g.cell_id, later)
    held = np.random.default_rng(0).random(len(g)) < 0.2
    m = model.train(X, label, categorical=("admin_code",), calibrate=held, rounds=40,
                    params={"num_threads": 1, "min_child_samples": 20})
    return ctx, g, m


def live_children() -> set[int]:
    """Child processes still running, without multiprocessing's resource tracker (started
    with the first spawned process, it lives as long as this one)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and \
                    "resource_tracker" not in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def whole(case: tuple[features.Context, grid.Grid, model.RiskModel]) -> np.ndarray:
    ctx, g, m = case
    return m.predict(features.compute(ctx, g.x, g.y, CUTOFF))


def test_chunks_are_bands_of_whole_rows_covering_each_cell_once(case) -> None:
    _, g, _ = case
    parts = rd.chunks(g, 300)
    assert parts[0][0] == 0 and parts[-1][1] == len(g)
    assert all(a < b for a, b in parts)
    assert all(p[1] == q[0] for p, q in zip(parts[:-1], parts[1:], strict=True))
    rows = [set((g.cell_id[a:b] // g.ncols).tolist()) for a, b in parts]
    assert all(not (r & s) for r, s in zip(rows[:-1], rows[1:], strict=True))
    assert len(parts) > 3
    assert rd.chunks(g, 10**9) == [(0, len(g))]
    assert rd.chunks(g, 1) == [(a, b) for a, b in rd.chunks(g, 1)]  # rows longer than 1


@pytest.mark.parametrize("chunk_cells", [1, 257, 1_000, 10**9])
def test_in_process_chunks_equal_the_whole_grid_exactly(case, chunk_cells: int) -> None:
    ctx, g, m = case
    expected = whole(case)
    ids, prob = rd.score_grid(m, ctx, g, CUTOFF, chunk_cells=chunk_cells,
                              scheduler="synchronous", progress=False)
    assert np.array_equal(ids, g.cell_id)
    assert np.array_equal(prob, expected)
    if chunk_cells == 257:
        _, threaded = rd.score_grid(m, ctx, g, CUTOFF, chunk_cells=chunk_cells,
                                    scheduler="threads", workers=2, progress=False)
        assert np.array_equal(threaded, expected)


def test_a_local_cluster_of_two_processes_equals_the_whole_grid_and_is_closed(case) -> None:
    ctx, g, m = case
    expected = whole(case)
    before = live_children()
    seen: list[rd.ChunkScores] = []
    for res in rd.iter_scores(m, ctx, g, CUTOFF, chunk_cells=400, scheduler=None,
                              workers=2, memory_limit="1GiB", progress=False):
        seen.append(res)
        if len(seen) == 1:
            workers = live_children() - before
            assert len(workers) >= 2  # the two worker processes exist while it runs
    prob = np.empty(len(g))
    for res in seen:
        prob[res.start:res.stop] = res.probability
        assert np.array_equal(res.cell_id, g.cell_id[res.start:res.stop])
    assert np.array_equal(prob, expected)
    assert sorted((r.start, r.stop) for r in seen) == rd.chunks(g, 400)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and workers & live_children():
        time.sleep(0.1)
    assert not workers & live_children()


def test_an_existing_cluster_by_address_or_client_is_used_and_left_open(case) -> None:
    import distributed

    ctx, g, m = case
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        _, by_address = rd.score_grid(m, ctx, g, CUTOFF, chunk_cells=500,
                                      scheduler=cluster.scheduler_address, progress=False)
        _, by_client = rd.score_grid(m, ctx, g, CUTOFF, chunk_cells=700, scheduler=client,
                                     progress=False)
        assert client.status == "running"
        assert len(client.scheduler_info()["workers"]) == 1  # the cluster was left alone
    assert np.array_equal(by_address, whole(case))
    assert np.array_equal(by_client, whole(case))


def test_a_bad_scheduler_address_fails_quickly_and_clearly(case) -> None:
    ctx, g, m = case
    started = time.monotonic()
    with pytest.raises(rd.SchedulerUnreachable, match=r"tcp://127\.0\.0\.1:9 within 2 s"):
        rd.score_grid(m, ctx, g, CUTOFF, scheduler="tcp://127.0.0.1:9", timeout=2,
                      progress=False)
    assert time.monotonic() - started < 15
    with pytest.raises(TypeError):
        rd.score_grid(m, ctx, g, CUTOFF, scheduler=42, progress=False)


def test_scores_stream_into_a_geotiff_where_the_cells_are(case, tmp_path: Path) -> None:
    import rasterio

    ctx, g, m = case
    expected = whole(case)
    path = tmp_path / "risk.tif"
    n = rd.write_geotiff(path, g, rd.iter_scores(m, ctx, g, CUTOFF, chunk_cells=300,
                                                 scheduler="threads", workers=2,
                                                 progress=False))
    assert n == len(g)
    with rasterio.open(path) as src:
        band = src.read(1)
        assert src.nodata == -1.0 and band.shape == (g.nrows, g.ncols)
        assert src.crs.to_wkt() and src.transform.a == g.cell_m
        # the first kept cell's centre maps back onto its raster cell
        t = src.transform
        r, c = int((t.f - g.y[0]) // -t.e), int((g.x[0] - t.c) // t.a)
    assert (r, c) == (g.nrows - 1 - g.row[0], g.col[0])
    got = band[g.nrows - 1 - g.row, g.col]
    assert np.array_equal(got, expected.astype(np.float32))
    assert (band == -1.0).sum() == g.nrows * g.ncols - len(g)


def test_feature_table_in_chunks_equals_the_whole_computation(case) -> None:
    ctx, g, _ = case
    full = features.compute(ctx, g.x, g.y, CUTOFF)
    t64 = rd.feature_table(ctx, g, CUTOFF, chunk_cells=333, dtype=np.float64, progress=False)
    assert list(t64.columns) == list(full.columns)
    assert np.array_equal(t64.to_numpy(), full.to_numpy(float))
    t32 = rd.feature_table(ctx, g, CUTOFF, chunk_cells=333, progress=False)
    assert t32.dtypes.eq(np.float32).all()
    assert np.allclose(t32.to_numpy(), full.to_numpy(float), rtol=1e-6)


def test_progress_bars_on_training_and_prediction(case, capsys) -> None:
    ctx, g, m = case
    X = features.compute(ctx, g.x, g.y, 2005.0)
    label = np.arange(len(g)) % 7 == 0
    model.train(X, label, rounds=12, params={"num_threads": 1},
                callbacks=[rd.training_progress(12, progress=True)])
    rd.score_grid(m, ctx, g, CUTOFF, chunk_cells=500, scheduler="synchronous",
                  progress=True)
    err = capsys.readouterr().err
    assert "LightGBM" in err and "12/12" in err, err
    assert "risk scores" in err and "100%" in err
