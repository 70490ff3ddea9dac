# SPDX-License-Identifier: GPL-3.0-or-later
"""The annual report's section on published figures (issue 22): the year's claims and
where they disagree, with each other and with the report's own (approved) records, in
English and Spanish; a store without claims has no such section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shapely.geometry import Point

from mineaction.domain.models import Accident, AdminArea, Victim
from mineaction.io.claims import read_claims
from mineaction.reports.render import render_html
from mineaction.store import claims as stored
from mineaction.store import open_store

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"


def _store(path: Path, *, with_claims: bool = True):  # type: ignore[no-untyped-def]
    s = open_store(path)
    s.add(AdminArea(pcode="AZ", name="Azerbaijan", level=0, status="approved"))
    accident = s.add(Accident(geometry=Point(46.9, 39.9), admin_area_pcode="AZ",
                              accident_date=date(2024, 5, 2), status="approved"))
    for _ in range(30):
        s.add(Victim(accident_id=accident.id, outcome="injured", status="approved"))
    if with_claims:
        with s.transaction() as conn:
            stored.add_claims(conn, read_claims(AZERBAIJAN), by="test")
    return s


def test_the_annual_report_shows_the_years_figures_and_disagreements(tmp_path: Path) -> None:
    s = _store(tmp_path / "az.gpkg")
    try:
        html = render_html(s, "annual", year=2024, lang="en", embed_fonts=False)
        es = render_html(s, "annual", year=2024, lang="es", embed_fonts=False)
    finally:
        s.close()
    assert 'id="published-figures"' in html
    section = html[html.index('id="published-figures"'):html.index("Methods, sources")]
    # stated in 2024: 342 (January), 351 (April); not 382 (January 2025)
    assert "342 persons" in section and "351 persons" in section
    assert "382 persons" not in section.split("Where the published figures disagree")[0]
    assert "65 victims_killed + 288 victims_injured = 353, but victims_total is 351" in section
    assert "342 to 2024-01-26 (Prosecutor General&#39;s Office via Trend) + 41" in section
    # the records (30 injured in May 2024) against the 32 injured stated in August 2024
    assert "32 2024-01-01 to 2024-08-15 (Azerbaijan Campaign to Ban Landmines via Report.az)" \
        ", but the records count 30 for 2024-01-01 to 2024-08-15" in section
    # a finding only about other years is left out: 301 then 299 in 2023
    assert "299 to 2023-05-12" not in section
    assert "Cifras publicadas" in es and "Las partes no suman el total" in es


def test_no_section_without_claims(tmp_path: Path) -> None:
    s = _store(tmp_path / "none.gpkg", with_claims=False)
    try:
        html = render_html(s, "annual", year=2024, lang="en", embed_fonts=False)
    finally:
        s.close()
    assert 'id="published-figures"' not in html
