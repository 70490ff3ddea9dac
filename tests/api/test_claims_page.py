# SPDX-License-Identifier: GPL-3.0-or-later
"""The published figures page /claims (issue 22), in-process with the API's fixtures: the
public reads the claims, a timeline chart per metric and area, and the findings naming
their claims; filters narrow all three."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mineaction.io.claims import read_claims
from mineaction.store import claims as stored

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"


def _load(store: Any) -> None:
    with store.transaction() as conn:
        stored.add_claims(conn, read_claims(AZERBAIJAN), by="test")


def test_the_public_reads_the_figures_their_timelines_and_findings(api, store) -> None:  # type: ignore[no-untyped-def]
    _load(store)
    page = api.public.get("/claims")
    assert page.status_code == 200
    html = page.text
    assert 'data-total="96"' in html
    assert html.count('<tr id="claim-') == 96
    assert html.count('class="chart timeline"') >= 3  # victims total, killed, injured...
    assert "Victims total in Azerbaijan" in html
    assert 'data-check="periods"' in html and 'data-check="falling"' in html
    assert "65 victims_killed + 288 victims_injured = 353, but victims_total is 351" in html
    assert 'href="/claims"' in html  # in the navigation


def test_filters_narrow_the_page(api, store) -> None:  # type: ignore[no-untyped-def]
    _load(store)
    html = api.public.get("/claims", params={"metric": "area_released"}).text
    assert 'data-total="9"' in html
    assert html.count('class="chart timeline"') == 1
    assert 'data-check="falling"' in html and 'data-check="periods"' not in html
    assert "140,000 ha to 2025-10" in html
    empty = api.public.get("/claims", params={"stated_by": "nobody at all"}).text
    assert 'data-total="0"' in empty and "claims-findings" not in empty
    assert api.public.get("/claims", params={"metric": "bogus"}).status_code == 422
