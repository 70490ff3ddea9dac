# SPDX-License-Identifier: GPL-3.0-or-later
"""The site check certificate as a document (issue 20): HTML from the Jinja2 template
templates/site_certificate.html, made a PDF by reports/render.py's `html_to_pdf`.

It shows what services/certificates.py kept: the site, a map of the site, its buffer and
the records used (as the public saw them when it was issued), the findings worded in the
report language (reports/site_wording.py), the IMAS caveat, the ids and versions of the
records used, the data date, the evidence hash, and how to verify it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mineaction.reports.i18n import N_, Formatter, translations
from mineaction.reports.site_wording import caveat, wording

SITE_TYPES = {"Point": N_("a point"), "LineString": N_("a line"),
              "MultiLineString": N_("a line"), "Polygon": N_("an area"),
              "MultiPolygon": N_("an area")}
KIND_LABELS = {"hazard": N_("Hazard"), "minefield_record": N_("Minefield record"),
               "released_part": N_("Released land"), "accident": N_("Accident"),
               "find": N_("Find")}
COLOURS = {"site": "#0b5cad", "buffer": "#0b5cad", "hazard": "#d7301f",
           "released_part": "#1a9850", "accident": "#000000", "find": "#6a51a3"}


def _local_proj(site: Any) -> Any:
    from pyproj import Proj

    c = site.centroid
    return Proj(f"+proj=laea +lat_0={float(c.y)!r} +lon_0={float(c.x)!r} "
                "+datum=WGS84 +units=m")


def buffered(site: Any, metres: float) -> Any:
    """The site grown by `metres` on the ground (equal-area frame centred on it), back in
    lon/lat: the buffer drawn on the map."""
    import numpy as np
    import shapely

    proj = _local_proj(site)

    def forward(c: Any) -> Any:
        x, y = proj(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    def inverse(c: Any) -> Any:
        x, y = proj(c[:, 0], c[:, 1], inverse=True)
        return np.column_stack([x, y])

    local = shapely.transform(shapely.segmentize(site, 0.001), forward)
    return shapely.transform(local.buffer(max(metres, 0.5), quad_segs=16), inverse)


def site_map(site: Any, buffer_m: float, records: list[tuple[str, Any]], lang: str) -> str:
    """A PNG data: URI of the site (outline), its buffer and the records used."""
    import matplotlib
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from mineaction.reports import maps
    from mineaction.reports.charts import STYLE, data_uri, save

    t = translations(lang).gettext
    zone = buffered(site, buffer_m)
    shown = [zone, *(g for _, g in records if g is not None and not g.is_empty)]
    minx, miny, maxx, maxy = maps._union_bounds(shown)
    # Square-ish, at least a kilometre across, so a point site still shows its setting.
    lat_m = 111_000.0
    min_deg = 1000.0 / lat_m
    extent = maps._extent((minx, miny, maxx, maxy), pad=0.15, minimum=min_deg)
    with matplotlib.rc_context(STYLE):
        fig, ax = maps._frame(extent, "", size=(6.3, 5.2))
        handles: list[Any] = []

        def polygons(geoms: list[Any], colour: str, alpha: float, z: int) -> None:
            rings = [r for g in geoms for r in maps._rings(g)]
            if rings:
                ax.add_collection(PolyCollection(rings, facecolors=colour, edgecolors=colour,
                                                 alpha=alpha, linewidths=0.8, zorder=z))

        polygons([zone], COLOURS["buffer"], 0.08, 1)
        handles.append(Patch(facecolor=COLOURS["buffer"], alpha=0.25,
                             label=t("Buffer (%(m)s m)") % {
                                 "m": Formatter(lang).number(buffer_m)}))
        for kind, z in (("released_part", 2), ("hazard", 3)):
            geoms = [g for k, g in records if k == kind and g is not None]
            areas = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            polygons(areas, COLOURS[kind], 0.45, z)
            points = [g.representative_point() for g in geoms if g not in areas]
            if points:
                ax.scatter([p.x for p in points], [p.y for p in points], s=18,
                           c=COLOURS[kind], marker="s", zorder=z)
            if geoms:
                handles.append(Patch(facecolor=COLOURS[kind], alpha=0.6,
                                     label=f"{t(KIND_LABELS[kind])} ({len(geoms)})"))
        for kind, marker in (("accident", "x"), ("find", "o")):
            pts = [g.representative_point() for k, g in records if k == kind and g is not None]
            if pts:
                ax.scatter([p.x for p in pts], [p.y for p in pts], s=22, c=COLOURS[kind],
                           marker=marker, zorder=5)
                handles.append(Line2D([], [], color=COLOURS[kind], marker=marker,
                                      linestyle="", label=f"{t(KIND_LABELS[kind])} "
                                      f"({len(pts)})"))
        _draw_site(ax, site)
        handles.append(Line2D([], [], color=COLOURS["site"], linewidth=2, label=t("Site")))
        ax.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.9)
        maps._decorate(fig, ax, extent, t("Records as the public saw them when the "
                                          "certificate was issued."), t)
    return data_uri(save(fig, "png", dpi=150), "png")


def _draw_site(ax: Any, site: Any) -> None:
    parts = getattr(site, "geoms", [site])
    for g in parts:
        if g.geom_type == "Point":
            ax.scatter([g.x], [g.y], s=60, facecolors="none", edgecolors=COLOURS["site"],
                       linewidths=2, zorder=6)
        elif g.geom_type == "LineString":
            xs, ys = zip(*g.coords, strict=False)
            ax.plot(xs, ys, color=COLOURS["site"], linewidth=2, zorder=6)
        elif g.geom_type == "Polygon":
            xs, ys = zip(*g.exterior.coords, strict=False)
            ax.plot(xs, ys, color=COLOURS["site"], linewidth=2, zorder=6)


def _size(report: Any, fmt: Formatter) -> str:
    if report.site_size is None:
        return ""
    if report.site_type in ("Polygon", "MultiPolygon"):
        return fmt.hectares(report.site_size)
    m = report.site_size
    return fmt.number(m) + " m" if m < 1000 else fmt.number(m / 1000, 2) + " km"


def _date(value: Any, fmt: Formatter) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return fmt.date(value.date())
    try:
        return fmt.date(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def certificate_context(cert: dict[str, Any], report: Any, lang: str) -> dict[str, Any]:
    """What the template shows, from a stored certificate (services/certificates.py
    `Certificates.get`) and its findings as a SiteReport."""
    import shapely
    from shapely.geometry import shape

    t = translations(lang).gettext
    fmt = Formatter(lang)
    site = shapely.from_wkt(cert["site"])
    centre = site.centroid
    drawn: list[tuple[str, Any]] = []
    for key, data in sorted(cert["snapshot"].items()):
        kind = key.split("/", 1)[0]
        g = data.get("geometry")
        drawn.append((kind, shape(g) if g else None))
    records = [{"kind": t(KIND_LABELS.get(e["kind"], e["kind"])), "id": e["id"],
                "version": e["version"]} for e in cert["evidence"]["records"]]
    return {
        "cert": cert, "fmt": fmt, "findings": wording(report, lang), "caveat": caveat(lang),
        "site_type": t(SITE_TYPES.get(report.site_type, report.site_type)),
        "site_size": _size(report, fmt),
        "centre": f"{centre.y:.6f}, {centre.x:.6f}",
        "buffer": fmt.number(report.buffer_m), "nearby": fmt.number(report.nearby_m),
        "issued": _date(cert["created_at"], fmt),
        "issued_at": (cert["created_at"].strftime("%Y-%m-%d %H:%M UTC")
                      if isinstance(cert["created_at"], datetime)
                      else str(cert["created_at"])),
        "data_as_of": _date(cert["data_as_of"], fmt) if cert["data_as_of"] else None,
        "records": records, "map": site_map(site, report.buffer_m, drawn, lang),
        "verify_command": f"mineaction certificate verify {cert['id']}",
        "verify_url": f"/api/v1/site-check/certificates/{cert['id']}/verify",
    }


def certificate_html(cert: dict[str, Any], report: Any, lang: str) -> str:
    """The certificate as HTML for WeasyPrint (fonts read from this machine's files)."""
    from mineaction.reports.render import RTL_LANGUAGES, _font_urls, environment

    t = translations(lang).gettext
    context = certificate_context(cert, report, lang)
    title = t("Site check certificate")
    return environment(lang).get_template("site_certificate.html").render(
        **context, lang=lang, direction="rtl" if lang in RTL_LANGUAGES else "ltr",
        title=title, place=cert["id"][:8], today=context["issued"], fonts=_font_urls(None))
