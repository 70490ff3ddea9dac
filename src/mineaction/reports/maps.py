"""Maps for reports, with matplotlib only: a choropleth of casualties by admin area, a hazard
map by status and point maps, over the offline basemap (Natural Earth country outlines,
shipped in data/world), each with a scale bar, north arrow, legend and source note.

Coordinates are drawn in longitude/latitude with the axes' aspect set to 1/cos(mid
latitude): a local equirectangular view that keeps shapes right at the scale of one
country (no cartopy/geopandas needed). The scale bar's length is measured on the ellipsoid
(pyproj.Geod), so it is right at the map's middle latitude.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from mineaction.reports.charts import STYLE

Gettext = Callable[[str], str]
# Natural Earth 1:50m country outlines shipped inside the package (public domain).
WORLD = Path(__file__).resolve().parents[1] / "data" / "countries_ne50m.geojson"
LAND, BORDER, SEA = "#f2f0eb", "#9e9a90", "#dbe9f2"
STATUS_COLOURS = {"open": "#d7301f", "worked_on": "#fc8d59", "closed": "#1a9850",
                  "handed_over": "#91cf60"}
GEOD = Geod(ellps="WGS84")


@dataclass
class MapArea:
    geometry: BaseGeometry
    value: float
    name: str = ""


@cache
def countries(path: Path = WORLD) -> list[tuple[str, BaseGeometry]]:
    """(ISO 3166 alpha-2 code, outline) of every country in the offline basemap."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(f["properties"].get("iso_a2") or "", shape(f["geometry"]))
            for f in data["features"] if f.get("geometry")]


def basemap() -> list[BaseGeometry]:
    return [g for _, g in countries()]


def country_at(lon: float, lat: float) -> str | None:
    """ISO alpha-2 code of the basemap country holding a point (for a report's title)."""
    from shapely.geometry import Point

    point = Point(lon, lat)
    return next((code for code, g in countries() if code and g.contains(point)), None)


def _rings(geom: BaseGeometry) -> list[np.ndarray]:
    """Exterior rings of a (multi)polygon as arrays. Holes are left out: in admin layers a
    hole is another area, drawn on top in its own colour."""
    polys = getattr(geom, "geoms", [geom])
    return [np.asarray(p.exterior.coords) for p in polys if p.geom_type == "Polygon"]


def _extent(bounds: Sequence[float], pad: float = 0.06,
            minimum: float = 0.4) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    w, h = max(maxx - minx, minimum), max(maxy - miny, minimum)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - w / 2 * (1 + pad), cy - h / 2 * (1 + pad), cx + w / 2 * (1 + pad),
            cy + h / 2 * (1 + pad))


def _frame(extent: tuple[float, float, float, float], title: str,
           size: tuple[float, float] = (6.3, 6.0)) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    minx, miny, maxx, maxy = extent
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(1 / math.cos(math.radians((miny + maxy) / 2)))
    ax.set_facecolor(SEA)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    rings = [r for g in basemap() if g.intersects(_box(extent)) for r in _rings(g)]
    ax.add_collection(PolyCollection(rings, facecolors=LAND, edgecolors=BORDER,
                                     linewidths=0.6, zorder=0))
    return fig, ax


def _box(extent: Sequence[float]) -> BaseGeometry:
    from shapely.geometry import box

    return box(*extent)


def _nice_length(km: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000):
        if step >= km:
            return float(step)
    return 5000.0


def _decorate(fig: Figure, ax: Any, extent: tuple[float, float, float, float], source: str,
              t: Gettext) -> None:
    """Scale bar (geodesic length at the middle latitude), north arrow, source note."""
    minx, miny, maxx, maxy = extent
    lat = miny + (maxy - miny) * 0.06
    width_km = GEOD.inv(minx, lat, maxx, lat)[2] / 1000
    km = _nice_length(width_km / 5)
    x0 = minx + (maxx - minx) * 0.05
    x1 = GEOD.fwd(x0, lat, 90, km * 1000)[0]
    half = (x1 - x0) / 2
    bar_h = (maxy - miny) * 0.012
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(Rectangle((x0 + i * half, lat), half, bar_h, facecolor=colour,
                               edgecolor="black", linewidth=0.6, zorder=5))
    for x, text in ((x0, "0"), (x0 + half, f"{km / 2:g}"), (x1, f"{km:g} km")):
        ax.text(x, lat + bar_h * 1.6, text, ha="center", va="bottom", fontsize=6.5, zorder=5)
    ax.annotate(t("N"), xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
                ha="center", va="center", fontsize=9, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 9,
                            "headlength": 8})
    # The source note as the x label: constrained layout keeps room for it under the map.
    ax.set_xlabel("\n".join(textwrap.wrap(source, 95)), fontsize=6, color="#555555",
                  loc="left")


