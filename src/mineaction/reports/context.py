"""What each report shows: the figures, tables, charts and maps a template lays out.

Everything here is computed through mineaction.analysis (grouping in SQL, approved records
only) and formatted for one language; templates only place it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mineaction.analysis import by_source as bs
from mineaction.analysis import by_source_counts as bsc
from mineaction.analysis import landrelease as lr
from mineaction.analysis.casualties import FACTS, breakdown, casualties
from mineaction.analysis.trends import trends
from mineaction.reports import charts, maps, risk_section
from mineaction.reports.i18n import Formatter
from mineaction.reports.labels import DIMENSION_TITLES, labeller
from mineaction.reports.upset import upset_figure
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA

if TYPE_CHECKING:
    from mineaction.access.visibility import Access

APPROVED = ("approved",)


@dataclass
class Base:
    """What every report needs: the store, the language, the area and its names."""

    store: Store
    lang: str
    admin_area: str | None = None
    # Charts as SVG for HTML (sharp at any zoom); as PNG for PDF, where WeasyPrint's SVG
    # drawing costs seconds a chart and a 200 dpi PNG prints just as well.
    image: str = "svg"
    fmt: Formatter = field(init=False)

    def __post_init__(self) -> None:
        self.fmt = Formatter(self.lang)
        self.t = self.fmt.gettext
        self.label = labeller(self.t)
        frame = self.store.read_frame(Query(kind="admin_area", status=APPROVED, limit=None))
        self.areas = frame
        self.names: dict[str, str] = dict(zip(frame.get("pcode", []), frame.get("name", []),
                                              strict=True))
        self.levels: dict[str, int] = dict(zip(frame.get("pcode", []), frame.get("level", []),
                                               strict=True))

    def chart(self, fig: Any) -> str:
        dpi = 200
        return charts.data_uri(charts.save(fig, self.image, dpi=dpi), self.image)

    # -- places --------------------------------------------------------------------------
    def area_name(self, pcode: str | None) -> str:
        if pcode is None:
            return self.t("Not recorded")
        return f"{self.names[pcode]} ({pcode})" if pcode in self.names else pcode

    def country(self) -> str:
        """The country the data is in (basemap country at the accidents' median point),
        named in the report's language."""
        frame = self.store.read_frame(Query(kind="accident", status=APPROVED, limit=500,
                                            admin_area=self.admin_area))
        pts = [g for g in frame.get("geometry", []) if g is not None]
        if not pts:
            return self.t("Country")
        code = maps.country_at(statistics.median(p.x for p in pts),
                               statistics.median(p.y for p in pts))
        if not code:
            return self.t("Country")
        return self.fmt.locale.territories.get(code, code)

    def place(self) -> str:
        country = self.country()
        if self.admin_area:
            return f"{self.area_name(self.admin_area)}, {country}"
        return country

    def child_level(self) -> int:
        """The admin level a map or table of this report breaks down to."""
        if self.admin_area and self.admin_area in self.levels:
            return int(self.levels[self.admin_area]) + 1
        return 1

    def area_geometries(self, level: int) -> list[tuple[str, Any]]:
        if "level" not in self.areas:
            return []
        chosen = self.areas[(self.areas["level"] == level)]
        if self.admin_area:
            chosen = chosen[chosen["pcode"].str.startswith(self.admin_area)]
        return [(p, g) for p, g in zip(chosen["pcode"], chosen["geometry"], strict=True)
                if g is not None]

    def source_note(self) -> str:
        """Data sources for a map or chart: the datasets imported, and boundaries."""
        runs = METADATA.tables["import_runs"]
        with self.store.engine.connect() as conn:
            datasets = sorted({r[0] for r in conn.execute(sa.select(runs.c.dataset))})
        return (self.t("Source") + ": " + ", ".join(datasets) + ". "
                + self.t("Basemap: Natural Earth. Approved records only."))

    def methods(self) -> dict[str, Any]:
        """Data sources (imports and source records) and record counts for the methods note."""
        runs = METADATA.tables["import_runs"]
        with self.store.engine.connect() as conn:
            imports = [dict(r) for r in conn.execute(
                sa.select(runs.c.dataset, runs.c.file_name, runs.c.finished_at,
                          runs.c.rows_read).order_by(runs.c.finished_at)).mappings()]
        latest: dict[str, dict[str, Any]] = {}
        for run in imports:
            latest[run["dataset"]] = run
        sources = self.store.read_frame(Query(kind="source", limit=None))
        return {
            "imports": [
                {**r, "finished": self.fmt.date(r["finished_at"].date())
                 if r["finished_at"] else "–"} for r in latest.values()],
            "sources": sources.to_dict("records") if len(sources) else [],
            "counted": self.store.count(Query(kind="victim", status=APPROVED, limit=None,
                                              admin_area=self.admin_area)),
            "not_counted": self.store.count(Query(kind="victim", limit=None,
                                                  admin_area=self.admin_area))
            - self.store.count(Query(kind="victim", status=APPROVED, limit=None,
                                     admin_area=self.admin_area)),
        }

    # -- casualties ----------------------------------------------------------------------
    def breakdowns(self, **filters: Any) -> list[dict[str, Any]]:
        """One table per Monitor dimension: label, count, share of known."""
        out = []
        for dim, title in DIMENSION_TITLES.items():
            rows = breakdown(self.store, dim, admin_area=self.admin_area, **filters)
            key = "pct_of_known_" + dim.replace("-", "_")
            pct = "pct_killed" if dim == "outcome" else key
            out.append({
                "title": self.t(title),
                "rows": [{"label": self.label(dim, r[dim]),
                          "count": self.fmt.number(r["casualties"]),
                          "pct": self.fmt.pct(r.get(pct) if dim != "outcome"
                                              else _outcome_pct(r, rows)),
                          "unknown": r[dim] in ("unknown", "unspecified", None)}
                         for r in rows],
            })
        return out

    def by_area(self, level: int, **filters: Any) -> list[dict[str, Any]]:
        rows = casualties(self.store, ["admin-area"], admin_level=level,
                          admin_area=self.admin_area, **filters).rows
        rows.sort(key=lambda r: -r["casualties"])
        return [{"pcode": r["admin-area"], "name": self.area_name(r["admin-area"]),
                 "casualties": r["casualties"], "killed": r["killed"], "injured": r["injured"]}
                for r in rows]

    def choropleth(self, level: int, title: str, **filters: Any) -> str | None:
        geoms = self.area_geometries(level)
        if not geoms:
            return None
        counts = {r["pcode"]: r["casualties"] for r in self.by_area(level, **filters)}
        areas = [maps.MapArea(g, counts.get(p, 0), self.names.get(p, p)) for p, g in geoms]
        outline = [g for _, g in self.area_geometries(level - 1)] if level > 1 else []
        fig = maps.choropleth(areas, title, self.t("Casualties"), self.source_note(), self.t,
                              outline=outline)
        return charts.data_uri(charts.save(fig, "png", dpi=130), "png")

    def accident_map(self, title: str, date_from: date, date_to: date) -> str | None:
        accidents = self.store.read_frame(Query(
            kind="accident", status=APPROVED, admin_area=self.admin_area, date_from=date_from,
            date_to=date_to, limit=None))
        if not len(accidents):
            return None
        with self.store.engine.connect() as conn:
            per = dict(conn.execute(
                sa.select(FACTS.c.accident_id, sa.func.count())
                .where(FACTS.c.status.in_(APPROVED),
                       FACTS.c.accident_id.in_(list(accidents["id"])))
                .group_by(FACTS.c.accident_id)).all())
        points = [(g.x, g.y, per.get(i, 0)) for i, g in
                  zip(accidents["id"], accidents["geometry"], strict=True) if g is not None]
        outline = [g for _, g in self.area_geometries(self.child_level())]
        fig = maps.point_map(points, title, self.t("Accident (size: casualties)"),
                             self.source_note() + " " + self.t(
                                 "Points are placed at the settlement recorded."),
                             self.t, outline=outline)
        return charts.data_uri(charts.save(fig, "png", dpi=130), "png")

    # -- land release --------------------------------------------------------------------
    def land_release(self, date_from: date, date_to: date) -> dict[str, Any]:
        f = {"admin_area": self.admin_area, "date_from": date_from, "date_to": date_to}
        total = lr.released_area(self.store, [], **f)
        by_org = lr.released_area(self.store, ["organisation"], **f)
        by_kind = lr.released_area(self.store, ["activity-kind"], **f)
        found = lr.finds(self.store, ["device-group"], **f)
        eff = lr.clearance_efficiency(self.store, **f)
        day_before = date_from - timedelta(days=1)
        remaining = lr.remaining_area(self.store, [day_before, date_to],
                                      admin_area=self.admin_area)
        changes = [r for r in lr.hazards_opened_closed(self.store, admin_area=self.admin_area)
                   if date_from.isoformat()[:4] <= r["year"] <= date_to.isoformat()[:4]]
        contamination = lr.open_hazards(self.store, admin_area=self.admin_area)
        re_rows = lr.risk_education(self.store, [], **f)
        has_any = bool(total and total[0]["parts"]) or bool(found) or contamination["hazards"]
        return {
            "any": has_any,
            "total": total[0] if total and total[0]["parts"] else None,
            "by_organisation": by_org,
            "by_activity_kind": by_kind,
            "finds": found,
            "efficiency": eff,
            "remaining": remaining,
            "opened": sum(r["opened"] for r in changes),
            "closed": sum(r["closed"] for r in changes),
            "contamination": contamination,
            "risk_education": re_rows[0] if re_rows and re_rows[0]["sessions"] else None,
        }

    # -- sources (issue 17) --------------------------------------------------------------
    def published_figures(self, year: int) -> dict[str, Any]:
        """Figures stated in public in `year` (claims, issue 22) for the report's place,
        and where they disagree with each other or with the records (approved, as the
        rest of the report), each finding naming its claims. The checks read every stored
        claim: a figure of this year is checked against those of earlier years."""
        from mineaction.analysis import claims_check
        from mineaction.store import claims as stored

        with self.store.engine.connect() as conn:
            every = stored.read_claims(conn)
        if self.admin_area:
            names = {self.admin_area.casefold(), self.area_name(self.admin_area).casefold()}
            every = [c for c in every if c.area.casefold() in names]
        stated = [c for c in every if c.as_of.year == year]
        keys = {c.key for c in stated}
        found = claims_check.check_all(
            every, count=claims_check.record_counter(self.store, APPROVED))
        return {"claims": stated, "any": bool(every),
                "findings": [f for f in found if any(c.key in keys for c in f.claims)]}

    def sources(self, date_from: date, date_to: date) -> dict[str, Any]:
        """Victims by source in the period: each source's count and what only it recorded,
        the exclusive overlaps, the UpSet chart, and from three or more sources the
        multiple-systems estimate of the casualties no source recorded. Full counts, as
        the rest of the report (reports go to signed-in users, not the public)."""
        known = bs.datasets(self.store, "victim", APPROVED)
        chosen = bs.choose(self.store, "victim", APPROVED, None, known=known)
        period = {"admin_area": self.admin_area, "date_from": date_from, "date_to": date_to}
        result = bs.compare(self.store, "victim", APPROVED, chosen, **period)
        # Sources with nothing in the period are left out of the table and the estimate: a
        # source that covered another period says nothing of this one's coverage.
        present = [str(s) for s, n in zip(result.per_source["source"],
                                          result.per_source["entities"], strict=True) if n]
        if len(present) < len(chosen):
            result = bs.compare(self.store, "victim", APPROVED, present, **period)
        counted, estimate = bsc.counted_and_estimate(
            self.store, bsc.count_datasets(self.store, APPROVED, listing=known), present,
            result, APPROVED, **period)
        view = {**bs.view(result), "counted": counted, "estimate": estimate}
        if not present:
            return {**view, "chart": None}
        return {**view,
                "chart": self.chart(upset_figure(result, self.t("Casualties by source")))}

    def hazard_map(self, title: str) -> str | None:
        hazards = self.store.read_frame(Query(kind="hazard", status=APPROVED,
                                              admin_area=self.admin_area, limit=None))
        items = [(g, s) for g, s in zip(hazards.get("geometry", []),
                                        hazards.get("hazard_status", []), strict=True)
                 if g is not None]
        if not items:
            return None
        fig = maps.hazard_map(items, title, self.source_note(), self.t,
                              lambda s: self.label("hazard_status", s),
                              outline=[g for _, g in self.area_geometries(self.child_level())])
        return charts.data_uri(charts.save(fig, "png", dpi=130), "png")


def _outcome_pct(row: dict[str, Any], rows: list[dict[str, Any]]) -> float | None:
    known = sum(r["casualties"] for r in rows if r["outcome"] in ("killed", "injured"))
    if row["outcome"] not in ("killed", "injured") or not known:
        return None
    return round(100 * row["casualties"] / known, 1)


def annual(store: Store, year: int, lang: str = "en", admin_area: str | None = None,
           image: str = "svg", risk_model: Mapping[str, Any] | None = None,
           reader: Access | None = None) -> dict[str, Any]:
    """The annual country (or area) report, after a Landmine Monitor country profile.
    With `risk_model` (the meta `mineaction risk train` saved) and a `reader` who may see
    the risk layer, it also describes the contamination-risk model (reports/risk_section.py).
    """
    b = Base(store, lang, admin_area, image)
    t, fmt = b.t, b.fmt
    start, end = date(year, 1, 1), date(year, 12, 31)
    period = {"date_from": start, "date_to": end}
    this = casualties(store, admin_area=admin_area, **period).total()
    before = casualties(store, admin_area=admin_area, date_from=date(year - 1, 1, 1),
                        date_to=date(year - 1, 12, 31)).total()
    to_date = casualties(store, admin_area=admin_area, date_to=end).total()
    tr = trends(store, until=year, admin_area=admin_area)
    years = [r for r in casualties(store, ["year"], admin_area=admin_area, date_to=end).rows
             if r["year"]]
    first_year = years[0]["year"] if years else str(year)
    per_year = [{**r, "year": int(r["year"])} for r in years]
    level = b.child_level()
    accidents = store.count(Query(kind="accident", status=APPROVED, admin_area=admin_area,
                                  limit=None, **period))
    yoy = next((r for r in tr["year_on_year"] if r["year"] == year), None)
    return {
        "kind": "annual",
        "title": t("Mine action annual report"),
        "place": b.place(),
        "year": year,
        "fmt": fmt,
        "t": t,
        "key": {
            "casualties": this["casualties"], "killed": this["killed"],
            "injured": this["injured"], "unknown": this["unknown_outcome"],
            "previous": before["casualties"],
            "pct_change": yoy["pct_change"] if yoy else None,
            "accidents": accidents,
            "to_date": to_date["casualties"], "first_year": first_year,
        },
        "breakdowns": b.breakdowns(**period),
        "by_area": b.by_area(level, **period)[:15],
        "area_level": level,
        "year_chart": b.chart(charts.casualties_per_year(
            per_year, tr["projection"], t, highlight=year)),
        "rolling_chart": b.chart(charts.rolling_counts(
            [r for r in tr["rolling_12_months"] if r["month"] <= f"{year}-12"], t))
        if tr["rolling_12_months"] else None,
        "projection": tr["projection"],
        "yoy": tr["year_on_year"][-10:],
        "choropleth": b.choropleth(level, t("Casualties by admin area") + f", {year}", **period),
        "accident_map": b.accident_map(t("Accidents") + f", {year}", start, end),
        "hazard_map": b.hazard_map(t("Hazards by status")),
        "land": b.land_release(start, end),
        "risk_model": risk_section.section(risk_model, reader, fmt, b.chart),
        "sources": b.sources(start, end),
        "published": b.published_figures(year),
        "label": b.label,
        "methods": b.methods(),
    }


def factsheet(store: Store, admin_area: str, lang: str = "en", year: int | None = None,
              image: str = "svg") -> dict[str, Any]:
    """A one-page fact sheet for an admin area: all years, or up to `year`."""
    b = Base(store, lang, admin_area, image)
    t = b.t
    end = date(year, 12, 31) if year else None
    total = casualties(store, admin_area=admin_area, date_to=end).total()
    years = [r for r in casualties(store, ["year"], admin_area=admin_area, date_to=end).rows
             if r["year"]]
    per_year = [{**r, "year": int(r["year"])} for r in years]
    level = b.child_level()
    return {
        "kind": "factsheet",
        "title": t("Fact sheet"),
        "place": b.place(),
        "year": year,
        "fmt": b.fmt,
        "t": t,
        "total": total,
        "first_year": years[0]["year"] if years else None,
        "last_year": years[-1]["year"] if years else None,
        "recent": per_year[-8:],
        "breakdowns": [x for x in b.breakdowns(date_to=end)
                       if x["title"] in (t("Outcome"), t("Civilian or military status"),
                                         t("Age"))],
        "by_area": b.by_area(level, date_to=end)[:8],
        "year_chart": b.chart(charts.casualties_per_year(per_year, None, t))
        if per_year else None,
        "choropleth": b.choropleth(level, t("Casualties by admin area"), date_to=end),
        "land": b.land_release(date(1900, 1, 1), end or date.today()),
        "label": b.label,
    }


def monthly(store: Store, month: date, lang: str = "en", admin_area: str | None = None,
            image: str = "svg") -> dict[str, Any]:
    """The monthly operations report: the month's accidents and casualties, land release,
    finds, hazards opened and closed, risk education."""
    b = Base(store, lang, admin_area)
    t = b.t
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    period = {"date_from": start, "date_to": end}
    accidents = store.read_frame(Query(kind="accident", status=APPROVED, admin_area=admin_area,
                                       limit=None, **period))
    with store.engine.connect() as conn:
        per = {a: (n, k) for a, n, k in conn.execute(
            sa.select(FACTS.c.accident_id, sa.func.count(),
                      sa.func.sum(sa.case((FACTS.c.outcome == "killed", 1), else_=0)))
            .where(FACTS.c.status.in_(APPROVED),
                   FACTS.c.accident_id.in_(list(accidents.get("id", []))))
            .group_by(FACTS.c.accident_id))}
    rows = [{"date": r["accident_date"], "place": b.area_name(r["admin_area_pcode"]),
             "site": r["place_name"] or "–", "kind": b.label("accident-kind", r["accident_kind"]),
             "victims": per.get(r["id"], (0, 0))[0], "killed": int(per.get(r["id"], (0, 0))[1])}
            for r in accidents.to_dict("records")]
    return {
        "kind": "monthly",
        "title": t("Monthly operations report"),
        "place": b.place(),
        "month": b.fmt.month(start),
        "fmt": b.fmt,
        "t": t,
        "total": casualties(store, admin_area=admin_area, **period).total(),
        "accidents": rows,
        "land": b.land_release(start, end),
        "label": b.label,
    }
