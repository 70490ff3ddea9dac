# SPDX-License-Identifier: GPL-3.0-or-later
"""The RELand Antioquia grid (Dulce Rubio et al. 2024, doi:10.1145/3648437) as a feature
table: about 1 km cells in 19 municipalities of eastern Antioquia with about 60 covariates
and a label, for validating the model by whole municipality (issue 19).

What the columns are (data/README.md): `mines_outcome` is the label (1 = a mine event,
hazardous area or cleared area with finds in the cell; 0 = inside a finished demining
sector declared mine-free; -1 = unlabelled, dropped here); `Municipio` the municipality (the
group of leave-one-municipality-out, never a feature); `LATITUD_Y`, `LONGITUD_X` and
`geometry` the cell's position (kept apart: a model that reads coordinates learns where the
training municipalities are, not what makes a place risky). Everything else is a feature:
elevation, land vocation, climate and relief (one-hot), population 2020, relative wealth
index, the municipality's conflict-victim counts, distances to roads, rivers, settlements,
coca, ... None of them is derived from the label, so none is dropped for leaking it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mineaction.analysis.risk.grid import Floats, Projection

LABEL = "mines_outcome"
GROUP = "Municipio"
POSITION = ("LATITUD_Y", "LONGITUD_X", "geometry")


@dataclass
class RelandGrid:
    """Labelled cells only: features, label (bool), municipality, and the cell centre
    projected (metres, equal-area centred on the grid) for distances."""

    features: pd.DataFrame
    label: np.ndarray
    group: np.ndarray
    x: Floats
    y: Floats
    lon: Floats
    lat: Floats
    projection: Projection
    unlabelled: int
    original_names: dict[str, str] = field(default_factory=dict)  # feature -> CSV column


def feature_columns(columns: list[str]) -> list[str]:
    """Every column except the label, the municipality and the position."""
    return [c for c in columns if c not in (LABEL, GROUP, *POSITION)]


def safe_name(column: str) -> str:
    """A column name LightGBM accepts (no commas, quotes, brackets or colons): accents
    dropped, every other run of non-alphanumerics one underscore."""
    ascii_ = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9A-Za-z]+", "_", ascii_).strip("_")


def load(path: str | Path, municipalities: list[str] | None = None) -> RelandGrid:
    """Read the CSV as shipped (not cleaned: `NARI¥O` stays as spelt), keep labelled cells
    (0 or 1), optionally only some municipalities."""
    raw = pd.read_csv(path)
    keep = raw[LABEL].isin((0, 1)).to_numpy().copy()
    if municipalities is not None:
        keep &= raw[GROUP].isin(municipalities).to_numpy()
    df = raw[keep].reset_index(drop=True)
    lon = df["LONGITUD_X"].to_numpy(float)
    lat = df["LATITUD_Y"].to_numpy(float)
    proj = Projection.centred_on(lon, lat)
    x, y = proj.forward(lon, lat)
    cols = feature_columns(list(df.columns))
    names = {safe_name(c): c for c in cols}
    assert len(names) == len(cols), "two columns map to one feature name"
    feats = df[cols].astype(float).set_axis(list(names), axis=1)
    return RelandGrid(feats, df[LABEL].to_numpy() == 1, df[GROUP].astype(str).to_numpy(),
                      np.asarray(x, float), np.asarray(y, float), lon, lat, proj,
                      int((raw[LABEL] == -1).sum()), names)
