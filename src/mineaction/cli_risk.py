# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction risk`: the contamination-risk model (issue 19). Train a model on the store's
events and save it as a directory, evaluate it out of time beside the two baselines,
predict a grid of cells (GeoPackage, GeoTIFF) or one score per hazard, and score points
from a CSV. The work is services/risk.py's (the API's too); the command line reads the
store as its administrator. LightGBM, pandas and the GIS libraries load inside the commands:
`mineaction info`'s start-up time is measured."""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import (
    DEFAULT_STORE,
    StoreOption,
    cli_principal,
    fail,
    open_audited,
    run_service,
)
from mineaction.cli_i18n import _, num

risk_app = typer.Typer(help="Contamination-risk model: train, evaluate, predict, score.",
                       no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Feature configuration (YAML: radii, admin areas, covariate layers; "
    "docs/risk-model.md). Default: event history of every kind, no layers.",
    exists=True, dir_okay=False, readable=True)]
HorizonOption = Annotated[float, typer.Option(
    "--horizon", help="Years ahead the model predicts (label window).", min=0.1, max=50)]
CellOption = Annotated[float, typer.Option("--cell-m", help="Cell size in metres.",
                                           min=10, max=100_000)]
WithinOption = Annotated[float, typer.Option(
    "--within-km", help="Keep the cells within this distance of any past event.",
    min=0.1, max=1000)]
RoundsOption = Annotated[int, typer.Option("--rounds", help="LightGBM boosting rounds.",
                                           min=1, max=10_000)]
LeavesOption = Annotated[int, typer.Option("--num-leaves", help="LightGBM leaves a tree.",
                                           min=2, max=1024)]
MinChildOption = Annotated[int, typer.Option(
    "--min-child", help="LightGBM's least cells in a leaf.", min=1)]
NegativeOption = Annotated[float, typer.Option(
    "--negative-ratio", help="Share of cells without an event kept for training.",
    min=0.001, max=1.0)]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]
MixOption = Annotated[bool, typer.Option(
    "--mix-history/--no-mix-history", help="Mix the model by mean rank with the same "
    "settings on the event history alone (docs/risk-model.md), or train one model.")]
WeightOption = Annotated[bool, typer.Option(
    "--weight-events/--no-weight-events", help="A cell with events weighs its number of "
    "events in training, or 1.")]
ModelOption = Annotated[Path, typer.Option(
    "--model", help="Model directory written by `mineaction risk train`.")]
AtOption = Annotated[float | None, typer.Option(
    "--at", help="Cut-off (decimal year) of the features: events before it count. Default: "
    "the end of the latest year with data.")]


class Folds(StrEnum):
    time = "time"
    blocks = "blocks"
    admin = "admin"


def register(app: typer.Typer) -> None:
    """Add the risk commands to the `mineaction` command."""
    app.add_typer(risk_app, name="risk")


def _service(store: Any) -> Any:
    from mineaction.access.roles import Policy
    from mineaction.services.risk import Risk

    return Risk(store, Policy()), cli_principal()


_run = run_service


def _config(path: Path | None) -> Any:
    from mineaction.analysis.risk import features

    if path is None:
        return features.FeatureConfig()
    try:
        return features.load_config(path)
    except Exception as exc:  # noqa: BLE001 -- YAML or field errors: name the file
        fail(_("{path}: not a feature configuration: {problem}").format(path=path, problem=exc),
             2)


def _params(rounds: int, num_leaves: int, min_child: int, negative_ratio: float,
            seed: int, mix_history: bool, weight_events: bool) -> Any:
    from mineaction.services.risk import TrainParams

    return TrainParams(rounds=rounds, num_leaves=num_leaves, min_child=min_child,
                       negative_ratio=negative_ratio, seed=seed, mix_history=mix_history,
                       weight_events=weight_events)


