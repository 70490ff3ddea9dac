# SPDX-License-Identifier: GPL-3.0-or-later
"""GET /api/v1/stats/sources and /stats/sources.png (issue 17), on both stores: the
by-source view of three linked sources for a signed-in user, the estimate with three
sources and its absence with two, an unknown source refused, and the public's counts
suppressed (the chart withheld when a count is hidden)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from mineaction.store import Store

_spec = importlib.util.spec_from_file_location(
    "mineaction_tests_sources",
    Path(__file__).parents[1] / "analysis" / "sources_fixture.py")
assert _spec and _spec.loader
sources_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources_fixture)


@pytest.fixture
def truth(store: Store) -> dict[str, set[int]]:
    return sources_fixture.load(store, persons=90)  # type: ignore[no-any-return]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_min_count": 12}


def test_viewer_gets_counts_overlaps_and_the_estimate(api, truth) -> None:  # type: ignore[no-untyped-def]
    body = api.as_("viewer").get("/api/v1/stats/sources").json()
    assert sorted(body["sources"]) == sorted(truth)
    assert body["distinct"] == len(set().union(*truth.values()))
    per = {r["source"]: r for r in body["per_source"]}
    assert all(per[s]["entities"] == len(truth[s]) for s in truth)
    assert sum(r["count"] for r in body["intersections"]) == body["distinct"]
    assert body["estimate"]["available"] is True
    low, high = body["estimate"]["interval"]
    assert low <= body["estimate"]["estimate"] <= high
    assert body["estimate"]["assumptions"] and body["suppressed_below"] is None

    two = api.as_("viewer").get("/api/v1/stats/sources",
                                params={"sources": "police,press"}).json()
    assert two["sources"] == ["police", "press"]
    assert two["estimate"]["available"] is False
    assert "three or more sources" in two["estimate"]["reason"]

    bad = api.as_("viewer").get("/api/v1/stats/sources", params={"sources": "police,ngo"})
    assert bad.status_code == 422 and bad.json()["field_errors"][0]["field"] == "sources"
    # The submitted draft counts only when asked, and only for who may count it.
    every = api.as_("viewer").get("/api/v1/stats/sources", params={"status": "all"}).json()
    assert every["distinct"] == body["distinct"] + 1
    assert api.public.get("/api/v1/stats/sources",
                          params={"status": "all"}).status_code == 403

    png = api.as_("viewer").get("/api/v1/stats/sources.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_public_gets_small_counts_suppressed(api, truth) -> None:  # type: ignore[no-untyped-def]
    full = api.as_("viewer").get("/api/v1/stats/sources").json()
    public = api.public.get("/api/v1/stats/sources").json()
    assert public["suppressed_below"] == 12
    small = {r["pattern"] for r in full["intersections"] if r["count"] < 12}
    assert small, "the fixture should have small overlaps"
    shown = {r["pattern"]: r["count"] for r in public["intersections"]}
    assert all(shown.get(p) is None for p in small)
    assert public["suppressed"] is True and public["estimate"]["available"] is False
    assert "estimate" not in public["estimate"] and "model_terms" not in public["estimate"]
    assert api.public.get("/api/v1/stats/sources.png").status_code == 403


def test_dashboard_has_the_sources_panel(api, truth) -> None:  # type: ignore[no-untyped-def]
    browser = api.browser("viewer")  # the web pages read the session cookie
    staff = browser.get("/dashboard").text
    panel = staff.split('id="sources"')[1].split("</section>")[0]
    assert "Only this source" in panel and "police" in panel and "press" in panel
    assert '<img id="sources-chart" src="/api/v1/stats/sources.png?kind=victim&amp;' \
        'status=approved,submitted"' in panel
    assert "Estimated victims" in panel and "Assumptions" in panel
    assert "<script" not in panel  # the CSP forbids inline script
    chart = browser.get("/api/v1/stats/sources.png", params={"status": "approved,submitted"})
    assert chart.status_code == 200
    # The public: small counts hidden, no chart and no estimate.
    public = api.public.get("/dashboard").text.split('id="sources"')[1].split("</section>")[0]
    assert "are hidden" in public and "sources-chart" not in public
    assert "Estimated victims" not in public



def test_a_source_that_only_counts_in_the_api_and_the_dashboard(api, store) -> None:  # type: ignore[no-untyped-def]
    """A press that counts casualties per accident (issue 17): shown apart, and the
    estimate is the accident model's, covering the true total, on both stores."""
    truth = sources_fixture.load_counts(store, accidents=150)
    body = api.as_("viewer").get("/api/v1/stats/sources").json()
    assert body["sources"] == ["centre", "ngo"]
    assert body["counted"] == [{
        "source": "press", "accidents": truth["press_accidents"],
        "killed": truth["press_killed"], "injured": truth["press_injured"],
        "casualties": truth["press_killed"] + truth["press_injured"]}]
    e = body["estimate"]
    assert e["available"] and e["method"] == "accident_counts"
    assert e["interval"][0] <= truth["total"] <= e["interval"][1]
    panel = api.browser("viewer").get("/dashboard").text.split('id="sources"')[1]
    panel = panel.split("</section>")[0]
    assert 'id="sources-counted"' in panel and "press" in panel
    assert "of whom at least" in panel and "counted by press" in panel
