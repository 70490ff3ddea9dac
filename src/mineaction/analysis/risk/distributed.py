# SPDX-License-Identifier: GPL-3.0-or-later
"""Nationwide grids: features and scores in chunks of whole grid rows, with Dask.

A cell's features depend only on its own centre and the events, layers and admin areas of
the `features.Context`, never on the other cells, so a grid can be cut into chunks, each
chunk computed on its own (`features.compute` + the model's `predict`) and the chunks put
back together: the result equals the whole grid's, value for value (a test checks it).
Nothing ever holds the features of more than a few chunks, so a 10,000,000-cell grid
scores in the memory of a laptop, and the scores can be streamed into a GeoTIFF
(`write_geotiff`) as chunks finish.

Where the chunks run (`scheduler`):

- None: a `distributed.LocalCluster` made for the call, one single-threaded worker process
  per core (`workers` to choose), each with an equal share of the machine's memory as its
  limit, closed at the end;
- "tcp://host:8786" (any Dask address): an existing cluster, `distributed.Client(address)`;
  its workers need mineaction installed. A scheduler that does not answer within `timeout`
  seconds raises `SchedulerUnreachable`;
- a `distributed.Client`: used as it is, left open;
- "synchronous": one chunk after another in this process (no Dask at all; the reference);
- "threads": a pool of `workers` threads in this process.

The model and the context go to each worker once (`Client.scatter(..., broadcast=True)`),
not with every chunk; a chunk's task carries only its cell ids. A tqdm bar on stderr
advances as chunks finish (`progress=True`; by default only when stderr is a terminal), and
`training_progress` gives LightGBM a bar of its own for `model.train(callbacks=...)`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import as_completed as thread_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mineaction.analysis.risk import features
from mineaction.analysis.risk.grid import Grid, Ints

Floats = NDArray[np.float64]
IN_PROCESS = ("synchronous", "threads")


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler answered at the address given."""


class ChunkScores(NamedTuple):
    """One chunk's result: the cells at positions start:stop of the grid's `cell_id`
    (whole grid rows row0..row1-1) and their probabilities."""

    start: int
    stop: int
    row0: int
    row1: int
    cell_id: Ints
    probability: Floats


# -- chunks -------------------------------------------------------------------------------
def chunks(grid: Grid, chunk_cells: int) -> list[tuple[int, int]]:
    """(start, stop) positions into `grid.cell_id`, about `chunk_cells` cells each but cut
    only where a grid row begins, so each chunk is a band of whole rows (a window of a
    raster) and no two chunks share a row. A row longer than `chunk_cells` is one chunk."""
    n = len(grid)
    if n == 0:
        return []
    if chunk_cells < 1:
        raise ValueError("chunk_cells must be at least 1")
    ids = grid.cell_id
    cuts = {0, n}
    for target in range(chunk_cells, n, chunk_cells):
        row = ids[target] // grid.ncols
        cuts.add(int(np.searchsorted(ids, row * grid.ncols)))
    edges = sorted(cuts)
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _subgrid(grid: Grid, ids: Ints) -> Grid:
    return Grid(grid.projection, grid.cell_m, grid.x0, grid.y0, grid.nrows, grid.ncols, ids)


def _predict(model: Any, X: pd.DataFrame, threads: int | None) -> Floats:
    """model.predict(X), with LightGBM's thread count set when given (one per worker
    process: two processes of two threads each on two cores only fight). Same values."""
    if threads is None:
        return np.asarray(model.predict(X), float)
    return np.asarray(model.predict(X, threads=threads), float)


def score_cells(model: Any, ctx: features.Context, grid: Grid, cutoff: float,
                threads: int | None = None) -> Floats:
    """Probabilities of all of `grid`'s cells at once, in this process: the plain path."""
    X = features.compute(ctx, grid.x, grid.y, cutoff)
    return _predict(model, X, threads)


def _score_task(payload: tuple[Any, features.Context], grid: Grid, start: int, stop: int,
                cutoff: float, threads: int | None) -> ChunkScores:
    model, ctx = payload
    p = score_cells(model, ctx, grid, cutoff, threads)
    rows = grid.cell_id // grid.ncols
    return ChunkScores(start, stop, int(rows[0]), int(rows[-1]) + 1, grid.cell_id, p)


# -- where the chunks run -----------------------------------------------------------------
def _dask_distributed() -> Any:
    """The `distributed` package (imported when needed: it takes a second; untyped)."""
    import distributed

    return distributed


