# SPDX-License-Identifier: GPL-3.0-or-later
"""The map-accuracy report (issue 18, item 4): how accurate were the minefield records an
area received?

For an admin area (and optional dates, which limit the finds and accidents): the records
received; the devices found inside and outside the recorded minefields; the accidents and
finds outside any recorded minefield, with the share of accidents outside the mapped
areas (the claim it answers: "more than half of the mine explosions happened outside the
mapped areas", ../shared/data/azerbaijan/claims_2020-2025.csv); a table of each record's
accuracy (analysis/minefield_accuracy.py's assess_record, on inputs read by
analysis/minefield_inputs.py); and a map.

"Inside a recorded minefield" means within `tolerance_m` (default 5 m, the same buffer
assess_record uses for its perimeter share) of a record's perimeter as drawn, measured on
the ground in a plane centred on that record: a find 3 m outside a hand-drawn line is not
evidence that the line was wrong. Approved records only, like every report.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import matplotlib
import numpy as np
import shapely
from matplotlib.collections import PolyCollection
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from mineaction.analysis.minefield_accuracy import assess_record
from mineaction.analysis.minefield_inputs import DEFAULT_SEARCH_M, load_record, perimeter_of
from mineaction.analysis.minefield_layout import LocalPlane
from mineaction.reports import charts, maps
from mineaction.reports.context import APPROVED, Base
from mineaction.reports.i18n import N_
from mineaction.store.query import Query

TOLERANCE_M = 5.0
# Device categories that are mines: the claim is about mine explosions, so the report
# gives the share for those beside the share for every accident.
MINES = ("ap_mine", "at_mine", "improvised_mine")
# The record's own fit status, as the analysis names it, in words a reader can translate.
FIT_STATUS = {"fitted": N_("fitted"), "too few finds": N_("too few finds"),
              "no consistent fit": N_("no consistent fit"),
              "no expected mines": N_("no expected mines"),
              "not better than chance": N_("not better than chance")}


class Perimeters:
    """The recorded perimeters, each buffered by the tolerance in its own local plane, to
    tell whether points lie inside any of them."""

    def __init__(self, geometries: list[BaseGeometry], tolerance_m: float) -> None:
        self.zones: list[tuple[LocalPlane, BaseGeometry, tuple[float, ...]]] = []
        for geom in geometries:
            ring = perimeter_of(geom)
            centre = Polygon(ring).centroid
            plane = LocalPlane(float(centre.x), float(centre.y))
            zone = Polygon(plane.to_xy(ring)).buffer(tolerance_m)
            shapely.prepare(zone)
            self.zones.append((plane, zone, Polygon(ring).bounds))

    def inside(self, lonlat: np.ndarray) -> np.ndarray:
        """For each (lon, lat) row, whether it lies in any buffered perimeter."""
        found = np.zeros(len(lonlat), dtype=bool)
        if not len(lonlat):
            return found
        for plane, zone, (minx, miny, maxx, maxy) in self.zones:
            # A box a kilometre wider than the perimeter first: projecting every point of
            # a province for each record would cost more than the test itself.
            pad_lat = 0.01
            pad_lon = pad_lat / max(math.cos(math.radians(miny)), 0.01)
            near = ((lonlat[:, 0] >= minx - pad_lon) & (lonlat[:, 0] <= maxx + pad_lon)
                    & (lonlat[:, 1] >= miny - pad_lat) & (lonlat[:, 1] <= maxy + pad_lat))
            if not near.any():
                continue
            xy = plane.to_xy(lonlat[near])
            found[np.flatnonzero(near)] |= shapely.contains_xy(zone, xy[:, 0], xy[:, 1])
        return found


def _points(store: Any, kind: str, admin_area: str, date_from: date | None,
            date_to: date | None) -> tuple[np.ndarray, list[dict[str, Any]], int]:
    """(lon/lat array of the located ones, their rows, how many have no coordinates)."""
    frame = store.read_frame(Query(kind=kind, status=APPROVED, admin_area=admin_area,
                                   date_from=date_from, date_to=date_to, limit=None))
    rows = frame.to_dict("records") if len(frame) else []
    located = [r for r in rows if r.get("geometry") is not None and not r["geometry"].is_empty]
    xy = np.array([(r["geometry"].x, r["geometry"].y) for r in located], dtype=float)
    return xy.reshape(-1, 2), located, len(rows) - len(located)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _record_row(b: Base, stored: dict[str, Any], tolerance_m: float, date_from: date | None,
                date_to: date | None) -> dict[str, Any]:
    """One line of the accuracy table: the analysis's indicators, raw and formatted."""
    t, fmt = b.t, b.fmt
    base = {"id": str(stored["id"]), "name": stored.get("name") or str(stored["id"])[:8],
            "handed_over_by": stored.get("handed_over_by") or "–",
            "date_handed_over": fmt.date(stored["date_handed_over"])
            if isinstance(stored.get("date_handed_over"), date) else "–"}
    try:
        loaded = load_record(b.store, str(stored["id"]), status=APPROVED, date_from=date_from,
                             date_to=date_to)
        acc = assess_record(loaded.record, loaded.finds, perimeter_buffer_m=tolerance_m)
    except ValueError as exc:  # a perimeter the analysis refuses: say why, go on
        return {**base, "error": str(exc), "accuracy": None}
    missing = [(r.row_id, r.unexplained) for r in acc.rows if r.unexplained]
    fit = acc.fit
    return {
        **base, "error": None, "accuracy": acc, "notes": loaded.notes,
        "rows": len(acc.rows), "finds": acc.finds, "expected": acc.expected_mines,
        "found": acc.found_mines,
        "inside": fmt.pct(None if acc.share_inside_perimeter is None
                          else 100 * acc.share_inside_perimeter),
        "found_share": fmt.pct(None if acc.share_expected_found is None
                               else 100 * acc.share_expected_found),
        "offset_before": fmt.number(acc.median_offset_before_m, 1)
        if acc.median_offset_before_m is not None else "–",
        "offset_after": fmt.number(acc.median_offset_after_m, 1)
        if acc.median_offset_after_m is not None else "–",
        "fit": (t("%(shift)s m, %(rotation)s°") % {
            "shift": fmt.number(fit.shift_m, 1), "rotation": fmt.number(fit.rotation_deg, 1)})
        if fit.status == "fitted" else t(FIT_STATUS.get(fit.status, fit.status)),
        "missing": ", ".join(f"{row} {n}" for row, n in missing) or "–",
        "unexplained": acc.unexplained_missing,
        "residual_risk": acc.residual_risk,
        "outside_rows": len(acc.finds_outside_rows),
    }


