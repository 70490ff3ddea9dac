# SPDX-License-Identifier: GPL-3.0-or-later
"""The contamination-risk layer the server shows (issue 19): the GeoPackage
`mineaction risk predict` writes, read-only, for the map and /api/v1/risk.

The file's format is fixed (docs/risk-model.md): a layer `risk_cells` (Polygon,
EPSG:4326; cell_id, probability, raw_score, percentile, why, lon, lat) and a one-row
table `risk_model` (trained_until, horizon_years, cutoff, cell_m, created, features,
metrics, model_format; and `report`, what the annual report shows of the model, in files
written since it was added). It is checked when first read and again whenever the file
changes (a new prediction written over it), and a file that is not such a GeoPackage is
a clear 503 naming what is missing, never a traceback.

Who sees it is `Access.may_see_risk` (access/visibility.py), asked here on every read.

Cells in a bounding box come as GeoJSON, at most `max_cells` of them: beyond that (a
country seen whole) they are merged into square blocks on a fixed grid of degrees, each
with the highest probability of its cells (a map that hid a hot cell inside a cool block
would mislead), so the answer stays small and the blocks do not move when the map pans.
The blocks are computed from the cells' centres kept in memory (one read of three
columns per file version, 24 bytes a cell); cells themselves are read through the
layer's R-tree with pyogrio's bbox filter.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mineaction.access.visibility import Access
from mineaction.analysis.risk.registry import spec_for
from mineaction.services.errors import Forbidden, NotFoundError, ServiceError

CELLS, MODEL = "risk_cells", "risk_model"
CELL_COLUMNS = ("cell_id", "probability", "raw_score", "percentile", "why", "lon", "lat")
MODEL_COLUMNS = ("trained_until", "horizon_years", "cutoff", "cell_m", "created", "features",
                 "metrics", "model_format")
MAX_CELLS = 5000
log = logging.getLogger("mineaction.services.risk_layer")
CAVEAT = ("A model's estimate, not a survey: it ranks where unrecorded contamination is "
          "more likely.")


class RiskLayerUnavailable(ServiceError):
    """The configured file cannot be read as a risk layer: the server's fault, not the
    request's, so 503 (and the log of the server names the file)."""

    status = 503


@dataclass(frozen=True)
class _Loaded:
    """What one version of the file gives: its model row and its cells' centres."""

    version: tuple[int, int, int]
    model: dict[str, Any]
    lon: np.ndarray
    lat: np.ndarray
    probability: np.ndarray
    percentile: np.ndarray
    # what the annual report's risk section reads of the model (reports/risk_section.py),
    # None for files written before `risk predict` kept it
    report: dict[str, Any] | None = None


def meaning(name: str) -> str:
    """A feature's meaning in plain language, from the feature registry
    (analysis/risk/registry.py), with its kind, radius or layer filled in."""
    spec = spec_for(name)
    if spec is None:
        return name.replace("_", " ")
    body = re.escape(spec.pattern)
    for token, rx in (("\\{kind\\}", "(?P<kind>[a-z]+)"), ("\\{r\\}", "(?P<r>[0-9.]+)"),
                      ("\\{layer\\}", "(?P<layer>[A-Za-z0-9_]+)")):
        body = body.replace(token, rx)
    found = re.fullmatch(body, name)
    got = found.groupdict() if found else {}
    details = []
    if got.get("kind"):
        details.append("all kinds of event" if got["kind"] == "any" else f"kind: {got['kind']}")
    if got.get("r"):
        details.append(f"r = {got['r']} km")
    if got.get("layer"):
        details.append(f"layer: {got['layer']}")
    return spec.description + (f" ({', '.join(details)})" if details else "")