def machine_memory_limit(workers: int) -> int:
    """Bytes per worker: an equal share of 90% of the machine's memory."""
    import psutil

    return int(psutil.virtual_memory().total * 0.9 / max(1, workers))


@contextmanager
def connect(scheduler: Any = None, workers: int | None = None,
            memory_limit: int | str | None = None, timeout: float = 10.0
            ) -> Iterator[Any]:
    """A `distributed.Client` for `scheduler` (see the module's doc), closed on leaving,
    with the LocalCluster when one was made here; None for "synchronous" / "threads"."""
    if isinstance(scheduler, str) and scheduler in IN_PROCESS:
        yield None
        return
    distributed = _dask_distributed()

    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True,
            memory_limit=memory_limit if memory_limit is not None
            else machine_memory_limit(n),
            dashboard_address=None, silence_logs=40)
        try:
            client = distributed.Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
        return
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler: an address, 'synchronous', 'threads', a Client or "
                        f"None, not {scheduler!r}")
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(
            f"no Dask scheduler answered at {scheduler} within {timeout:g} s: is "
            f"`dask scheduler` running there, and can this machine reach its port? ({exc})"
        ) from None
    try:
        yield client
    finally:
        client.close()


def _bar(total: int, desc: str, progress: bool | None, unit: str = "cell") -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "cell",
                disable=not show,
                file=sys.stderr, dynamic_ncols=True)


def iter_scores(model: Any, ctx: features.Context, grid: Grid, cutoff: float, *,
                chunk_cells: int = 250_000, scheduler: Any = None, workers: int | None = None,
                memory_limit: int | str | None = None, progress: bool | None = None,
                timeout: float = 10.0, in_flight: int | None = None
                ) -> Iterator[ChunkScores]:
    """Chunks' scores as they finish (in any order): stream them into a file without ever
    holding the whole grid's features. At most `in_flight` chunks (default twice the
    workers) are submitted and not yet collected at a time."""
    parts = chunks(grid, chunk_cells)
    with connect(scheduler, workers, memory_limit, timeout) as client, \
            _bar(len(grid), "risk scores", progress) as bar:
        if client is None and scheduler == "synchronous":
            for a, b in parts:
                out = _score_task((model, ctx), _subgrid(grid, grid.cell_id[a:b]), a, b,
                                  cutoff, None)
                bar.update(b - a)
                yield out
            return
        if client is None:  # threads
            n = workers or os.cpu_count() or 1
            with ThreadPoolExecutor(n) as pool:
                todo = iter(parts)
                running: set[Any] = set()
                limit = in_flight or 2 * n
                for a, b in todo:
                    running.add(pool.submit(_score_task, (model, ctx),
                                            _subgrid(grid, grid.cell_id[a:b]), a, b, cutoff, 1))
                    if len(running) >= limit:
                        break
                while running:
                    done = next(thread_completed(running))
                    running.discard(done)
                    res = done.result()
                    bar.update(res.stop - res.start)
                    yield res
                    for a, b in todo:
                        running.add(pool.submit(_score_task, (model, ctx),
                                                _subgrid(grid, grid.cell_id[a:b]), a, b,
                                                cutoff, 1))
                        break
            return
        yield from _distributed(client, model, ctx, grid, cutoff, parts, bar, in_flight)


def _distributed(client: Any, model: Any, ctx: features.Context, grid: Grid, cutoff: float,
                 parts: list[tuple[int, int]], bar: Any, in_flight: int | None
                 ) -> Iterator[ChunkScores]:
    distributed = _dask_distributed()

    nworkers = max(1, len(client.scheduler_info().get("workers", {})))
    # the model and the context once per worker, not once per chunk
    [payload] = client.scatter([(model, ctx)], broadcast=True, hash=False)
    limit = in_flight or 2 * nworkers
    todo = iter(parts)

    def submit(a: int, b: int) -> Any:
        return client.submit(_score_task, payload, _subgrid(grid, grid.cell_id[a:b]), a, b,
                             cutoff, 1, pure=False)

    first = [submit(a, b) for _, (a, b) in zip(range(limit), todo, strict=False)]
    pending = distributed.as_completed(first)
    try:
        for fut in pending:
            res = fut.result()
            fut.release()
            bar.update(res.stop - res.start)
            yield res
            nxt = next(todo, None)
            if nxt is not None:
                pending.add(submit(*nxt))
    finally:
        pending.clear()
        client.cancel([payload])