def _map(b: Base, perimeters: list[BaseGeometry], layers: list[tuple[np.ndarray, str, str,
                                                                     str, str]]) -> str | None:
    """Perimeters, and finds and accidents coloured by inside/outside, over the basemap."""
    pts = [xy for xy, *_ in layers if len(xy)]
    bounds = [g.bounds for g in perimeters] + [(*xy.min(axis=0), *xy.max(axis=0))
                                               for xy in pts]
    if not bounds:
        return None
    arr = np.array(bounds, dtype=float)
    extent = maps._extent((arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(),
                           arr[:, 3].max()), pad=0.5, minimum=0.02)
    with matplotlib.rc_context(charts.STYLE):  # type: ignore[arg-type]
        fig, ax = maps._frame(extent, b.t("Recorded minefields, finds and accidents"))
        rings = [np.asarray(g.exterior.coords) for g in perimeters]
        ax.add_collection(PolyCollection(rings, facecolors="#0b5cad33", edgecolors="#0b5cad",
                                         linewidths=0.8, zorder=2))
        ax.plot([], [], color="#0b5cad", label=b.t("Recorded minefield"))
        for xy, colour, marker, label, _ in layers:
            if len(xy):
                ax.scatter(xy[:, 0], xy[:, 1], s=12 if marker == "o" else 30, c=colour,
                           marker=marker, edgecolors="white", linewidths=0.3, zorder=4,
                           label=f"{label} ({len(xy)})")
        ax.legend(loc="lower right", fontsize=6.5, framealpha=0.9)
        maps._decorate(fig, ax, extent, b.source_note(), b.t)
    return charts.data_uri(charts.save(fig, "png", dpi=150), "png")


