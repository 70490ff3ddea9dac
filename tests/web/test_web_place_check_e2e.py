"""A location is checked before it is saved (issue 16, 8): a sign error or a point far
outside the country asks the user to confirm; a hazard cannot be saved without one."""

from __future__ import annotations

from typing import Any


def test_a_doubtful_location_asks_before_saving(new_page: Any, live: Any) -> None:
    settings = live.services.settings
    before = settings.country
    settings.country = "COL"
    try:
        page = new_page()
        live.login(page, "editor")
        page.goto(live.url + "/records/hazards/new")
        page.locator("#draw-map[data-ready=true]").wait_for()
        page.get_by_label("Name").fill("Loma de la cruz")
        page.locator('[name="hazard_kind"]').select_option("SHA")
        # No location: refused before anything is sent.
        page.get_by_role("button", name="Save as draft").click()
        assert "needs a location" in page.locator("#form-error").inner_text()
        # Longitude typed without its minus sign: +75 E is in the Indian Ocean.
        page.locator("#coord-input").fill("6.1412, 75.1834")
        page.get_by_role("button", name="Read coordinates").click()
        page.locator("#coord-result span").first.wait_for()
        page.get_by_role("button", name="Save as draft").click()
        warning = page.locator("#place-warning")
        warning.wait_for()
        assert "longitude sign looks wrong" in warning.inner_text()
        assert page.url.endswith("/records/hazards/new")  # not saved
        # The user may know better (a site abroad): confirmed, it is saved as typed.
        warning.get_by_role("button", name="The location is right: save").click()
        page.wait_for_url("**/records/hazards/*-*")
    finally:
        settings.country = before
