# SPDX-License-Identifier: GPL-3.0-or-later
"""The findings of a site check in plain words, in the report languages (issue 20): the
one wording the command line, the API, the web page and the certificate use.

After IMAS: say what is recorded, when and by whom; never that a place is "safe" or "free
of mines"; end with the caveat that the absence of a record is not evidence of absence.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from mineaction.reports.i18n import N_, Formatter, translations

RELEASE_METHODS = ("cleared", "reduced", "cancelled")  # strongest evidence first
RELEASE_WORDS = {"cleared": N_("cleared"), "reduced": N_("reduced by technical survey"),
                 "cancelled": N_("cancelled by non-technical survey")}
HAZARD_STATUS = {"open": N_("open"), "worked_on": N_("being worked on"),
                 "closed": N_("closed"), "handed_over": N_("handed over")}
KIND_WORDS = {"accident": (N_("accident"), N_("accidents")), "find": (N_("find"), N_("finds"))}
CAVEAT = N_("This is what the records held in this system say; it is not a statement that "
            "the land is free of explosive ordnance. The absence of a record is not "
            "evidence of absence.")


@cache
def _formatter(lang: str) -> Formatter:
    return Formatter(lang)


@lru_cache(maxsize=1 << 15)
def _distance(lang: str, m: float) -> str:
    """A distance in words, each (language, distance) worded once: a check words a few,
    to 0.1 m, and Babel's number formatting was a tenth of a signed-in viewer's check
    over the API (issue 20)."""
    t, number = translations(lang).gettext, _formatter(lang).number
    if m < 1000:
        return t("%(n)s m") % {"n": number(m)}
    return t("%(n)s km") % {"n": number(m / 1000, 1)}


class Words:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.t = translations(lang).gettext
        self.fmt = _formatter(lang)  # one a language: Locale.parse is not free either

    def distance(self, m: float) -> str:
        return _distance(self.lang, m)

    def share(self, value: float) -> str:
        return self.fmt.number(100 * value) + " %" if self.fmt.lang != "en" \
            else f"{100 * value:.0f}%"

    def status(self, hazard: Any) -> str:
        kind = hazard.kind_code or ""
        status = hazard.status
        word = self.t(HAZARD_STATUS[status]) if status in HAZARD_STATUS else (status or "")
        return ", ".join(x for x in (kind, word) if x)


def caveat(lang: str = "en") -> str:
    return translations(lang).gettext(CAVEAT)


def wording(report: Any, lang: str = "en") -> list[str]:
    """The findings of `report` (analysis/site_check.py's SiteReport) as sentences."""
    w = Words(lang)
    t = w.t
    lines: list[str] = []
    point = report.site_type == "Point"
    for h in (x for x in report.hazards if x.distance_m == 0):
        values = {"name": h.label or h.id, "status": w.status(h)}
        if point or h.share_of_site is None:
            lines.append(t("The point lies in recorded hazard %(name)s (%(status)s).")
                         % values)
        else:
            lines.append(t("The site lies in recorded hazard %(name)s (%(status)s): "
                           "%(share)s of the site.") % {**values,
                                                       "share": w.share(h.share_of_site)})
    near = [h for h in report.hazards if h.distance_m > 0]
    if near:
        h = near[0]
        values = {"name": h.label or h.id, "status": w.status(h),
                  "distance": w.distance(h.distance_m), "others": len(near) - 1}
        lines.append((t("Recorded hazard %(name)s (%(status)s) lies %(distance)s from the "
                        "site; %(others)s other hazards lie within the buffer.")
                      if len(near) > 1 else
                      t("Recorded hazard %(name)s (%(status)s) lies %(distance)s from the "
                        "site.")) % values)
    if not report.hazards:
        lines.append(t("No recorded hazard within %(distance)s.")
                     % {"distance": w.distance(report.buffer_m)})
    for m in report.minefield_records:
        values = {"name": m.label or m.id, "date": m.date or t("undated"),
                  "distance": w.distance(m.distance_m)}
        lines.append((t("Minefield record %(name)s (%(date)s) on the site.")
                      if m.distance_m == 0 else
                      t("Minefield record %(name)s (%(date)s) %(distance)s away.")) % values)
    for method in RELEASE_METHODS:
        share = report.released_share.get(method)
        if not share:
            continue
        parts = [r for r in report.released if r.status == method]
        years = sorted({r.date[:4] for r in parts if r.date})
        by = ", ".join(sorted({r.by for r in parts if r.by}))
        values = {"share": w.share(share), "method": t(RELEASE_WORDS[method]),
                  "years": "–".join(dict.fromkeys([years[0], years[-1]])) if years else "",
                  "by": by}
        when = (t(" in %(years)s") % values) if years else ""
        who = (t(" by %(by)s") % values) if by else ""
        subject = (t("The point lies in land %(method)s") if point else
                   t("%(share)s of the site lies in land %(method)s")) % values
        lines.append(f"{subject}{when}{who}.")
    for count in (report.accidents, report.finds):
        if count is None:
            continue
        one, many = KIND_WORDS[count.kind]
        values = {"radius": w.distance(count.radius_m), "n": w.fmt.number(count.count),
                  "what": t(one) if count.count == 1 else t(many),
                  "nearest": w.distance(count.nearest_m or 0.0),
                  "year": (count.latest or "")[:4]}
        if count.count == 0:
            lines.append(t("No %(what)s recorded within %(radius)s.") % {
                **values, "what": t(one)})
        elif count.latest:
            lines.append(t("%(n)s %(what)s within %(radius)s, the last in %(year)s; the "
                           "nearest %(nearest)s away.") % values)
        else:
            lines.append(t("%(n)s %(what)s within %(radius)s; the nearest %(nearest)s "
                           "away.") % values)
    for kind, decimals in report.generalised.items():
        step = 10.0 ** -decimals
        lines.append(t("Places of %(what)s are published rounded to %(step)s° (about "
                       "%(km)s km): their counts and distances above are approximate.")
                     % {"what": t(KIND_WORDS[kind][1]) if kind in KIND_WORDS else kind,
                        "step": f"{step:g}", "km": w.fmt.number(step * 111)})
    if report.risk:
        lines.append(t("Modelled contamination risk here: %(p)s (higher than %(pct)s of the "
                       "area modelled); a model's estimate, not a survey.") % {
                           "p": w.fmt.number(100 * report.risk["probability"], 1) + " %"
                           if lang != "en" else f"{report.risk['probability']:.1%}",
                           "pct": w.share((report.risk.get("percentile") or 0) / 100)})
    if report.data_as_of:
        lines.append(t("The records used were last updated on %(date)s.")
                     % {"date": report.data_as_of})
    return lines