def class_breaks(values: Sequence[float], classes: int = 5) -> list[float]:
    """Lower bounds of classes for counts: nice numbers, about evenly spread by rank."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return [1]
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000]
    qs = np.quantile(positive, np.linspace(0, 1, classes + 1)[:-1])
    # The first class starts at 1, whatever the quantiles: every non-zero value has a class.
    return sorted({1} | {max(n for n in nice if n <= max(q, 1)) for q in qs})


def choropleth(areas: Sequence[MapArea], title: str, legend_title: str, source: str,
               t: Gettext, outline: Sequence[BaseGeometry] = ()) -> Figure:
    """Areas coloured by value in classes (0 in grey), over the basemap; `outline` draws
    extra boundaries (e.g. departments over municipalities)."""
    with matplotlib.rc_context(STYLE):
        bounds = _union_bounds([a.geometry for a in areas])
        extent = _extent(bounds)
        fig, ax = _frame(extent, title)
        breaks = class_breaks([a.value for a in areas])
        cmap = matplotlib.colormaps["YlOrRd"]
        colours = [to_hex(cmap(0.2 + 0.8 * i / max(len(breaks) - 1, 1)))
                   for i in range(len(breaks))]
        rings: list[np.ndarray] = []
        faces: list[str] = []
        for area in areas:
            k = sum(1 for b in breaks if area.value >= b) - 1
            colour = "#e5e5e5" if area.value <= 0 else colours[k]
            for ring in _rings(area.geometry):
                rings.append(ring)
                faces.append(colour)
        ax.add_collection(PolyCollection(rings, facecolors=faces, edgecolors="white",
                                         linewidths=0.3, zorder=2))
        if outline:
            ax.add_collection(PolyCollection([r for g in outline for r in _rings(g)],
                                             facecolors="none", edgecolors="#444444",
                                             linewidths=0.5, zorder=3))
        fmt = _int_format
        handles = [Patch(facecolor="#e5e5e5", edgecolor="#999999", label="0")]
        for i, b in enumerate(breaks):
            upper = breaks[i + 1] - 1 if i + 1 < len(breaks) else None
            label = (fmt(b) if upper == b else f"{fmt(b)}–{fmt(upper)}" if upper
                     else f"{fmt(b)}+")
            handles.append(Patch(facecolor=colours[i], edgecolor="#999999", label=label))
        ax.legend(handles=handles, title=legend_title, loc="lower right", fontsize=7,
                  title_fontsize=7, framealpha=0.9)
        _decorate(fig, ax, extent, source, t)
    return fig


def point_map(points: Sequence[tuple[float, float, float]], title: str, legend_label: str,
              source: str, t: Gettext, outline: Sequence[BaseGeometry] = ()) -> Figure:
    """Points (lon, lat, weight) as circles sized by weight, over outlines and basemap."""
    with matplotlib.rc_context(STYLE):
        geoms = list(outline)
        if points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            bounds = (min(xs), min(ys), max(xs), max(ys))
        else:
            bounds = _union_bounds(geoms) if geoms else (-1, -1, 1, 1)
        extent = _extent(bounds)
        fig, ax = _frame(extent, title)
        if outline:
            ax.add_collection(PolyCollection([r for g in outline for r in _rings(g)],
                                             facecolors="none", edgecolors="#777777",
                                             linewidths=0.4, zorder=2))
        if points:
            sizes = [8 + 10 * math.sqrt(max(p[2], 0)) for p in points]
            ax.scatter(xs, ys, s=sizes, c="#d7301f", alpha=0.65, edgecolors="white",
                       linewidths=0.4, zorder=4, label=legend_label)
            ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
        _decorate(fig, ax, extent, source, t)
    return fig


def hazard_map(hazards: Sequence[tuple[BaseGeometry, str]], title: str, source: str,
               t: Gettext, label: Callable[[str], str],
               outline: Sequence[BaseGeometry] = ()) -> Figure:
    """Hazards coloured by status: their polygons, and a marker at each (a hazard of a few
    hectares is smaller than a pixel on a country map)."""
    with matplotlib.rc_context(STYLE):
        extent = _extent(_union_bounds([g for g, _ in hazards] or list(outline)))
        fig, ax = _frame(extent, title)
        if outline:
            ax.add_collection(PolyCollection([r for g in outline for r in _rings(g)],
                                             facecolors="none", edgecolors="#777777",
                                             linewidths=0.4, zorder=2))
        for status, colour in STATUS_COLOURS.items():
            chosen = [g for g, s in hazards if s == status]
            if not chosen:
                continue
            rings = [r for g in chosen if g.geom_type != "Point" for r in _rings(g)]
            ax.add_collection(PolyCollection(rings, facecolors=colour, edgecolors=colour,
                                             linewidths=0.5, zorder=3))
            pts = [g.representative_point() for g in chosen]
            ax.scatter([p.x for p in pts], [p.y for p in pts], s=14, c=colour, marker="s",
                       edgecolors="black", linewidths=0.3, zorder=4,
                       label=f"{label(status)} ({len(chosen)})")
        ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
        _decorate(fig, ax, extent, source, t)
    return fig


def _union_bounds(geoms: Sequence[BaseGeometry]) -> tuple[float, float, float, float]:
    if not geoms:
        return (-1.0, -1.0, 1.0, 1.0)
    b = np.array([g.bounds for g in geoms])
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
            float(b[:, 3].max()))


def _int_format(v: float) -> str:
    return f"{v:,.0f}"