class RiskLayer:
    """The risk GeoPackage at `path` (None: no layer configured), as the asker may see
    it."""

    def __init__(self, path: str | Path | None, max_cells: int = MAX_CELLS) -> None:
        self.path = Path(path) if path else None
        self.max_cells = max_cells
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self.path is not None

    # -- reading the file -----------------------------------------------------------------
    def _version(self) -> tuple[int, int, int]:
        # `risk predict` writes a new file and renames it over the old one: a new inode.
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError:
            raise RiskLayerUnavailable(f"the risk layer {self.path.name} cannot be read: "
                                       "no such file") from None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self, access: Access) -> _Loaded:
        """The file as now on disk, checked: refused first to whoever may not see it, and
        404 when no layer is configured (so the public learns nothing either way)."""
        if not access.may_see_risk():
            raise Forbidden("the risk layer is shown to signed-in users only")
        if self.path is None:
            raise NotFoundError("no risk layer is configured (setting risk_layer)")
        version = self._version()
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded.version != version:
                self._loaded = self._read(version)
            return self._loaded

    def _read(self, version: tuple[int, int, int]) -> _Loaded:
        import pyogrio
        from pyogrio.raw import read

        assert self.path is not None
        name = self.path.name
        try:
            layers = {str(row[0]) for row in pyogrio.list_layers(self.path)}
            missing = [lyr for lyr in (CELLS, MODEL) if lyr not in layers]
            if missing:
                raise RiskLayerUnavailable(f"the risk layer {name} is not a risk GeoPackage: "
                                           f"no layer {', '.join(missing)}")
            info = pyogrio.read_info(self.path, layer=CELLS)
            fields = {str(f) for f in info["fields"]}
            absent = [c for c in CELL_COLUMNS if c not in fields]
            if absent or info["geometry_type"] not in ("Polygon", "MultiPolygon"):
                raise RiskLayerUnavailable(
                    f"the risk layer {name}: layer {CELLS} lacks "
                    + (f"columns {', '.join(absent)}" if absent else "a polygon geometry"))
            meta, _, _, values = read(self.path, layer=MODEL, read_geometry=False)
            model_fields = [str(f) for f in meta["fields"]]
            absent = [c for c in MODEL_COLUMNS if c not in model_fields]
            if absent or not len(values) or not len(values[0]):
                raise RiskLayerUnavailable(
                    f"the risk layer {name}: table {MODEL} lacks "
                    + (f"columns {', '.join(absent)}" if absent else "its row"))
            row = {f: _plain(v[0]) for f, v in _by_name(meta, values).items()}
            cmeta, _, _, cvalues = read(self.path, layer=CELLS, read_geometry=False,
                                        columns=["lon", "lat", "probability", "percentile"])
            cols = _by_name(cmeta, cvalues)
        except RiskLayerUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 -- any GDAL error: say which file, why
            raise self._unreadable(exc) from None
        lon, lat, prob, pct = (np.asarray(cols[c], dtype=np.float64)
                               for c in ("lon", "lat", "probability", "percentile"))
        return _Loaded(version, _model(row), lon, lat, prob, pct, _report(row))

    def _unreadable(self, exc: Exception) -> RiskLayerUnavailable:
        """GDAL's reason, said without the server's folders (the log has them)."""
        assert self.path is not None
        log.warning("risk layer %s cannot be read: %s", self.path, exc)
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        reason = reason.replace(str(self.path), self.path.name).split("; It might help")[0]
        return RiskLayerUnavailable(f"the risk layer {self.path.name} cannot be read: "
                                    f"{reason}")

    # -- what the API and the map ask -----------------------------------------------------
    def available(self, access: Access) -> bool:
        """Whether the map offers the layer to this asker: configured, readable, allowed."""
        if not self.configured or not access.may_see_risk():
            return False
        try:
            self._load(access)
        except ServiceError:
            return False
        return True

    def report_meta(self, access: Access) -> dict[str, Any] | None:
        """What the annual report shows of the layer's model (reports/risk_section.py), for
        a reader who may see the layer; None without a layer, for anyone else, for a layer
        written before `risk predict` kept it, and for a layer that cannot be read (a
        report is still worth having without the section; the layer's own endpoints say
        what is wrong with it)."""
        if not self.configured or not access.may_see_risk():
            return None
        try:
            return self._load(access).report
        except ServiceError:
            return None

    def model(self, access: Access) -> dict[str, Any]:
        """The model's description: trained until, horizon, cell size, metrics, when."""
        loaded = self._load(access)
        return {**loaded.model, "cells": int(loaded.lon.size), "max_cells": self.max_cells,
                "caveat": CAVEAT}

    def cells(self, access: Access, bbox: tuple[float, float, float, float]
              ) -> dict[str, Any]:
        """The cells whose centres or outlines fall in `bbox` as a GeoJSON
        FeatureCollection; merged into blocks when there are more than `max_cells`."""
        loaded = self._load(access)
        minx, miny, maxx, maxy = bbox
        inside = ((loaded.lon >= minx) & (loaded.lon <= maxx)
                  & (loaded.lat >= miny) & (loaded.lat <= maxy))
        n = int(np.count_nonzero(inside))
        if n > self.max_cells:
            return self._blocks(loaded, inside, bbox, n)
        features = self._read_cells(bbox)
        return {"type": "FeatureCollection", "features": features, "count": len(features),
                "aggregated": False, "max_cells": self.max_cells, "bbox": list(bbox)}

    def _read_cells(self, bbox: tuple[float, float, float, float]) -> list[dict[str, Any]]:
        from pyogrio.raw import read

        from mineaction.geo.wkb_json import wkb_geojson

        assert self.path is not None
        try:
            # The bbox filter runs on the layer's R-tree: only the cells asked for are read.
            meta, _, geoms, values = read(self.path, layer=CELLS, bbox=bbox,
                                          columns=["cell_id", "probability", "percentile"],
                                          max_features=self.max_cells + 1)
        except Exception as exc:  # noqa: BLE001 -- the file changed under us
            raise self._unreadable(exc) from None
        cols = _by_name(meta, values)
        ids, prob, pct = cols["cell_id"], cols["probability"], cols["percentile"]
        out = []
        for i in range(min(len(ids), self.max_cells)):
            if geoms[i] is None:
                continue
            out.append({"type": "Feature", "id": int(ids[i]),
                        "geometry": wkb_geojson(geoms[i]),
                        "properties": {"cell_id": int(ids[i]),
                                       "probability": _num(prob[i]),
                                       "percentile": _num(pct[i])}})
        return out

    def _blocks(self, loaded: _Loaded, inside: np.ndarray,
                bbox: tuple[float, float, float, float], n: int) -> dict[str, Any]:
        minx, miny, maxx, maxy = bbox
        # Square blocks of a power-of-two fraction of a degree, on a grid anchored at
        # (-180, -90): the same blocks whatever the bbox, so panning does not reshuffle
        # them. At most about max_cells / 2 blocks cover the bbox.
        area = max((maxx - minx) * (maxy - miny), 1e-12)
        side = 2.0 ** math.ceil(math.log2(math.sqrt(area / (self.max_cells / 2))))
        lon, lat = loaded.lon[inside], loaded.lat[inside]
        prob, pct = loaded.probability[inside], loaded.percentile[inside]
        ix = np.floor((lon + 180) / side).astype(np.int64)
        iy = np.floor((lat + 90) / side).astype(np.int64)
        key = ix * 1_000_000_007 + iy
        order = np.argsort(key, kind="stable")
        key, prob, pct = key[order], prob[order], pct[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        # NaN probabilities (no prediction) must not hide the others' maximum.
        pmax = np.fmax.reduceat(prob, starts)
        pctmax = np.fmax.reduceat(pct, starts)
        counts = np.diff(np.r_[starts, key.size])
        features = []
        for j, s in enumerate(starts):
            bx, by = ix[order[s]], iy[order[s]]
            x0, y0 = bx * side - 180, by * side - 90
            ring = [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side],
                    [x0, y0]]
            features.append({"type": "Feature",
                             "geometry": {"type": "Polygon", "coordinates": [ring]},
                             "properties": {"aggregated": True, "cells": int(counts[j]),
                                            "probability": _num(pmax[j]),
                                            "percentile": _num(pctmax[j])}})
        return {"type": "FeatureCollection", "features": features, "count": n,
                "aggregated": True, "block_degrees": side, "max_cells": self.max_cells,
                "bbox": list(bbox),
                "note": f"{n} cells in this area, more than {self.max_cells}: shown as "
                        "blocks with the highest probability of their cells; zoom in to "
                        "see the cells"}

    def explain(self, access: Access, cell_id: int) -> dict[str, Any]:
        """One cell's prediction and why: its top features, each with its meaning from
        the feature registry and whether it raises or lowers the cell's risk."""
        loaded = self._load(access)
        from pyogrio.raw import read

        assert self.path is not None
        try:
            # cell_id is an int (the API checks it): safe to put in the filter.
            meta, _, _, values = read(self.path, layer=CELLS, read_geometry=False,
                                      where=f"cell_id = {int(cell_id)}", max_features=1,
                                      columns=list(CELL_COLUMNS))
        except Exception as exc:  # noqa: BLE001
            raise self._unreadable(exc) from None
        cols = _by_name(meta, values)
        if not len(cols["cell_id"]):
            raise NotFoundError(f"no risk cell {cell_id}")
        row = {c: _plain(v[0]) for c, v in cols.items()}
        reasons = []
        for feature, contribution in _why(row["why"]):
            reasons.append({"feature": feature, "meaning": meaning(feature),
                            "contribution": contribution,
                            "direction": "raises" if contribution > 0 else "lowers"})
        return {"cell_id": int(row["cell_id"]), "probability": _num(row["probability"]),
                "raw_score": _num(row["raw_score"]), "percentile": _num(row["percentile"]),
                "lon": _num(row["lon"]), "lat": _num(row["lat"]), "reasons": reasons,
                "trained_until": loaded.model["trained_until"],
                "horizon_years": loaded.model["horizon_years"], "caveat": CAVEAT}