def score_grid(model: Any, ctx: features.Context, grid: Grid, cutoff: float, *,
               chunk_cells: int = 250_000, scheduler: Any = None, workers: int | None = None,
               memory_limit: int | str | None = None, progress: bool | None = None,
               timeout: float = 10.0, dtype: Any = np.float64) -> tuple[Ints, NDArray[Any]]:
    """(cell_id, probability) for every kept cell of `grid`, in the grid's order, computed
    chunk by chunk where `scheduler` says (module doc). Only the two result arrays are
    held whole (16 bytes a cell; `dtype=np.float32`: 12)."""
    prob = np.empty(len(grid), dtype)
    for res in iter_scores(model, ctx, grid, cutoff, chunk_cells=chunk_cells,
                           scheduler=scheduler, workers=workers, memory_limit=memory_limit,
                           progress=progress, timeout=timeout):
        prob[res.start:res.stop] = res.probability
    return grid.cell_id.copy(), prob


# -- outputs ------------------------------------------------------------------------------
def write_geotiff(path: str | Path, grid: Grid, results: Iterable[ChunkScores],
                  nodata: float = -1.0) -> int:
    """Stream chunk results (from `iter_scores`, in any order) into a float32 GeoTIFF of
    the grid's full rectangle (north up; cells the grid does not keep: `nodata`), one
    window of whole rows per chunk. Returns the number of cells written."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    # north-up: (x, y) of the top-left corner, cell_m east per column, cell_m south per row
    # (Affine directly: rasterio's from_origin multiplies affines, which now warns)
    transform = Affine(grid.cell_m, 0.0, grid.x0, 0.0, -grid.cell_m,
                       grid.y0 + grid.nrows * grid.cell_m)
    written = 0
    with rasterio.open(path, "w", driver="GTiff", width=grid.ncols, height=grid.nrows,
                       count=1, dtype="float32", crs=grid.projection.crs.to_wkt(),
                       transform=transform, nodata=nodata, BIGTIFF="IF_SAFER") as dst:
        for res in results:
            band = np.full((res.row1 - res.row0, grid.ncols), nodata, np.float32)
            band[res.cell_id // grid.ncols - res.row0, res.cell_id % grid.ncols] = \
                res.probability
            # grid row 0 is the southernmost; raster row 0 the northernmost
            dst.write(band[::-1], 1, window=Window(0, grid.nrows - res.row1, grid.ncols,
                                                   res.row1 - res.row0))
            written += len(res.cell_id)
    return written


# -- training -----------------------------------------------------------------------------
def feature_table(ctx: features.Context, grid: Grid, cutoff: float, *,
                  chunk_cells: int = 250_000, dtype: Any = np.float32,
                  progress: bool | None = None) -> pd.DataFrame:
    """All features of `grid`'s cells at `cutoff`, computed chunk by chunk in this process
    into one preallocated array of `dtype` (float32 by default: half the memory of
    `features.compute` on the whole grid, whose float64 columns and per-radius count arrays
    all exist at once), for training on a million cells and more."""
    parts = chunks(grid, chunk_cells)
    table: NDArray[Any] | None = None
    names: list[str] = []
    with _bar(len(grid), "risk features", progress) as bar:
        for a, b in parts:
            sub = _subgrid(grid, grid.cell_id[a:b])
            X = features.compute(ctx, sub.x, sub.y, cutoff)
            if table is None:
                names = list(X.columns)
                table = np.empty((len(grid), len(names)), dtype)
            table[a:b] = X.to_numpy(dtype)
            bar.update(b - a)
    if table is None:
        return features.compute(ctx, grid.x, grid.y, cutoff).astype(dtype)
    return pd.DataFrame(table, columns=names, copy=False)


def training_progress(rounds: int, progress: bool | None = None,
                      desc: str = "LightGBM") -> Callable[[Any], None]:
    """A LightGBM callback drawing a tqdm bar of the boosting rounds (stderr):
    `model.train(X, y, rounds=300, callbacks=[training_progress(300)])`."""
    bar = _bar(rounds, desc, progress, unit="round")

    def callback(env: Any) -> None:
        bar.update(1)
        if env.iteration + 1 >= env.end_iteration:
            bar.close()

    callback.order = 50  # type: ignore[attr-defined]
    return callback
