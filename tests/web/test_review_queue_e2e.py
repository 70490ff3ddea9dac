# SPDX-License-Identifier: GPL-3.0-or-later
"""The review queue in Chromium (issue 17): an approver links two sources from /review,
confirms a pair, rejects another, merges two records, splits one out and undoes a
decision; after each step the page and the casualty statistics (what the dashboard and
reports count) say what the store now holds. The page runs under its own
Content-Security-Policy (no inline script)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim
from mineaction.store import Store

SHARED, OWN = 24, 3  # persons both sources report; persons only the first reports
# The live store is shared: names of their own. (Underscores: linkage/model.py gives
# Splink the dataset names as DuckDB table names, unquoted, and a hyphen breaks its SQL.)
POLICE, HOSPITAL = "e2e_review_police", "e2e_review_hospital"
PCODES = ["05313", "18410", "50711", "13001", "76001", "52835"]


def _report(store: Store, dataset: str, i: int, shift_days: int = 0) -> str:
    acc = store.add(Accident(
        dataset=dataset, external_id=f"a{i}", status="approved",
        accident_date=date(2007, 1, 1) + timedelta(days=37 * i + shift_days),
        date_precision="day", admin_area_pcode=PCODES[i % 6],
        geometry=Point(-74 + i * 0.05, 5 + i * 0.03)))
    vic = store.add(Victim(
        dataset=dataset, external_id=f"v{i}", status="approved", accident_id=acc.id,
        outcome=("killed", "injured")[i % 2], role=("civilian", "security_forces")[(i // 2) % 2],
        sex=("male", "female")[(i // 3) % 2], age_band=("adult", "child")[(i // 5) % 2]))
    return str(vic.id)


def _total(page: Any, live: Any) -> int:
    # With the page's own session cookie: the figures the approver is shown.
    r = page.request.get(f"{live.url}/api/v1/stats/casualties")
    assert r.ok, r.text()
    return int(r.json()["total"]["casualties"])


def _after(page: Any, live: Any, action: str) -> None:
    page.wait_for_url(f"{live.url}/review?kind=victim&done={action}")
    page.locator("#review-done").wait_for()


def _in_review(page: Any) -> int:
    return int(page.locator("#queue-count").get_attribute("data-total"))


def test_an_approver_works_through_the_review_queue(new_page: Any, live: Any) -> None:
    store = live.services.store
    police = [_report(store, POLICE, i) for i in range(SHARED + OWN)]
    hospital = [_report(store, HOSPITAL, i, shift_days=i % 3) for i in range(SHARED)]
    page = new_page(csp=True)  # under the page's own Content-Security-Policy
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    live.login(page, "approver")
    before = _total(page, live)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    page.wait_for_url(f"{live.url}/review")
    queued = _in_review(page)

    # Link the two sources, every pair to review (upper threshold 1).
    page.get_by_text("Link sources").click()
    page.get_by_label("Datasets (comma-separated)").fill(f"{POLICE}, {HOSPITAL}")
    page.get_by_label("Upper threshold").fill("1")
    page.get_by_label("Lower threshold").fill("0.5")
    page.get_by_role("button", name="Link", exact=True).click()
    _after(page, live, "run")
    assert _in_review(page) == queued + SHARED
    assert _total(page, live) == before - SHARED  # a pair in review counts once

    # A pair shows both records, its probability and the fields that differ.
    pairs = page.locator("article.pair")
    first = pairs.first
    assert "% likely the same" in first.locator("h3").inner_text()
    assert page.locator("tr.differs[data-field='accident_date'] mark").count() > 0
    assert first.locator("tr[data-field='outcome']").count() == 1

    # Confirm one: still counted once, out of the queue, listed as decided.
    confirmed = first.get_attribute("data-link")
    first.get_by_role("button", name="Confirm").click()
    _after(page, live, "confirm")
    assert _in_review(page) == queued + SHARED - 1
    assert page.locator(f"article.pair[data-link='{confirmed}']").count() == 0
    page.locator(f"#recent tr[data-link='{confirmed}'][data-status='confirmed']").wait_for()
    assert _total(page, live) == before - SHARED

    # Reject another: two persons again.
    second = pairs.first
    rejected = second.get_attribute("data-link")
    second.get_by_role("button", name="Reject").click()
    _after(page, live, "reject")
    assert _in_review(page) == queued + SHARED - 2
    page.locator(f"#recent tr[data-link='{rejected}'][data-status='rejected']").wait_for()
    assert _total(page, live) == before - SHARED + 1

    # Merge a person only the police reported with one of the hospital's: one fewer.
    page.get_by_label("First record id").fill(police[SHARED])
    page.get_by_label("Second record id").fill(hospital[7])
    page.get_by_label("Why (optional)").first.fill("same person, two spellings")
    page.get_by_role("button", name="Merge").click()
    _after(page, live, "merge")
    merged = page.locator("#recent tr", has_text="(merged)")
    assert merged.count() == 1 and merged.get_attribute("data-status") == "confirmed"
    assert _total(page, live) == before - SHARED
    # A record id that does not exist is refused on the page, nothing changes.
    page.get_by_label("First record id").fill(police[SHARED + 1])
    page.get_by_label("Second record id").fill("00000000-0000-4000-8000-000000000000")
    page.get_by_role("button", name="Merge").click()
    page.get_by_role("alert").filter(has_text="no victim with id").wait_for()

    # Split the merged record out again: counted on its own.
    page.get_by_label("Record id", exact=True).fill(police[SHARED])
    page.get_by_role("button", name="Split").click()
    _after(page, live, "split")
    assert page.locator("#recent tr", has_text="(merged)").get_attribute(
        "data-status") == "rejected"
    assert _total(page, live) == before - SHARED + 1

    # Undo the rejection: the pair is back in review and counted once.
    page.locator(f"#recent tr[data-link='{rejected}']").get_by_role("button",
                                                                   name="Undo").click()
    _after(page, live, "undo")
    assert page.locator(f"#recent tr[data-link='{rejected}']").count() == 0
    assert _in_review(page) == queued + SHARED - 1
    assert _total(page, live) == before - SHARED
    assert page.js_errors == [] and violations == []