def _by_name(meta: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """pyogrio's columns by name: they come in the layer's order, not the order asked."""
    return {str(f): v for f, v in zip(meta["fields"], values, strict=True)}


def _why(text: Any) -> list[tuple[str, float]]:
    """The `why` column (a JSON object {feature: log-odds contribution}), largest
    contribution first; anything unreadable is no reasons rather than an error."""
    try:
        data = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    out = []
    for k, v in data.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out.append((str(k), float(v)))
    return sorted(out, key=lambda kv: -abs(kv[1]))


def _model(row: dict[str, Any]) -> dict[str, Any]:
    def loads(v: Any, default: Any) -> Any:
        try:
            return json.loads(v) if isinstance(v, str) else default
        except ValueError:
            return default

    metrics = loads(row.get("metrics"), {})
    return {"trained_until": _num(row.get("trained_until")),
            "horizon_years": _num(row.get("horizon_years")),
            "cutoff": _num(row.get("cutoff")), "cell_m": _num(row.get("cell_m")),
            "created": row.get("created"),
            "features": [str(f) for f in loads(row.get("features"), [])]
            if isinstance(loads(row.get("features"), []), list) else [],
            "metrics": {str(k): _num(v) for k, v in metrics.items()}
            if isinstance(metrics, dict) else {},
            "model_format": None if _num(row.get("model_format")) is None
            else int(row["model_format"])}


def _report(row: dict[str, Any]) -> dict[str, Any] | None:
    """The model row's `report` (JSON object), or None when absent or not an object."""
    try:
        found = json.loads(row["report"]) if isinstance(row.get("report"), str) else None
    except ValueError:
        return None
    return found if isinstance(found, dict) and found else None


def _plain(v: Any) -> Any:
    """A numpy scalar as a Python value."""
    return v.item() if isinstance(v, np.generic) else v


def _num(v: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
