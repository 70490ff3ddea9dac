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

A rank mix (model.RankMix, format 2) has a booster per member (booster.txt,
booster_1.txt, ...), the members' columns in the manifest's `members`, and their rank
references in references.npz; a single model is still written as format 1, which older
versions read.

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
from mineaction.analysis.risk.model import RankMix, RankReference, RiskModel

FORMAT = 2  # the newest this version reads and writes (1: a single model, 2: a rank mix)
KIND = "mineaction-risk-model"
MANIFEST = "manifest.json"
BOOSTER = "booster.txt"
CALIBRATOR = "calibrator.npz"
CONFIG = "features.yaml"
REFERENCES = "references.npz"


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




def _booster_name(i: int) -> str:
    return BOOSTER if i == 0 else f"booster_{i}.txt"


def save(model: RiskModel | RankMix, directory: str | Path, meta: dict[str, Any]) -> Path:
    """Write the model and `meta` (must hold `config`: a FeatureConfig, and `crs`: the
    projection as WKT; anything else JSON-able: cut-off, horizon, metrics...)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    config = meta.pop("config")
    members = model.members if isinstance(model, RankMix) else [model]
    for i, member in enumerate(members):
        member.booster.save_model(str(out / _booster_name(i)))
    extra: dict[str, Any] = {}
    if isinstance(model, RankMix):
        np.savez(out / REFERENCES, **{f"{what}_{i}": getattr(ref, what)
                                      for i, ref in enumerate(model.references)
                                      for what in ("score", "share")})
        extra = {"format": FORMAT, "references": REFERENCES, "members": [
            {"booster": _booster_name(i), "features": list(m.features),
             "categorical": list(m.categorical)} for i, m in enumerate(members)]}
    if model.calibrator is not None:
        np.savez(out / CALIBRATOR, x=model.calibrator.x, y=model.calibrator.y)
    elif (out / CALIBRATOR).exists():
        (out / CALIBRATOR).unlink()
    (out / CONFIG).write_text(config_to_yaml(config), encoding="utf-8")
    manifest = {
        "kind": KIND, "format": 1, "features": list(model.features),
        "categorical": list(model.categorical), "calibrated": model.calibrator is not None,
        "booster": BOOSTER, "config": CONFIG, "info": jsonable(model.info),
        **extra, **jsonable(meta),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out


def _inside(d: Path, manifest: Path, name: Any) -> Path:
    """The file `name` of the model directory `d`, as the manifest names it: a plain file
    name, never a path out of the directory (a model directory is shared between machines,
    and a crafted manifest must not make the loader read another file)."""
    text = str(name)
    if not text or text in (".", "..") or Path(text).name != text or "\\" in text:
        raise ArtifactError(f"{manifest}: {text!r} is not a file name in the model "
                            "directory")
    return d / text


def _booster(path: Path) -> Any:
    import lightgbm as lgb

    if not path.is_file():
        raise ArtifactError(f"{path}: missing; the model directory is incomplete")
    try:
        return lgb.Booster(model_file=str(path))
    except lgb.basic.LightGBMError as exc:
        raise ArtifactError(f"{path}: not a LightGBM model ({exc})") from exc


def _members(d: Path, meta: dict[str, Any]) -> tuple[list[RiskModel], list[RankReference]]:
    """A rank mix's members and their rank references (format 2)."""
    ref_path = _inside(d, d / MANIFEST, meta.get("references", REFERENCES))
    if not ref_path.is_file():
        raise ArtifactError(f"{ref_path}: missing; the model directory is incomplete")
    members, references = [], []
    with np.load(ref_path) as arrays:
        for i, m in enumerate(meta["members"]):
            members.append(RiskModel(_booster(_inside(d, d / MANIFEST, m["booster"])),
                                     list(m["features"]),
                                     list(m["categorical"])))
            try:
                references.append(RankReference(np.asarray(arrays[f"score_{i}"], float),
                                                np.asarray(arrays[f"share_{i}"], float)))
            except KeyError as exc:
                raise ArtifactError(f"{ref_path}: no rank reference of member {i}") from exc
    return members, references


def load(directory: str | Path) -> tuple[RiskModel | RankMix, dict[str, Any]]:
    """(model, meta): meta is the manifest with `config` the FeatureConfig read back.
    Raises ArtifactError naming the file when the directory is not a model or is of a
    newer format."""
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
    calibrator = None
    if meta.get("calibrated"):
        cal_path = d / CALIBRATOR
        if not cal_path.is_file():
            raise ArtifactError(f"{cal_path}: missing; the manifest says the model is "
                                "calibrated")
        with np.load(cal_path) as arrays:
            calibrator = calibration.Isotonic(np.asarray(arrays["x"], float),
                                              np.asarray(arrays["y"], float))
    config_path = _inside(d, manifest_path, meta.get("config", CONFIG))
    if not config_path.is_file():
        raise ArtifactError(f"{config_path}: missing; the model directory is incomplete")
    meta["config"] = features.load_config(config_path)
    info = dict(meta.get("info") or {})
    if fmt >= 2:
        try:
            members, references = _members(d, meta)
        except (KeyError, TypeError, ValueError, OSError) as exc:
            # a manifest without its members' list, or a references file that is not
            # plain arrays (np.load refuses pickled objects: nothing of it runs)
            raise ArtifactError(f"{manifest_path}: the rank mix's members cannot be read "
                                f"({type(exc).__name__}: {exc})") from exc
        return RankMix(members, references, calibrator, info), meta
    booster = _booster(_inside(d, manifest_path, meta.get("booster", BOOSTER)))
    return RiskModel(booster, list(meta["features"]), list(meta["categorical"]),
                     calibrator, info), meta
