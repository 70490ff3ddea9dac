# SPDX-License-Identifier: GPL-3.0-or-later
"""A trained risk model on disk: a directory a later `predict` or `score` loads, on another
machine or years later, and gets the same probabilities.

    MODEL_DIR/
      manifest.json     format version, features, categorical, calibrated, projection CRS,
                        training cut-off and horizon, cell size, metrics, LightGBM settings
      booster.txt       LightGBM's own text format (Booster.save_model): readable, and
                        loadable by any LightGBM of the same major version
      calibrator.npz    the isotonic map's x and y arrays (absent when not calibrated)
      features.yaml     the feature configuration, layer paths made absolute

Text and plain arrays, not a pickle: a pickle runs code when loaded and breaks when a class
moves; these load with nothing but LightGBM and NumPy. `FORMAT` goes up when the layout
changes; `load` refuses a newer one by name rather than misreading it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from mineaction.analysis.jsonable import jsonable
from mineaction.analysis.risk import calibration, features
from mineaction.analysis.risk.model import RiskModel

FORMAT = 1
KIND = "mineaction-risk-model"
MANIFEST = "manifest.json"
BOOSTER = "booster.txt"
CALIBRATOR = "calibrator.npz"
CONFIG = "features.yaml"


class ArtifactError(Exception):
    """A directory that is not a risk model this version can read."""


def config_to_yaml(config: features.FeatureConfig) -> str:
    """The feature configuration as YAML `features.load_config` reads back (paths are
    already absolute in a loaded configuration)."""
    import yaml  # type: ignore[import-untyped]

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not None}
        return value

    raw = plain(dataclasses.asdict(config))
    if config.admin is not None:
        raw["admin"]["path"] = str(Path(config.admin.path).resolve())
    else:
        raw.pop("admin", None)
    raw["covariates"] = [{**c, "path": str(Path(c["path"]).resolve())}
                         for c in raw.get("covariates", [])]
    return str(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))




def save(model: RiskModel, directory: str | Path, meta: dict[str, Any]) -> Path:
    """Write the model and `meta` (must hold `config`: a FeatureConfig, and `crs`: the
    projection as WKT; anything else JSON-able: cut-off, horizon, metrics...)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    config = meta.pop("config")
    model.booster.save_model(str(out / BOOSTER))
    if model.calibrator is not None:
        np.savez(out / CALIBRATOR, x=model.calibrator.x, y=model.calibrator.y)
    elif (out / CALIBRATOR).exists():
        (out / CALIBRATOR).unlink()
    (out / CONFIG).write_text(config_to_yaml(config), encoding="utf-8")
    manifest = {
        "kind": KIND, "format": FORMAT, "features": list(model.features),
        "categorical": list(model.categorical), "calibrated": model.calibrator is not None,
        "booster": BOOSTER, "config": CONFIG, "info": jsonable(model.info),
        **jsonable(meta),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out


def load(directory: str | Path) -> tuple[RiskModel, dict[str, Any]]:
    """(model, meta): meta is the manifest with `config` the FeatureConfig read back.
    Raises ArtifactError naming the file when the directory is not a model or is of a
    newer format."""
    import lightgbm as lgb

    d = Path(directory)
    manifest_path = d / MANIFEST
    if not d.is_dir():
        raise ArtifactError(f"{d}: no such model directory")
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path}: missing; {d} is not a risk model directory "
                            "(made by `mineaction risk train --out`)")
    try:
        meta = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{manifest_path}: not a risk model manifest ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ArtifactError(f"{manifest_path}: not a risk model manifest (kind is not "
                            f"{KIND!r})")
    fmt = meta.get("format")
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise ArtifactError(f"{manifest_path}: model format {fmt!r} is newer than this "
                            f"version of mineaction reads ({FORMAT}); upgrade mineaction")
    booster_path = d / str(meta.get("booster", BOOSTER))
    if not booster_path.is_file():
        raise ArtifactError(f"{booster_path}: missing; the model directory is incomplete")
    try:
        booster = lgb.Booster(model_file=str(booster_path))
    except lgb.basic.LightGBMError as exc:
        raise ArtifactError(f"{booster_path}: not a LightGBM model ({exc})") from exc
    calibrator = None
    if meta.get("calibrated"):
        cal_path = d / CALIBRATOR
        if not cal_path.is_file():
            raise ArtifactError(f"{cal_path}: missing; the manifest says the model is "
                                "calibrated")
        with np.load(cal_path) as arrays:
            calibrator = calibration.Isotonic(np.asarray(arrays["x"], float),
                                              np.asarray(arrays["y"], float))
    config_path = d / str(meta.get("config", CONFIG))
    if not config_path.is_file():
        raise ArtifactError(f"{config_path}: missing; the model directory is incomplete")
    meta["config"] = features.load_config(config_path)
    model = RiskModel(booster, list(meta["features"]), list(meta["categorical"]),
                      calibrator, dict(meta.get("info") or {}))
    return model, meta
