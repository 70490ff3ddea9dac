# SPDX-License-Identifier: GPL-3.0-or-later
"""The annual report's section "Sources and what no source recorded" (issue 17): the table
per source, the UpSet chart and the multiple-systems estimate with its interval and
assumptions, in English and Spanish; without it when fewer than three sources recorded the
year's casualties. HTML only: the PDF lays out the same HTML."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from mineaction.domain.models import Accident, Victim
from mineaction.reports.render import render_html
from mineaction.store import Store, open_store

_spec = importlib.util.spec_from_file_location(
    "mineaction_tests_sources",
    Path(__file__).parents[1] / "analysis" / "sources_fixture.py")
assert _spec and _spec.loader
sources_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources_fixture)
LATER = sources_fixture.YEAR + 2


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    store = open_store(tmp_path_factory.mktemp("report-sources") / "s.gpkg")
    truth = sources_fixture.load(store)
    # Two years later only two sources report: no estimate for that year.
    for source in ("police", "hospital"):
        acc = store.add(Accident(dataset=source, external_id=f"{source}-later",
                                 status="approved", accident_date=date(LATER, 3, 1)))
        store.add(Victim(dataset=source, external_id=f"{source}-later", status="approved",
                         accident_id=acc.id, outcome="killed"))
    yield store, truth
    store.close()


def _section(html: str) -> str:
    start = html.index('id="sources"')
    return html[start:html.index("<h2", start + 1)]


def test_annual_report_has_the_sources_section(linked: tuple[Store, dict]) -> None:
    store, truth = linked
    section = _section(render_html(store, "annual", year=sources_fixture.YEAR, lang="en"))
    assert "Sources and what no source recorded" in section
    for source, persons in truth.items():
        assert f"<tr><td>{source}</td><td class=\"n\">{len(persons)}</td>" in section
    distinct = len(set().union(*truth.values()))
    assert f"<b>{distinct}</b>" in section
    assert re.search(r'<img class="chart" src="data:image/svg\+xml;base64,[^"]+" '
                     r'alt="Casualties by source">', section)
    assert "police &amp; hospital &amp; press" in section
    found = re.search(r"at ([\d,]+), with a 95% interval of ([\d,]+) to ([\d,]+)\. "
                      r"([\d,]+) of them are recorded", section)
    assert found, section
    estimate, low, high, observed = (int(g.replace(",", "")) for g in found.groups())
    assert low <= estimate <= high and observed == distinct and estimate >= distinct
    assert "Closed population" in section and "Linkage without errors" in section


def test_the_section_in_spanish(linked: tuple[Store, dict]) -> None:
    section = _section(render_html(linked[0], "annual", year=sources_fixture.YEAR,
                                   lang="es"))
    assert "Las fuentes y lo que ninguna fuente registró" in section
    assert "Solo esta fuente" in section and "Población cerrada" in section
    assert "con un intervalo del 95% de" in section


def test_no_estimate_without_three_sources(linked: tuple[Store, dict]) -> None:
    # A year no source covered: the section says so instead of estimating.
    section = _section(render_html(linked[0], "annual", year=sources_fixture.YEAR + 1,
                                   lang="en"))
    assert "No casualties were recorded." in section
    assert "multiple systems estimation puts" not in section
    two = _section(render_html(linked[0], "annual", year=LATER, lang="en"))
    assert "<tr><td>police</td>" in two and "<tr><td>press</td>" not in two
    assert "it needs three or more sources" in two and "and 2 did" in two


def test_a_source_that_only_counts_in_the_annual_report(tmp_path: Path) -> None:
    """A press counting casualties per accident (issue 17): its accidents and counts of
    the year in a table of their own, and the estimate from the accident model."""
    with open_store(tmp_path / "counts.gpkg") as store:
        truth = sources_fixture.load_counts(store, accidents=450)
        section = _section(render_html(store, "annual", year=2005, lang="en"))
    in_2005 = [p for p in truth["press"] if p[0].year == 2005]
    killed, injured = sum(p[2] for p in in_2005), sum(p[3] for p in in_2005)
    assert (f'<tr><td>press</td><td class="n">{len(in_2005)}</td><td class="n">{killed}'
            f'</td><td class="n">{injured}</td></tr>') in section
    found = re.search(r"counted per accident by press, a model of accidents of unknown "
                      r"size puts the casualties of 2005, those that no source recorded "
                      r"included, at ([\d,]+), with a 95% interval of ([\d,]+) to ([\d,]+)",
                      section)
    assert found, section
    estimate, low, high = (int(g.replace(",", "")) for g in found.groups())
    assert low <= estimate <= high
    assert "log-linear" not in section  # not the overlaps' models