def _stages(total: int, desc: str) -> Any:
    """A progress bar on stderr advanced by the service's stage names."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=_("step"), file=sys.stderr, disable=None,
               leave=False)

    def stage(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    return bar, stage


def _load_model(directory: Path) -> Any:
    from mineaction.analysis.risk import artifact

    try:
        return artifact.load(directory)
    except artifact.ArtifactError as exc:
        fail(str(exc), 2)




def _flat_metrics(meta: dict[str, Any]) -> dict[str, Any]:
    from mineaction.analysis.jsonable import jsonable

    """The model's held-out measures as one flat object of numbers (the GeoPackage's
    `risk_model.metrics`, which the web layer shows as they are)."""
    m = meta.get("metrics") or {}
    out: dict[str, Any] = {k: m[k] for k in ("cells", "positive_cells") if k in m}
    held = m.get("held_out") or {}
    for name, prefix in (("LightGBM", ""),
                         ("baseline: distance to nearest past event", "baseline_distance_"),
                         ("baseline: past events within 5 km", "baseline_count_")):
        for k, v in (held.get(name) or {}).items():
            if isinstance(v, int | float) or v is None:
                out[prefix + k] = v
    return dict(jsonable(out))


def _report_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """What the annual report's risk section reads of the model's meta, for the layer (a
    server's reports show the section from it)."""
    from mineaction.analysis.jsonable import jsonable
    from mineaction.reports.risk_section import shown_meta

    return dict(jsonable(shown_meta(meta)))


def _pct(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"


def _num(v: Any, spec: str = ".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:{spec}}"


def _table(results: dict[str, Any]) -> list[str]:
    # the contenders are named by the model's metadata (analysis/risk), as saved
    header = [(_("contender"), "<44"), ("ROC-AUC", ">7"), ("AP", ">7"), (_("top 1%"), ">7"),
              (_("top 5%"), ">7"), (_("top 10%"), ">7")]
    lines = [" ".join(format(word, spec) for word, spec in header)]

    for name, r in results.items():
        lines.append(f"{name:<44} {_num(r.get('roc_auc')):>7} "
                     f"{_num(r.get('average_precision'), '.4f'):>7} "
                     f"{_pct(r.get('top_1pct_events')):>7} {_pct(r.get('top_5pct_events')):>7} "
                     f"{_pct(r.get('top_10pct_events')):>7}")
    return lines


# -- train ---------------------------------------------------------------------------------
@risk_app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    config: ConfigOption = None,
    until: Annotated[float | None, typer.Option(
        "--until", help="Training cut-off (year): the model learns only from events before "
        "it. Default: the end of the latest year with data.")] = None,
    horizon: HorizonOption = 5.0,
    cell_m: CellOption = 1000.0,
    within_km: WithinOption = 50.0,
    rounds: RoundsOption = 300,
    num_leaves: LeavesOption = 15,
    min_child: MinChildOption = 100,
    negative_ratio: NegativeOption = 1.0,
    seed: SeedOption = 0,
    mix_history: MixOption = True,
    weight_events: WeightOption = True,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Train the risk model on the store's accidents, finds, hazards and released parts
    and save it as a directory: features from the events before (until - horizon), labels
    = cells with an event in the last horizon years before until, LightGBM on every
    feature mixed by mean rank with LightGBM on the event history alone, with isotonic
    calibration on held-out 20 km blocks."""
    from mineaction.analysis.risk import artifact

    cfg = _config(config)
    params = _params(rounds, num_leaves, min_child, negative_ratio, seed, mix_history,
                     weight_events)
    from tqdm import tqdm

    bar, stage = _stages(5, _("training"))
    rounds_bar = tqdm(total=rounds, desc="LightGBM", unit=_("round"), file=sys.stderr,
                      disable=None, leave=False)

    def rounds_total(total: int) -> None:  # two models' rounds for the rank mix
        rounds_bar.total = total
        rounds_bar.refresh()

    with open_audited(store, audited=False) as s:
        service, who = _service(s)
        try:
            trained = _run(lambda: service.train(who, cfg, until=until, horizon=horizon,
                                                 cell_m=cell_m, within_km=within_km,
                                                 params=params, stage=stage,
                                                 rounds_done=rounds_bar.update,
                                                 rounds_total=rounds_total))
        finally:
            rounds_bar.close()
            bar.close()
    for note in trained.notes:
        typer.echo(_("note: {note}").format(note=note), err=True)
    artifact.save(trained.model, out, trained.meta)
    meta = trained.meta
    m = meta["metrics"]
    typer.echo(_("trained on events before {until}: features before {cutoff}, labels {cutoff} "
                 "to {until} ({positive} of {cells} cells with an event)").format(
        until=f"{meta['trained_until']:g}", cutoff=f"{meta['feature_cutoff']:g}",
        positive=num(m["positive_cells"]), cells=num(m["cells"])))
    if "held_out" in m:
        typer.echo(_("held-out 20 km blocks:"))
        for line in _table(m["held_out"]):
            typer.echo(line)
    typer.echo(_("written: {path}").format(path=out))


# -- evaluate ------------------------------------------------------------------------------
@risk_app.command("evaluate")
def evaluate(
    until: Annotated[float, typer.Option(
        "--until", help="Training cut-off (year): training sees only events before it.")],
    test_until: Annotated[float, typer.Option(
        "--test-until", help="End (year, exclusive) of the test window that starts at "
        "--until.")],
    config: ConfigOption = None,
    horizon: Annotated[float | None, typer.Option(
        "--horizon", help="Label window in years. Default: the test window's length.",
        min=0.1, max=50)] = None,
    folds: Annotated[Folds, typer.Option(
        "--folds", help="Besides out-of-time: leave-one-group-out over 20 km spatial blocks "
        "(blocks) or the configuration's upper admin areas (admin); time: out-of-time only."
    )] = Folds.time,
    cell_m: CellOption = 1000.0,
    within_km: WithinOption = 50.0,
    rounds: RoundsOption = 300,
    num_leaves: LeavesOption = 15,
    min_child: MinChildOption = 100,
    negative_ratio: NegativeOption = 1.0,
    seed: SeedOption = 0,
    mix_history: MixOption = True,
    weight_events: WeightOption = True,
    json_out: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the reliability diagram and capture curves (PNG).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Out-of-time evaluation beside the two baselines (distance to the nearest past
    event, past events within 5 km): ROC-AUC, average precision, share of the test
    window's events in the top 1, 5 and 10% of the area; optionally spatial-block or
    leave-one-admin-area-out folds."""
    cfg = _config(config)
    params = _params(rounds, num_leaves, min_child, negative_ratio, seed, mix_history,
                     weight_events)
    bar, stage = _stages(4 + (folds != Folds.time), _("evaluating"))
    with open_audited(store, audited=False) as s:
        service, who = _service(s)
        try:
            result = _run(lambda: service.evaluate(
                who, cfg, until=until, test_until=test_until, horizon=horizon,
                folds=folds.value, cell_m=cell_m, within_km=within_km, params=params,
                stage=stage))
        finally:
            bar.close()
    if report is not None:
        _write_evaluation(report, result)
    if json_out:
        from mineaction.analysis.jsonable import jsonable

        typer.echo(json.dumps(jsonable(result), indent=1))
        return
    for note in result["notes"]:
        typer.echo(_("note: {note}").format(note=note), err=True)
    setup = result["setup"]
    tr, te = setup["train"], setup["test"]
    typer.echo(_("{cells} cells of {cell_m} m; training: features before {train_before}, "
                 "events {train_from} to {train_to}; test: features before {test_before}, "
                 "events {test_from} to {test_to} ({positive} cells)").format(
        cells=num(setup["cells"]), cell_m=f"{setup['cell_m']:g}",
        train_before=f"{tr['features_before']:g}", train_from=f"{tr['labels'][0]:g}",
        train_to=f"{tr['labels'][1]:g}", test_before=f"{te['features_before']:g}",
        test_from=f"{te['labels'][0]:g}", test_to=f"{te['labels'][1]:g}",
        positive=num(te["positive_cells"])))
    typer.echo("\n" + _("out of time:"))
    for line in _table(result["out_of_time"]):
        typer.echo(line)
    t = result["targets"]
    # PASS / MISS are the evaluation's verdicts as saved (analysis/risk/validate.py)
    typer.echo(_("AP {ap_ratio}x the better baseline (target {ap_target}): {ap}; top 5% "
                 "{top5_points} points (target {top5_target}): {top5}").format(
        ap_ratio=f"{t['ap_ratio_to_better_baseline']:.2f}", ap_target=t["ap_target"],
        ap=t["ap"], top5_points=f"{t['top5_points_over_better_baseline']:+.1f}",
        top5_target=t["top5_target"], top5=t["top5"]))
    if folds != Folds.time:
        cv = result[folds.value]
        typer.echo("\n" + _("{folds} folds ({n} cells tested):").format(
            folds=folds.value, n=num(cv["cells_tested"])))
        for line in _table({("LightGBM" if k == "model" else k): v for k, v in cv.items()
                            if isinstance(v, dict)}):
            typer.echo(line)
    if report is not None:
        typer.echo("\n" + _("written: {path}").format(path=report))


def _write_evaluation(path: Path, result: dict[str, Any]) -> None:
    """`risk evaluate --report`: the test window's reliability diagram and the capture
    curves of the model and the baselines as one PNG, drawn by the report's charts."""
    from mineaction.reports import charts

    curves = result["capture_curves"]
    test = result["setup"]["test"]
    fig = charts.risk_evaluation(
        result["out_of_time"]["LightGBM"].get("reliability") or [], curves["area"],
        [(name, ys) for name, ys in curves.items() if name != "area"],
        f"Out of time: features before {test['features_before']:g}, events "
        f"{test['labels'][0]:g} to {test['labels'][1]:g}", lambda text: text)
    path.write_bytes(charts.save(fig, "png", dpi=120))


# -- predict -------------------------------------------------------------------------------
def _bbox(text: str | None) -> list[float] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        fail(_("--bbox {text}: give lon_min,lat_min,lon_max,lat_max").format(text=repr(text)), 2)
    return values


def _write_csv(rows: Any, out: Path | None) -> None:
    """A pandas frame as CSV to `out` (written whole, then moved into place) or stdout."""
    import os

    if out is None:
        rows.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    tmp = out.with_name(f".{out.name}.partial")
    try:
        rows.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


@risk_app.command("predict")
def predict(
    model: ModelOption,
    out: Annotated[Path | None, typer.Option(
        "--out", help="GeoPackage of cells to write (layers risk_cells and risk_model).")
    ] = None,
    bbox: Annotated[str | None, typer.Option(
        "--bbox", help="Area: lon_min,lat_min,lon_max,lat_max (degrees).")] = None,
    admin_area: Annotated[str | None, typer.Option(
        "--admin-area", help="Area: the admin area with this pcode or name (cells whose "
        "centre is inside).")] = None,
    near_events: Annotated[float | None, typer.Option(
        "--near-events", help="Area: cells within this many km of any event before the "
        "cut-off.", min=0.1)] = None,
    cell_m: Annotated[float | None, typer.Option(
        "--cell-m", help="Cell size in metres. Default: the model's.", min=10,
        max=100_000)] = None,
    at: AtOption = None,
    tif: Annotated[Path | None, typer.Option(
        "--tif", help="Also write the probabilities as a GeoTIFF (grid projection).")] = None,
    hazards: Annotated[Path | None, typer.Option(
        "--hazards", help="Write one score per hazard (CSV: hazard_id, score, percentile), "
        "at its representative point.")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Score a grid of any size (a country at 100 m) in chunks with Dask "
        "into --tif only: 'local' for a cluster of this machine's cores, 'threads', or "
        "the address of an existing scheduler (tcp://host:8786).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="With --dask local: worker processes (default: one per core).",
        min=1)] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Calibrated probability of an event in the model's horizon for every cell of an
    area (a box, an admin area, or near past events), with raw score, percentile and the
    top five contributions, as a GeoPackage (and a GeoTIFF); or one score per hazard.
    With --dask, a grid of any size as a GeoTIFF of probabilities, scored in chunks on
    a local or an existing Dask cluster."""
    from mineaction.analysis.risk import outputs

    if dask is not None:
        _predict_with_dask(model, tif, out, dask, workers, bbox, admin_area, near_events,
                           cell_m, at, store)
        return
    if out is None and hazards is None:
        fail(_("give --out (a grid) or --hazards (one score per hazard), or both"), 2)
    if out is None and tif is not None:
        fail(_("--tif goes with --out"), 2)
    box = _bbox(bbox)
    fitted, meta = _load_model(model)
    with open_audited(store, audited=False) as s:
        service, who = _service(s)
        if hazards is not None:
            per_hazard = _run(lambda: service.score_hazards(who, fitted, meta, at))
            _write_csv(per_hazard, hazards)
            typer.echo(_("written: {path} ({n} hazards)").format(path=hazards,
                                                                n=num(len(per_hazard))))
        if out is None:
            return
        from tqdm import tqdm

        bar = tqdm(desc=_("scoring"), unit=_("cell"), file=sys.stderr, disable=None,
                   leave=False)
        try:
            pred = _run(lambda: service.predict(
                who, fitted, meta, bbox=box, admin_area=admin_area, near_km=near_events,
                cell_m=cell_m, at=at, progress=bar.update,
                on_grid=lambda n: setattr(bar, "total", n)))
        finally:
            bar.close()
    row = {"trained_until": meta["trained_until"], "horizon_years": meta["horizon_years"],
           "cutoff": pred.cutoff, "cell_m": pred.grid.cell_m, "created": meta["created"],
           "features": meta["features"], "metrics": _flat_metrics(meta),
           "model_format": meta["format"], "report": _report_meta(meta)}
    outputs.write_geopackage(out, pred.grid, pred.scores, row)
    if tif is not None:
        outputs.write_geotiff(tif, pred.grid, pred.scores["probability"].to_numpy())
    p = pred.scores["probability"]
    typer.echo(_("{cells} cells of {cell_m} m, features at {cutoff}: probability of an event "
                 "by {by} from {low} to {high} (mean {mean})").format(
        cells=num(len(pred.grid)), cell_m=f"{pred.grid.cell_m:g}", cutoff=f"{pred.cutoff:g}",
        by=f"{pred.cutoff + meta['horizon_years']:g}", low=f"{p.min():.4f}",
        high=f"{p.max():.4f}", mean=f"{p.mean():.4f}"))
    typer.echo(_("written: {path}").format(path=out) + (f", {tif}" if tif is not None else ""))


def _predict_with_dask(model: Path, tif: Path | None, out: Path | None, dask: str,
                       workers: int | None, bbox: str | None, admin_area: str | None,
                       near_events: float | None, cell_m: float | None, at: float | None,
                       store: str) -> None:
    if tif is None or out is not None:
        fail(_("--dask writes the probabilities as a GeoTIFF: give --tif, not --out (the "
               "GeoPackage with each cell's reasons is for areas one machine holds)"), 2)
    assert tif is not None
    scheduler = None if dask == "local" else dask
    box = _bbox(bbox)
    fitted, meta = _load_model(model)
    with open_audited(store, audited=False) as s:
        service, who = _service(s)
        grid, cutoff, written = _run(lambda: service.predict_raster(
            who, fitted, meta, tif, scheduler=scheduler, workers=workers, bbox=box,
            admin_area=admin_area, near_km=near_events, cell_m=cell_m, at=at))
    typer.echo(_("{cells} cells of {cell_m} m, features at {cutoff}, scored with Dask "
                 "({dask}); written: {path}").format(
        cells=num(written), cell_m=f"{grid.cell_m:g}", cutoff=f"{cutoff:g}", dask=dask,
        path=tif))


# -- score ---------------------------------------------------------------------------------
@risk_app.command("score")
def score(
    points: Annotated[Path, typer.Argument(
        help="CSV of points: lon,lat columns (or longitude,latitude, or x,y) in degrees; "
        "id columns are kept.", exists=True, dir_okay=False, readable=True)],
    model: ModelOption,
    at: AtOption = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="CSV to write (lon, lat, score). Default: standard output.")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """The calibrated probability of an event within the model's horizon at each point
    of a CSV. Nothing is written when a row is bad: the error names the file, the row
    and the field."""
    import numpy as np
    import pandas as pd

    from mineaction.services.risk import read_points

    frame, lon_col, lat_col, ids = _run(lambda: read_points(points))
    fitted, meta = _load_model(model)
    lon = frame[lon_col].astype(float).to_numpy()
    lat = frame[lat_col].astype(float).to_numpy()
    with open_audited(store, audited=False) as s:
        service, who = _service(s)
        scored = _run(lambda: service.score_points(who, fitted, meta, lon, lat, at))
    result = pd.DataFrame({**{c: frame[c].to_numpy() for c in ids}, "lon": lon, "lat": lat,
                           "score": np.asarray(scored["probability"], float)})
    _write_csv(result, out)
    if out is not None:
        typer.echo(_("written: {path} ({n} points)").format(path=out, n=num(len(result))),
                   err=True)