def map_accuracy(store: Any, admin_area: str, lang: str = "en", date_from: date | None = None,
                 date_to: date | None = None, image: str = "svg",
                 tolerance_m: float = TOLERANCE_M) -> dict[str, Any]:
    """The map-accuracy report's data. `figures` holds the raw counts (what tests and
    anyone re-checking the claim read); the rest is formatted for `lang`."""
    b = Base(store, lang, admin_area, image)
    t, fmt = b.t, b.fmt
    frame = store.read_frame(Query(kind="minefield_record", status=APPROVED,
                                   admin_area=admin_area, limit=None))
    stored = sorted(frame.to_dict("records") if len(frame) else [],
                    key=lambda r: (str(r.get("name") or ""), str(r["id"])))
    with_perimeter = [r for r in stored if r.get("geometry") is not None]
    zones = Perimeters([r["geometry"] for r in with_perimeter], tolerance_m)

    find_xy, find_rows, finds_unlocated = _points(store, "find", admin_area, date_from,
                                                  date_to)
    acc_xy, acc_rows, accidents_unlocated = _points(store, "accident", admin_area, date_from,
                                                    date_to)
    # A find of quantity 3 is three devices: devices are counted, as clearance reports do.
    quantity = np.array([int(r.get("quantity") or 1) for r in find_rows], dtype=int)
    find_in = zones.inside(find_xy)
    acc_in = zones.inside(acc_xy)
    mine = np.array([str(getattr(r.get("device_category"), "value", r.get("device_category")))
                     in MINES for r in acc_rows], dtype=bool)
    figures: dict[str, Any] = {
        "records": len(stored),
        "records_without_perimeter": len(stored) - len(with_perimeter),
        "finds": int(quantity.sum()),
        "finds_inside": int(quantity[find_in].sum()),
        "finds_outside": int(quantity[~find_in].sum()),
        "finds_unlocated": finds_unlocated,
        "accidents": len(acc_rows),
        "accidents_inside": int(acc_in.sum()),
        "accidents_outside": int((~acc_in).sum()),
        "accidents_unlocated": accidents_unlocated,
        "mine_accidents": int(mine.sum()),
        "mine_accidents_outside": int((mine & ~acc_in).sum()),
    }
    figures["share_finds_outside"] = _share(figures["finds_outside"], figures["finds"])
    figures["share_accidents_outside"] = _share(figures["accidents_outside"],
                                                figures["accidents"])
    figures["share_mine_accidents_outside"] = _share(figures["mine_accidents_outside"],
                                                     figures["mine_accidents"])

    records = [_record_row(b, r, tolerance_m, date_from, date_to) for r in stored]
    assessed = [r["accuracy"] for r in records if r["accuracy"] is not None]
    expected = sum(a.expected_mines for a in assessed)
    found = sum(a.found_mines for a in assessed)
    linked = sum(a.finds for a in assessed)
    inside_linked = sum(a.finds_inside_perimeter for a in assessed)
    figures.update({
        "expected_mines": expected, "expected_found": found,
        "share_expected_found": _share(found, expected),
        "record_finds": linked, "record_finds_inside": inside_linked,
        "share_record_finds_inside": _share(inside_linked, linked),
        "records_with_residual_risk": sum(1 for a in assessed if a.residual_risk),
    })
    share = figures["share_accidents_outside"]
    mine_share = figures["share_mine_accidents_outside"]
    period = (f"{fmt.date(date_from) if date_from else '…'} – "
              f"{fmt.date(date_to) if date_to else '…'}") if date_from or date_to else None
    layers = [
        (find_xy[find_in], "#1a9850", "o", t("Find inside a recorded minefield"), "in"),
        (find_xy[~find_in], "#7b3294", "o", t("Find outside every recorded minefield"), "out"),
        (acc_xy[acc_in], "#fdae61", "^", t("Accident inside a recorded minefield"), "in"),
        (acc_xy[~acc_in], "#d7301f", "^", t("Accident outside every recorded minefield"),
         "out"),
    ]
    return {
        "kind": "map-accuracy",
        "title": t("Map-accuracy report"),
        "place": b.place(),
        "period": period,
        "fmt": fmt,
        "t": t,
        "figures": figures,
        "tolerance": fmt.number(tolerance_m, 0),
        "search": fmt.number(DEFAULT_SEARCH_M, 0),
        "pct": {k: fmt.pct(v) for k, v in figures.items() if k.startswith("share_")},
        "more_than_half": share is not None and share > 50,
        "mine_more_than_half": mine_share is not None and mine_share > 50,
        "records": records,
        "map": _map(b, [Polygon(perimeter_of(r["geometry"])) for r in with_perimeter],
                    layers),
    }
